import { describe, expect, it } from 'vitest';
import type { PricePoint } from '../../src/prices/comed-parse.js';
import { exactAverage, hourlyAggregates, isCompleteHour } from '../../src/prices/hourly.js';

const MIN5 = 300_000;
const H14 = Date.UTC(2026, 5, 15, 19, 0); // 14:00 CDT, an hour ending

/** Prices stamped H-60min .. H-5min, in order, for the hour ending `hourEndMs`. */
function hour(hourEndMs: number, prices: number[]): PricePoint[] {
  return prices.map((price, i) => ({ timeMs: hourEndMs - 3_600_000 + i * MIN5, priceCentsPerKwh: price }));
}

describe('exactAverage', () => {
  it.each([
    // 24 + 0.1 * (0 + 1 + ... + 11) = 30.6; 30.6 / 12 = 2.55 (float summation gives 2.5500000000000003)
    [[2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7, 2.8, 2.9, 3.0, 3.1], 2.55],
    // 0.1 + 0.2 = 0.3 exactly, / 2 = 0.15
    [[0.1, 0.2], 0.15],
    // 25 / 12 = 2.0833333333..., kept to 1e-9
    [[2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3], 2.083333333],
    // negative prices at night: (-1.2 - 0.3 + 0.6) / 3 = -0.3
    [[-1.2, -0.3, 0.6], -0.3],
    [[4.7], 4.7],
  ])('%j -> %s', (values, expected) => {
    expect(exactAverage(values)).toBe(expected);
  });

  it('refuses an empty list', () => {
    expect(() => exactAverage([])).toThrow(RangeError);
  });
});

describe('hourlyAggregates', () => {
  it('averages the twelve prices stamped 13:00 through 13:55 into the hour ending 14:00', () => {
    const prices = hour(H14, [2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7, 2.8, 2.9, 3.0, 3.1]);
    expect(hourlyAggregates(prices)).toEqual([
      { hourEndingMs: H14, avgPrice: 2.55, minPrice: 2.0, maxPrice: 3.1, count: 12 },
    ]);
  });

  it('puts the price stamped on the hour in the hour it opens, and the one before in the hour ending then', () => {
    const prices: PricePoint[] = [
      { timeMs: H14 - MIN5, priceCentsPerKwh: 5 },
      { timeMs: H14, priceCentsPerKwh: 7 },
    ];
    expect(hourlyAggregates(prices)).toEqual([
      { hourEndingMs: H14, avgPrice: 5, minPrice: 5, maxPrice: 5, count: 1 },
      { hourEndingMs: H14 + 3_600_000, avgPrice: 7, minPrice: 7, maxPrice: 7, count: 1 },
    ]);
  });

  it('averages what is there when intervals are missing, and says how many', () => {
    const prices = hour(H14, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]).filter((_, i) => i !== 3 && i !== 7);
    // 78 - 4 - 8 = 66 over 10 prices
    const [aggregate] = hourlyAggregates(prices);
    expect(aggregate).toEqual({ hourEndingMs: H14, avgPrice: 6.6, minPrice: 1, maxPrice: 12, count: 10 });
    expect(isCompleteHour(aggregate as NonNullable<typeof aggregate>)).toBe(false);
  });

  it('handles negative hours and sorts hours oldest first whatever the input order', () => {
    const night = hour(H14 - 10 * 3_600_000, [-1, -2, -3, -1, -2, -3, -1, -2, -3, -1, -2, -3]);
    const day = hour(H14, [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4.2]);
    const result = hourlyAggregates([...day.reverse(), ...night]);
    expect(result).toEqual([
      { hourEndingMs: H14 - 10 * 3_600_000, avgPrice: -2, minPrice: -3, maxPrice: -1, count: 12 },
      // 33 + 4.2 = 37.2; 37.2 / 12 = 3.1
      { hourEndingMs: H14, avgPrice: 3.1, minPrice: 3, maxPrice: 4.2, count: 12 },
    ]);
    expect(result.map(isCompleteHour)).toEqual([true, true]);
  });

  it('counts a repeated stamp once, the last one winning', () => {
    const prices: PricePoint[] = [
      { timeMs: H14 - MIN5, priceCentsPerKwh: 1 },
      { timeMs: H14 - MIN5, priceCentsPerKwh: 3 },
      { timeMs: H14 - 2 * MIN5, priceCentsPerKwh: 2 },
    ];
    expect(hourlyAggregates(prices)).toEqual([
      { hourEndingMs: H14, avgPrice: 2.5, minPrice: 2, maxPrice: 3, count: 2 },
    ]);
  });

  it('returns nothing for no prices', () => {
    expect(hourlyAggregates([])).toEqual([]);
  });
});
