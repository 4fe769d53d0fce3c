import { describe, expect, it } from 'vitest';
import { cheapestChargeWindow } from '../../src/prices/charge-window.js';
import { HOUR_MS } from '../../src/prices/comed-clock.js';
import { checkDayAheadLabels } from '../../src/prices/day-ahead.js';
import {
  DEFAULT_FORECAST_ERRORS,
  expectedHourAverage,
  forecastHours,
  type HourEstimate,
  hourOfWeek,
  measuredIntervalSpread,
  planningHours,
  priceModel,
} from '../../src/prices/forecast.js';

// Monday 2026-06-15 00:00 CDT.
const MONDAY = Date.UTC(2026, 5, 15, 5);
const hourEnding = (hoursAfterMonday: number) => MONDAY + (hoursAfterMonday + 1) * HOUR_MS;

/** Four weeks of a weekly pattern: the price is the hour of the day, plus 10 on weekends. */
function history(weeks: number, scale = 1): Map<number, number> {
  const hourly = new Map<number, number>();
  for (let h = 0; h < weeks * 168; h++) {
    const dayOfWeek = Math.floor(h / 24) % 7; // 0 = Monday
    hourly.set(hourEnding(h), scale * ((h % 24) + (dayOfWeek >= 5 ? 10 : 0)));
  }
  return hourly;
}

describe('hourOfWeek', () => {
  it('counts Chicago wall-clock hours from Sunday midnight, the same across DST', () => {
    expect(hourOfWeek(hourEnding(0))).toBe(24); // Monday 00:00-01:00
    // The same local hour a week on either side of the November change.
    const before = Date.UTC(2026, 9, 26, 15); // Mon Oct 26, 09:00-10:00 CDT
    const after = Date.UTC(2026, 10, 2, 16); // Mon Nov 2, 09:00-10:00 CST
    expect(hourOfWeek(before)).toBe(hourOfWeek(after));
  });
});

describe('priceModel', () => {
  it('forecasts an hour as the median of the same hour of the week, scaled by the recent level', () => {
    const hourly = history(4);
    const nowMs = hourEnding(4 * 168 - 1);
    const model = priceModel({ nowMs, hourly, dayAhead: new Map() });
    expect(model.level).toBeCloseTo(1, 9);
    // Next Monday 07:00-08:00: 7; next Saturday 12:00-13:00: 22.
    expect(model.forecast(hourEnding(4 * 168 + 7))).toBeCloseTo(7, 9);
    expect(model.forecast(hourEnding(4 * 168 + 5 * 24 + 12))).toBeCloseTo(22, 9);
  });

  it('follows the recent level: three days at twice the usual prices double the forecast, within bounds', () => {
    const hourly = history(4);
    const nowMs = hourEnding(4 * 168 - 1);
    for (let h = 4 * 168 - 72; h < 4 * 168; h++) hourly.set(hourEnding(h), 2 * (hourly.get(hourEnding(h)) as number));
    const model = priceModel({ nowMs, hourly, dayAhead: new Map() });
    // The profile is a median of four weeks: the doubled days are one of them.
    expect(model.level).toBeGreaterThan(1.5);
    expect(model.level).toBeLessThanOrEqual(2);
  });

  it('ignores what was not known at the time: hours after now', () => {
    const hourly = history(5);
    const nowMs = hourEnding(4 * 168 - 1);
    for (let h = 4 * 168; h < 5 * 168; h++) hourly.set(hourEnding(h), 1000);
    const model = priceModel({ nowMs, hourly, dayAhead: new Map() });
    expect(model.forecast(hourEnding(4 * 168 + 7))).toBeCloseTo(7, 9);
  });
});

