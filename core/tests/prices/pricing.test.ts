import { describe, expect, it } from 'vitest';
import type { PricePoint } from '../../src/prices/comed-parse.js';
import { createComedProvider, createFlatProvider, createTouProvider } from '../../src/prices/pricing.js';
import type { TouSchedule } from '../../src/prices/tariff.js';

const MIN5 = 300_000;
const HOUR = 3_600_000;
const H = Date.UTC(2026, 6, 15, 19, 0); // an hour ending (14:00 CDT)

/** Prices of the hour ending `hourEndMs`, stamped H-60 .. H-5 min, oldest first. */
function hourOf(hourEndMs: number, prices: number[]): PricePoint[] {
  return prices.map((price, i) => ({ timeMs: hourEndMs - HOUR + i * MIN5, priceCentsPerKwh: price }));
}

const fullHour = hourOf(H, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.6]); // 78.6 / 12 = 6.55
const nextHourSoFar = hourOf(H + HOUR, [20, 30, 40]); // stamped H, H+5, H+10: 90 / 3 = 30

describe('createComedProvider, hourly basis (the default, what ComEd bills)', () => {
  it('gives every interval of a complete hour the hour average, and none to the interval stamped at its end', () => {
    const provider = createComedProvider({ prices: fullHour, asOfMs: H + 1 });
    expect(provider.kind).toBe('comed');
    expect(provider.description).toBe('ComEd hourly average');
    expect(provider.supplyCentsPerKwh(H - HOUR)).toBe(6.55);
    expect(provider.supplyCentsPerKwh(H - 30 * 60_000)).toBe(6.55);
    expect(provider.supplyCentsPerKwh(H - MIN5)).toBe(6.55);
    // The interval stamped H opens the next hour, whose prices are not in.
    expect(provider.supplyCentsPerKwh(H)).toBeUndefined();
  });

  it('is provisional (undefined) while the hour is still running and incomplete', () => {
    const provider = createComedProvider({ prices: [...fullHour, ...nextHourSoFar], asOfMs: H + 15 * 60_000 + 1 });
    expect(provider.supplyCentsPerKwh(H)).toBeUndefined();
    expect(provider.supplyCentsPerKwh(H + 2 * MIN5)).toBeUndefined();
    // The previous, finished hour is final.
    expect(provider.supplyCentsPerKwh(H - MIN5)).toBe(6.55);
  });

  it('is final once all twelve prices are in, even before the hour has ended', () => {
    // The twelfth price is stamped, and posted, five minutes before the hour ends.
    const provider = createComedProvider({ prices: fullHour, asOfMs: H - 1, basis: 'hourly' });
    expect(provider.supplyCentsPerKwh(H - MIN5)).toBe(6.55);
  });

  it('waits for the missing prices of an hour that is over, and takes what ComEd published a day later', () => {
    // ComEd fills gaps late, and a feed outage can keep the hour's last prices from us for a while.
    const justOver = createComedProvider({ prices: nextHourSoFar, asOfMs: H + HOUR });
    expect(justOver.supplyCentsPerKwh(H + 10 * MIN5)).toBeUndefined();
    const almostADay = createComedProvider({ prices: nextHourSoFar, asOfMs: H + HOUR + 24 * HOUR - 1 });
    expect(almostADay.supplyCentsPerKwh(H + 10 * MIN5)).toBeUndefined();
    const aDayLater = createComedProvider({ prices: nextHourSoFar, asOfMs: H + HOUR + 24 * HOUR });
    expect(aDayLater.supplyCentsPerKwh(H + 10 * MIN5)).toBe(30);
  });

  it('knows nothing of hours without prices', () => {
    const provider = createComedProvider({ prices: fullHour, asOfMs: H + 10 * HOUR });
    expect(provider.supplyCentsPerKwh(H + 2 * HOUR)).toBeUndefined();
  });

  it('places an instant off the grid in the interval holding it', () => {
    const provider = createComedProvider({ prices: [...fullHour, ...nextHourSoFar], asOfMs: H + 26 * HOUR });
    expect(provider.supplyCentsPerKwh(H - 1)).toBe(6.55);
    expect(provider.supplyCentsPerKwh(H + 1)).toBe(30);
  });
});

describe('createComedProvider, five-minute basis', () => {
  it('gives each interval the price stamped at its start, undefined when ComEd has none', () => {
    const prices = [...fullHour.filter((_, i) => i !== 4), ...nextHourSoFar];
    const provider = createComedProvider({ prices, asOfMs: H, basis: 'five-minute' });
    expect(provider.description).toBe('ComEd 5-minute price');
    expect(provider.supplyCentsPerKwh(H - HOUR)).toBe(1);
    expect(provider.supplyCentsPerKwh(H - MIN5)).toBe(12.6);
    expect(provider.supplyCentsPerKwh(H - HOUR + 4 * MIN5)).toBeUndefined();
    expect(provider.supplyCentsPerKwh(H)).toBe(20);
    expect(provider.supplyCentsPerKwh(H + MIN5)).toBe(30);
  });
});

