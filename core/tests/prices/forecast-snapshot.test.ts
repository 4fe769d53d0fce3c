import { describe, expect, it } from 'vitest';
import { priceForecastSchema } from '../../src/contracts/redis.js';
import { HOUR_MS } from '../../src/prices/comed-clock.js';
import { DEFAULT_FORECAST_ERRORS } from '../../src/prices/forecast.js';
import { nightOf, priceForecastSnapshot, tonight } from '../../src/prices/forecast-snapshot.js';

const cst = (day: number, hour: number, minute = 0) => Date.UTC(2026, 11, day, hour + 6, minute);

describe('tonight', () => {
  it('is the night under way, from now, or the next one from its start', () => {
    expect(tonight(cst(4, 15, 10))).toEqual({ fromMs: cst(4, 18), untilMs: cst(5, 7) });
    expect(tonight(cst(4, 20, 10))).toEqual({ fromMs: cst(4, 20, 10), untilMs: cst(5, 7) });
    expect(tonight(cst(5, 3))).toEqual({ fromMs: cst(5, 3), untilMs: cst(5, 7) });
    expect(tonight(cst(5, 7))).toEqual({ fromMs: cst(5, 18), untilMs: cst(6, 7) });
  });

  it("stamps a night's plan with its start, also while it is under way", () => {
    const night = { startMs: cst(4, 18), untilMs: cst(5, 7) };
    expect(nightOf(cst(4, 15, 10))).toEqual(night);
    expect(nightOf(cst(4, 20, 10))).toEqual(night);
    expect(nightOf(cst(5, 3))).toEqual(night);
  });

  it('is 14 hours long the night the clocks go back, 12 the night they go forward', () => {
    // Sat Oct 31 18:00 CDT to Sun Nov 1 07:00 CST; Sat Mar 7 18:00 CST to Sun Mar 8 07:00 CDT.
    const fall = tonight(Date.UTC(2026, 9, 31, 17));
    expect((fall.untilMs - fall.fromMs) / HOUR_MS).toBe(14);
    const spring = tonight(Date.UTC(2026, 2, 7, 18));
    expect((spring.untilMs - spring.fromMs) / HOUR_MS).toBe(12);
  });

  it('follows other night settings, including a night that does not cross midnight', () => {
    expect(tonight(cst(4, 15), { startHour: 22, endHour: 6, windowHours: 3 })).toEqual({
      fromMs: cst(4, 22),
      untilMs: cst(5, 6),
    });
    expect(tonight(cst(4, 15), { startHour: 1, endHour: 6, windowHours: 3 })).toEqual({
      fromMs: cst(5, 1),
      untilMs: cst(5, 6),
    });
  });
});

describe('priceForecastSnapshot', () => {
  // Four weeks of history where 01:00-05:00 is cheap (1 cent) and the rest 5; tomorrow's
  // day-ahead prices make 02:00-04:00 cheaper still.
  const nowMs = cst(4, 17, 30);
  const hourly = new Map<number, number>();
  for (let hourEndingMs = nowMs - 28 * 24 * HOUR_MS; hourEndingMs < cst(4, 17); hourEndingMs += HOUR_MS) {
    const localHour = new Date(hourEndingMs - HOUR_MS - 6 * HOUR_MS).getUTCHours();
    hourly.set(Math.ceil(hourEndingMs / HOUR_MS) * HOUR_MS, localHour >= 1 && localHour < 5 ? 1 : 5);
  }
  const dayAhead = new Map<number, number>();
  for (let hour = 18; hour < 24; hour++) dayAhead.set(cst(4, hour + 1 - 24 + 24), 5);
  for (let hour = 0; hour < 24; hour++) dayAhead.set(cst(5, hour) + HOUR_MS, hour >= 2 && hour < 4 ? 0.5 : 4);

  const snapshot = priceForecastSnapshot({
    nowMs,
    hourly,
    dayAhead,
    running: { hourEndingMs: cst(4, 18), priceCentsPerKwh: 4.5, count: 6 },
    feedTimeMs: cst(4, 17, 25),
    measuredDays: 0,
  });

  it('is what the contract says, 48 hours from the current one', () => {
    expect(priceForecastSchema.parse(snapshot)).toEqual(snapshot);
    expect(snapshot.hours[0]).toMatchObject({ hour_ending: new Date(cst(4, 18)).toISOString(), source: 'running' });
    expect(snapshot.hours).toHaveLength(48);
    expect(snapshot.hours.at(-1)?.hour_ending).toBe(new Date(cst(6, 17)).toISOString());
    expect(new Set(snapshot.hours.map((hour) => hour.source))).toEqual(new Set(['running', 'day_ahead', 'forecast']));
    expect(snapshot.errors).toEqual({ ...DEFAULT_FORECAST_ERRORS, measured_days: 0 });
    expect(snapshot.feed_time).toBe(new Date(cst(4, 17, 25)).toISOString());
  });

  it("finds tonight's cheapest four hours across the day-ahead curve, and averages the night", () => {
    expect(snapshot.tonight.from).toBe(new Date(cst(4, 18)).toISOString());
    expect(snapshot.tonight.until).toBe(new Date(cst(5, 7)).toISOString());
    // 00:00, 01:00 and 02:00 all start four hours at 2.25 on average (two at 0.5, two at 4):
    // the earliest wins, so an unplanned late start still finishes in time.
    expect(snapshot.tonight.window).toEqual({
      start: new Date(cst(5, 0)).toISOString(),
      end: new Date(cst(5, 4)).toISOString(),
      hours: 4,
      avg_price_cents_kwh: 2.25,
      sources: ['day_ahead'],
    });
    // 18:00-24:00 at 5 (six hours), 00:00-07:00 at 4 except two at 0.5 (seven hours).
    expect(snapshot.tonight.avg_price_cents_kwh).toBeCloseTo((6 * 5 + 5 * 4 + 2 * 0.5) / 13, 9);
  });

  it('carries the day-ahead price of every hour that has one, the running hour included', () => {
    const withCurrentHour = priceForecastSnapshot({
      nowMs,
      hourly,
      dayAhead: new Map([...dayAhead, [cst(4, 18), 3.7]]),
      running: { hourEndingMs: cst(4, 18), priceCentsPerKwh: 4.5, count: 6 },
      feedTimeMs: cst(4, 17, 25),
      measuredDays: 0,
    });
    expect(priceForecastSchema.parse(withCurrentHour)).toEqual(withCurrentHour);
    // The running average stands as the hour's estimate; its day-ahead price rides along.
    expect(withCurrentHour.hours[0]).toMatchObject({
      hour_ending: new Date(cst(4, 18)).toISOString(),
      source: 'running',
      price_cents_kwh: 4.5,
      day_ahead_cents_kwh: 3.7,
    });
    const bySource = (source: string) => withCurrentHour.hours.filter((hour) => hour.source === source);
    expect(bySource('day_ahead')).toHaveLength(30);
    for (const hour of bySource('day_ahead')) expect(hour.day_ahead_cents_kwh).toBe(hour.price_cents_kwh);
    for (const hour of bySource('forecast')) expect(hour).not.toHaveProperty('day_ahead_cents_kwh');
    // Without one for the running hour, it has none.
    expect(snapshot.hours[0]).not.toHaveProperty('day_ahead_cents_kwh');
  });

  it('still reads a forecast written before the day-ahead price of each hour was added', () => {
    const older = { ...snapshot, hours: snapshot.hours.map(({ day_ahead_cents_kwh: _left, ...hour }) => hour) };
    expect(priceForecastSchema.parse(JSON.parse(JSON.stringify(older)))).toEqual(older);
  });
});