describe('forecastHours', () => {
  const hourly = history(4);
  const nowMs = hourEnding(4 * 168 - 1) + 20 * 60_000; // 20 minutes into Monday 00:00-01:00
  const current = hourEnding(4 * 168);
  const dayAhead = new Map([[current + HOUR_MS, 3.3]]);

  it('labels each hour with where its price comes from, bands from the measured errors', () => {
    const estimates = forecastHours(
      { nowMs, hourly, dayAhead, running: { hourEndingMs: current, priceCentsPerKwh: 0.4, count: 4 } },
      nowMs - HOUR_MS,
      current + 3 * HOUR_MS,
    );
    expect(estimates.map((e) => [e.hourEndingMs - current, e.source])).toEqual([
      [-HOUR_MS, 'actual'],
      [0, 'running'],
      [HOUR_MS, 'day_ahead'],
      [2 * HOUR_MS, 'forecast'],
      [3 * HOUR_MS, 'forecast'],
    ]);
    const [actual, running, dayAheadHour, forecast] = estimates as [
      HourEstimate,
      HourEstimate,
      HourEstimate,
      HourEstimate,
    ];
    expect([actual.lowCents, actual.highCents]).toEqual([actual.priceCentsPerKwh, actual.priceCentsPerKwh]);
    // Eight of the running hour's twelve prices are still to come: two thirds of the band.
    expect(running.priceCentsPerKwh).toBe(0.4);
    expect(running.highCents - running.priceCentsPerKwh).toBeCloseTo(
      (DEFAULT_FORECAST_ERRORS.forecast.high * 8) / 12,
      9,
    );
    expect(dayAheadHour.priceCentsPerKwh).toBe(3.3);
    expect(dayAheadHour.lowCents).toBeCloseTo(3.3 + DEFAULT_FORECAST_ERRORS.day_ahead.low, 9);
    expect(forecast.highCents - forecast.priceCentsPerKwh).toBeCloseTo(DEFAULT_FORECAST_ERRORS.forecast.high, 9);
  });

  it('leaves out hours it has nothing to go on for', () => {
    expect(forecastHours({ nowMs, hourly: new Map(), dayAhead: new Map() }, nowMs, nowMs + 5 * HOUR_MS)).toEqual([]);
  });
});

describe('checkDayAheadLabels', () => {
  it('finds the offset at which the day-ahead curve lines up with the real-time one', () => {
    const realTime = new Map<number, number>();
    const dayAhead = new Map<number, number>();
    for (let h = 0; h < 14 * 24; h++) {
      const shape = Math.sin((h % 24) / 3.8) * 3 + ((h * 7919) % 13) / 10;
      realTime.set(hourEnding(h), shape + 2 + (h % 5) / 10);
      // Published one hour early: the price of hour h under the label of hour h - 1.
      dayAhead.set(hourEnding(h - 1), shape);
    }
    const check = checkDayAheadLabels(dayAhead, realTime);
    expect(check.bestOffsetHours).toBe(1);
    expect(checkDayAheadLabels(realTime, realTime).bestOffsetHours).toBe(0);
  });

  it('says nothing on too little data', () => {
    const one = new Map([[hourEnding(0), 1]]);
    expect(checkDayAheadLabels(one, one).bestOffsetHours).toBeNull();
  });
});

describe('cheapestChargeWindow', () => {
  const at = (hour: number) => MONDAY + hour * HOUR_MS;
  const estimate = (hour: number, price: number, source: HourEstimate['source'] = 'day_ahead'): HourEstimate => ({
    hourEndingMs: at(hour + 1),
    priceCentsPerKwh: price,
    source,
    lowCents: price - 1,
    highCents: price + 1,
  });
  //                18  19  20  21  22  23  0  1  2  3  4  5  6
  const night = [6, 5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 6, 7].map((price, i) => estimate(18 + i, price));

  it('takes the cheapest whole hours before the deadline, the last one partial, and the saving against now', () => {
    const { best, now } = cheapestChargeWindow(
      { fromMs: at(18) + 30 * 60_000, beforeMs: at(31), powerKw: 10, need: { energyKwh: 25 } },
      night,
    );
    // 25 kWh at 10 kW: two full hours and a half, from 23:00 (1, 1, then half of 2).
    expect(best?.startMs).toBe(at(23));
    expect(best?.endMs).toBe(at(25) + 30 * 60_000);
    expect(best?.hours.map((h) => [h.priceCentsPerKwh, h.fraction])).toEqual([
      [1, 1],
      [1, 1],
      [2, 0.5],
    ]);
    expect(best?.supplyCents).toBeCloseTo(10 + 10 + 10, 9);
    // At once: half of 18:00 (5 kWh at 6), then 19:00 and half of 20:00.
    expect(now?.startMs).toBe(at(18) + 30 * 60_000);
    expect(now?.supplyCents).toBeCloseTo(5 * 6 + 10 * 5 + 10 * 4, 9);
  });

  it('counts whole hours when asked for hours, and finds nothing that does not fit', () => {
    const { best } = cheapestChargeWindow({ fromMs: at(18), beforeMs: at(31), powerKw: 7, need: { hours: 2 } }, night);
    expect(best?.hours.map((h) => h.hourEndingMs)).toEqual([at(24), at(25)]);
    expect(best?.energyKwh).toBe(14);
    const tooLong = cheapestChargeWindow({ fromMs: at(18), beforeMs: at(20), powerKw: 7, need: { hours: 3 } }, night);
    expect(tooLong.best).toBeUndefined();
  });

  it('skips windows that hold an hour without an estimate', () => {
    const gap = night.filter((e) => e.hourEndingMs !== at(24));
    const { best } = cheapestChargeWindow({ fromMs: at(18), beforeMs: at(31), powerKw: 7, need: { hours: 2 } }, gap);
    expect(best?.hours.map((h) => h.hourEndingMs)).toEqual([at(25), at(26)]);
  });
});

