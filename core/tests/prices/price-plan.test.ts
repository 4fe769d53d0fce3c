import { describe, expect, it } from 'vitest';
import { HOUR_MS } from '../../src/prices/comed-clock.js';
import { isPriceStale, pricePoints, rangesToRefetch, runningAveragePoint } from '../../src/prices/price-plan.js';

const H = (hour: number) => Date.UTC(2026, 6, 1, hour);

describe('ranges to re-fetch', () => {
  it('names hours missing or short of twelve prices, merged into contiguous ranges', () => {
    const known = [
      { hourEndingMs: H(1), count: 12 },
      { hourEndingMs: H(2), count: 11 },
      // hour ending 3 missing entirely
      { hourEndingMs: H(4), count: 12 },
      { hourEndingMs: H(5), count: 12 },
      { hourEndingMs: H(6), count: 3 },
    ];
    expect(rangesToRefetch(known, H(0), H(6))).toEqual([
      { fromMs: H(1), toMs: H(3) },
      { fromMs: H(5), toMs: H(6) },
    ]);
  });

  it('is empty when every hour is complete', () => {
    const known = [1, 2, 3].map((hour) => ({ hourEndingMs: H(hour), count: 12 }));
    expect(rangesToRefetch(known, H(0), H(3))).toEqual([]);
  });
});

describe('price points', () => {
  it('writes each 5-minute price and the aggregate of each hour that is over', () => {
    // Stamped 10:00 through 11:05: the twelve from 10:00 to 10:55 make the hour ending 11:00.
    const prices = Array.from({ length: 14 }, (_, i) => ({
      timeMs: H(10) + i * 5 * 60_000,
      priceCentsPerKwh: i < 12 ? i - 2 : 50,
    }));
    const points = pricePoints(prices, H(11) + 10 * 60_000);
    expect(points.filter((p) => p.measurement === 'comed_price')).toHaveLength(14);
    // The hour ending 11:00 holds the prices -2..9 (mean 3.5); the hour ending 12:00 is not over yet.
    expect(points.filter((p) => p.measurement === 'comed_price_hourly')).toEqual([
      {
        measurement: 'comed_price_hourly',
        tags: {},
        fields: { avg_price: 3.5, min_price: -2, max_price: 9, count: 12 },
        timeMs: H(11),
      },
    ]);
  });

  it('stamps the running average at its hour end, so each poll rewrites one point', () => {
    // The average holding only the price stamped 10:00 is the first of the hour ending 11:00.
    const first = runningAveragePoint({ timeMs: H(10), priceCentsPerKwh: 3 });
    const later = runningAveragePoint({ timeMs: H(10) + 55 * 60_000, priceCentsPerKwh: 4 });
    expect(first.timeMs).toBe(H(11));
    expect(later.timeMs).toBe(H(11));
    expect(first.tags).toEqual({ price_type: 'hourly_avg' });
  });
});

describe('staleness', () => {
  it('is stale past fifteen minutes or with no price at all', () => {
    expect(isPriceStale(H(1), H(1) + 15 * 60_000)).toBe(false);
    expect(isPriceStale(H(1), H(1) + 15 * 60_000 + 1)).toBe(true);
    expect(isPriceStale(undefined, H(1))).toBe(true);
    expect(HOUR_MS).toBe(3_600_000);
  });
});