describe('createFlatProvider', () => {
  it('answers one price everywhere', () => {
    const provider = createFlatProvider(11.5);
    expect(provider.kind).toBe('flat');
    expect([0, H, H + 123].map((t) => provider.supplyCentsPerKwh(t))).toEqual([11.5, 11.5, 11.5]);
  });

  it('refuses a price that is not a number', () => {
    expect(() => createFlatProvider(Number.NaN)).toThrow(RangeError);
  });
});

describe('createTouProvider', () => {
  const schedule: TouSchedule = {
    defaultCentsPerKwh: 6,
    periods: [
      {
        name: 'summer-peak',
        months: { from: 6, to: 9 },
        weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
        hours: { from: 13, to: 19 },
        centsPerKwh: 14,
      },
      {
        name: 'winter-peak',
        months: { from: 10, to: 5 },
        weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
        hours: { from: 17, to: 20 },
        centsPerKwh: 10,
      },
      { name: 'overnight', hours: { from: 22, to: 6 }, centsPerKwh: 3 },
    ],
  };
  const tou = createTouProvider(schedule, 'America/Chicago');
  /** The price of the interval starting at this UTC time. */
  const at = (year: number, month: number, day: number, hour: number, minute: number) =>
    tou.supplyCentsPerKwh(Date.UTC(year, month - 1, day, hour, minute));

  it.each([
    // Around the March DST change (Sunday 2026-03-08): 11:00 UTC is 05:00 CST before and 06:00 CDT after.
    ['Fri 2026-03-06, interval 04:55-05:00 CST', [2026, 3, 6, 10, 55], 3],
    ['Fri 2026-03-06, interval 05:55-06:00 CST', [2026, 3, 6, 11, 55], 3],
    ['Fri 2026-03-06, interval 06:00-06:05 CST', [2026, 3, 6, 12, 0], 6],
    ['Mon 2026-03-09, interval 05:55-06:00 CDT', [2026, 3, 9, 10, 55], 3],
    ['Mon 2026-03-09, interval 06:00-06:05 CDT', [2026, 3, 9, 11, 0], 6],
    ['Mon 2026-03-09, 17:00-17:05 CDT: winter peak', [2026, 3, 9, 22, 0], 10],
    ['Fri 2026-03-06, 17:00-17:05 CST: winter peak', [2026, 3, 6, 23, 0], 10],
    ['Fri 2026-03-06, 16:55-17:00 CST: not yet', [2026, 3, 6, 22, 55], 6],
    // Season boundary May -> June.
    ['Fri 2026-05-29, 17:30 CDT: winter peak', [2026, 5, 29, 22, 30], 10],
    ['Mon 2026-06-01, 17:30 CDT: summer peak', [2026, 6, 1, 22, 30], 14],
    ['Mon 2026-06-01, 13:00-13:05 CDT: summer peak starts', [2026, 6, 1, 18, 0], 14],
    ['Mon 2026-06-01, 12:55-13:00 CDT: before the peak', [2026, 6, 1, 17, 55], 6],
    // Season boundary September -> October, by local month: 19:30 CDT on Sep 30 is already October in UTC.
    ['Wed 2026-09-30, 19:30 CDT: summer rules, off-peak', [2026, 10, 1, 0, 30], 6],
    ['Thu 2026-10-01, 19:30 CDT: winter peak', [2026, 10, 2, 0, 30], 10],
    // Weekend: no peak; overnight wraps midnight.
    ['Sat 2026-07-18, 14:00 CDT', [2026, 7, 18, 19, 0], 6],
    ['Sat 2026-07-18, 23:30 CDT', [2026, 7, 19, 4, 30], 3],
  ])('%s', (_label, [year, month, day, hour, minute], expected) => {
    expect(at(year as number, month as number, day as number, hour as number, minute as number)).toBe(expected);
  });

  it('keeps the same wall-clock hours in another zone', () => {
    const berlin = createTouProvider(schedule, 'Europe/Berlin');
    // Mon 2026-06-01 13:00-13:05 CEST starts at 11:00 UTC.
    expect(berlin.supplyCentsPerKwh(Date.UTC(2026, 5, 1, 11, 0))).toBe(14);
    expect(tou.supplyCentsPerKwh(Date.UTC(2026, 5, 1, 11, 0))).toBe(6);
  });

  it("uses the schedule's own time zone when none is given", () => {
    const berlin = createTouProvider({ ...schedule, timeZone: 'Europe/Berlin' });
    expect(berlin.kind).toBe('tou');
    expect(berlin.supplyCentsPerKwh(Date.UTC(2026, 5, 1, 11, 0))).toBe(14);
  });

  it('validates the schedule and the zone', () => {
    expect(() =>
      createTouProvider({ defaultCentsPerKwh: 5, periods: [{ name: 'x', centsPerKwh: 1, weekdays: [] }] }),
    ).toThrow(/tou\.periods\.0\.weekdays/);
    expect(() => createTouProvider(schedule, 'Nowhere/Special')).toThrow(/Nowhere\/Special/);
  });
});