describe('expectedHourAverage', () => {
  const band = { low: -1, high: 1 };

  it('is the prior before any price is in and the prices themselves once all twelve are', () => {
    expect(expectedHourAverage({ priceCentsPerKwh: 9, count: 0 }, 3, band)).toBe(3);
    expect(expectedHourAverage({ priceCentsPerKwh: 9, count: 12 }, 3, band)).toBe(9);
    expect(expectedHourAverage({ priceCentsPerKwh: 9, count: 5 }, undefined, band)).toBe(9);
  });

  it('moves the rest of the hour toward what its prices show, the more the more are in', () => {
    // A night hour the day-ahead price put at 3 comes in below zero.
    const one = expectedHourAverage({ priceCentsPerKwh: -0.5, count: 1 }, 3, band);
    const four = expectedHourAverage({ priceCentsPerKwh: -0.5, count: 4 }, 3, band);
    expect(one).toBeLessThan(3);
    expect(four).toBeLessThan(one);
    // Never past the prices in: the rest is expected between them and the prior.
    expect(four).toBeGreaterThan(-0.5);
    // The prices in count at their weight: four of twelve at -0.5, the rest between.
    expect(four).toBeLessThan((4 * -0.5 + 8 * 3) / 12);
  });

  it('trusts a precise prior more than a vague one', () => {
    const precise = expectedHourAverage({ priceCentsPerKwh: 1, count: 3 }, 3, { low: -0.2, high: 0.2 });
    const vague = expectedHourAverage({ priceCentsPerKwh: 1, count: 3 }, 3, { low: -3, high: 3 });
    expect(precise).toBeGreaterThan(vague);
  });

  it('does not read one spike as the level of the rest of the hour', () => {
    // One interval at 60 cents: the hour pays it, the other eleven stay within three bands and spreads of the prior.
    const spiked = expectedHourAverage({ priceCentsPerKwh: 60, count: 1 }, 3, band, 1);
    expect(spiked).toBeLessThanOrEqual((60 + 11 * (3 + 3 * (1 + 1))) / 12 + 1e-9);
    expect(spiked).toBeGreaterThan((60 + 11 * 3) / 12);
  });
});

describe('planningHours', () => {
  const hourly = history(4);
  const nowMs = hourEnding(4 * 168 - 1) + 20 * 60_000;
  const current = hourEnding(4 * 168);
  const dayAhead = new Map([
    [current, 3],
    [current + HOUR_MS, 3.3],
  ]);

  it('prices the running hour at its expected average, the others as forecastHours does', () => {
    const inputs = { nowMs, hourly, dayAhead, running: { hourEndingMs: current, priceCentsPerKwh: 0.4, count: 4 } };
    const planning = planningHours(inputs, nowMs, current + 3 * HOUR_MS);
    const shown = forecastHours(inputs, nowMs, current + 3 * HOUR_MS);
    expect(planning.slice(1)).toEqual(shown.slice(1));
    const [running] = planning as [HourEstimate];
    expect(running.source).toBe('running');
    expect(running.priceCentsPerKwh).toBeCloseTo(
      expectedHourAverage({ priceCentsPerKwh: 0.4, count: 4 }, 3, DEFAULT_FORECAST_ERRORS.day_ahead),
      9,
    );
    expect(running.priceCentsPerKwh).toBeGreaterThan(0.4);
    expect(running.priceCentsPerKwh).toBeLessThan(3);
    expect(running.highCents - running.priceCentsPerKwh).toBeCloseTo(
      (DEFAULT_FORECAST_ERRORS.day_ahead.high * 8) / 12,
      9,
    );
  });
});

describe('measuredIntervalSpread', () => {
  it('is the median distance of 5-minute prices from their hour, as a standard deviation, spikes aside', () => {
    const fiveMinute = new Map<number, number>();
    const start = hourEnding(0) - HOUR_MS;
    for (let hour = 0; hour < 3; hour++) {
      for (let k = 0; k < 12; k++) {
        // Half a cent either side of 2, and one 90-cent spike in the last hour.
        const price = hour === 2 && k === 5 ? 90 : 2 + (k % 2 === 0 ? 0.5 : -0.5);
        fiveMinute.set(start + hour * HOUR_MS + k * 5 * 60_000, price);
      }
    }
    // An incomplete hour is left out.
    fiveMinute.set(start + 3 * HOUR_MS, 50);
    const spread = measuredIntervalSpread(fiveMinute, start, start + 4 * HOUR_MS) as number;
    expect(spread).toBeCloseTo(0.5 * 1.4826, 1);
    expect(measuredIntervalSpread(new Map(), start, start + HOUR_MS)).toBeUndefined();
  });
});
