import { describe, expect, it } from 'vitest';
import type { PublishedHour } from '../../src/prices/comed-parse.js';
import { checkPublishedHours, publishedCheckPoints } from '../../src/prices/published-check.js';

const H = Date.UTC(2026, 6, 1, 17); // 12:00 CDT
const HOUR = 3_600_000;
const label = (hour: number) => ({ year: 2026, month: 7, day: 1, hour });

function published(hour: number, price: number, hourEndingsMs = [H + (hour - 12) * HOUR]): PublishedHour {
  return { label: label(hour), priceCentsPerKwh: price, hourEndingsMs };
}

describe('checkPublishedHours', () => {
  it('counts an hour as off only beyond 0.05 cent, either way, and leaves out what cannot be compared', () => {
    const ours = new Map([
      [H, { avgPrice: 3.25, count: 12 }], // published 3.2: 0.05 off, within
      [H + HOUR, { avgPrice: 3.31, count: 12 }], // published 3.2: 0.11 off
      [H + 2 * HOUR, { avgPrice: 2.0, count: 11 }], // short of a price: not comparable
      [H + 3 * HOUR, { avgPrice: 1.94, count: 12 }], // published 2.0: -0.06 off
    ]);
    const check = checkPublishedHours(
      [
        published(12, 3.2),
        published(13, 3.2),
        published(14, 2.0),
        published(15, 2.0),
        published(16, 5), // no stored hour at all
        published(1, 4.2, [H - 11 * HOUR, H - 10 * HOUR]), // the fall-back day's label 1
      ],
      (hourEndingMs) => ours.get(hourEndingMs),
    );
    expect(check.hours.map((hour) => hour.verdict)).toEqual([
      'match',
      'mismatch',
      'incomplete',
      'mismatch',
      'incomplete',
      'ambiguous',
    ]);
    expect(check.hours.map((hour) => hour.diffCents)).toEqual([0.05, 0.11, null, -0.06, null, null]);
    expect(check).toMatchObject({ published: 6, compared: 3, mismatched: 2, unverifiable: 3, maxAbsDiffCents: 0.11 });
    // Three compared hours are too few to say what share of a day is off.
    expect(check.mismatchShare).toBeNull();
  });

  it('gives the share of a day off once enough hours are compared', () => {
    const hours = Array.from({ length: 8 }, (_, i) => published(12 + i, 1));
    const check = checkPublishedHours(hours, (hourEndingMs) => ({
      avgPrice: hourEndingMs < H + 2 * HOUR ? 1.5 : 1,
      count: 12,
    }));
    expect(check.mismatchShare).toBe(2 / 8);
  });

  it('stores each hour beside ours and the day summary, stamped as documented', () => {
    const check = checkPublishedHours([published(12, 3.2), published(1, 4, [])], () => ({ avgPrice: 3.3, count: 12 }));
    const points = publishedCheckPoints(check, Date.UTC(2026, 6, 1, 5));
    expect(points).toEqual([
      {
        measurement: 'comed_price_published',
        tags: {},
        fields: { price_cents_kwh: 3.2, ours_cents_kwh: 3.3, diff_cents: 0.1, mismatch: true },
        timeMs: H,
      },
      {
        measurement: 'comed_price_check',
        tags: {},
        fields: {
          hours_published: 2,
          hours_compared: 1,
          hours_mismatched: 1,
          hours_unverifiable: 1,
          max_abs_diff_cents: 0.1,
          mismatch_share: null,
        },
        timeMs: Date.UTC(2026, 6, 1, 5),
      },
    ]);
  });
});
