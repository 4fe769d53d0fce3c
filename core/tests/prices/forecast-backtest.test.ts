import { describe, expect, it } from 'vitest';
import { HOUR_MS } from '../../src/prices/comed-clock.js';
import { backtestForwardPrices, cheapestHours } from '../../src/prices/forecast-backtest.js';
import { CHICAGO_TIME_ZONE, wallClockAt } from '../../src/time/wall-clock.js';

// Five weeks of history before the evaluated days, so the forecast has its four weeks.
const HISTORY_FROM = Date.UTC(2026, 8, 1, 5); // Tue Sep 1 00:00 CDT
const EVAL_FROM = Date.UTC(2026, 9, 6, 5); // Tue Oct 6 00:00 CDT
const EVAL_TO = Date.UTC(2026, 9, 13, 5); // Tue Oct 13 00:00 CDT

const localHourOf = (hourEndingMs: number) => wallClockAt(hourEndingMs - HOUR_MS, CHICAGO_TIME_ZONE).hour;

/** Hours ending in [from, to]: the price of each from its local hour. */
function series(priceOfLocalHour: (hour: number, hourEndingMs: number) => number, to = EVAL_TO + 2 * 24 * HOUR_MS) {
  const prices = new Map<number, number>();
  for (let hourEndingMs = HISTORY_FROM + HOUR_MS; hourEndingMs <= to; hourEndingMs += HOUR_MS)
    prices.set(hourEndingMs, priceOfLocalHour(localHourOf(hourEndingMs), hourEndingMs));
  return prices;
}

describe('cheapestHours', () => {
  it('picks the lowest estimates, the earliest among equals', () => {
    const estimates = new Map([
      [1, 5],
      [2, 1],
      [3, 3],
      [4, 1],
    ]);
    expect(cheapestHours(estimates, 3)).toEqual([2, 4, 3]);
  });
});

describe('backtestForwardPrices', () => {
  it('scores a perfect day-ahead curve as perfect and a flat guess as what it is', () => {
    // Cheap from 01:00 to 05:00, dear in the evening.
    const shape = (hour: number) => (hour >= 1 && hour < 5 ? 1 : hour >= 17 && hour < 21 ? 8 : 4);
    const hourly = series(shape);
    const result = backtestForwardPrices({ hourly, dayAhead: hourly, fromMs: EVAL_FROM, toMs: EVAL_TO });
    expect(result.days).toBe(7);
    expect(result.dayAhead.hours).toBe(7 * 24);
    expect(result.dayAhead.mae).toBe(0);
    // The same shape every day: the forecast is perfect too.
    expect(result.forecast.mae).toBeCloseTo(0, 9);
    // A flat guess is the daily mean, (4·1 + 4·8 + 16·4) / 24 = 4.1667: off by 3.1667 on 4 hours, 3.8333 on 4, 0.1667 on 16.
    expect(result.flat.mae).toBeCloseTo((4 * (25 / 6 - 1) + 4 * (8 - 25 / 6) + 16 * (25 / 6 - 4)) / 24, 9);
    const night = result.overnight.withDayAhead;
    expect(night.cases).toBe(7);
    expect(night.regretCentsPerKwh).toBe(0);
    expect(night.capturedShare).toBe(1);
    // At once, 18:00-22:00 costs (8 + 8 + 8 + 4) / 4 = 7; the best is 1.
    expect(night.possibleSavingCentsPerKwh).toBeCloseTo(6, 9);
  });

  it('decides with only what was known: at noon, tomorrow morning has no day-ahead price yet', () => {
    // One evaluated day, Oct 6, on flat history at 4; the early morning of Oct 7 turns cheap, and
    // only its day-ahead prices (published at 16:30 on Oct 6) know it.
    const cheapMorning = (hour: number, hourEndingMs: number) =>
      hourEndingMs > EVAL_FROM + 24 * HOUR_MS && hour >= 1 && hour < 5 ? 1 : 4;
    const hourly = series(cheapMorning);
    const result = backtestForwardPrices({
      hourly,
      dayAhead: hourly,
      fromMs: EVAL_FROM,
      toMs: EVAL_FROM + 24 * HOUR_MS,
    });
    expect(result.days).toBe(1);
    // At 18:00 both nights' prices are published: the cheap hours are found.
    expect(result.overnight.withDayAhead.regretCentsPerKwh).toBe(0);
    expect(result.overnight.withDayAhead.possibleSavingCentsPerKwh).toBe(3);
    // At noon the morning is only forecast (flat, like its history), so the earliest hours are
    // chosen: 3 cents of regret. Had the backtest peeked at prices published later, this would be 0.
    expect(result.overnight.forecastOnly.regretCentsPerKwh).toBe(3);
    expect(result.overnight.forecastOnly.capturedShare).toBe(0);
  });

  it('counts calendar days in Chicago across the November change, the 25-hour day whole', () => {
    const hourly = series(() => 3, Date.UTC(2026, 10, 5, 6));
    const result = backtestForwardPrices({
      hourly,
      dayAhead: hourly,
      fromMs: Date.UTC(2026, 9, 31, 5), // Sat Oct 31 00:00 CDT
      toMs: Date.UTC(2026, 10, 3, 6), // Tue Nov 3 00:00 CST
    });
    expect(result.days).toBe(3);
    expect(result.dayAhead.hours).toBe(24 + 25 + 24);
  });
});
