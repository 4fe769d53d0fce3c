import { describe, expect, it } from 'vitest';
import { FIVE_MINUTES_MS } from '../../src/prices/comed-clock.js';
import { type CheapestWindowOptions, cheapestWindow, type PriceSlot } from '../../src/sessions/cheapest-window.js';

// Slot i covers [S0 + i x 5 min, S0 + (i+1) x 5 min) and is named by its start, as ComEd stamps it.
const S0 = Date.UTC(2026, 0, 15, 6, 0);
const slotEnd = (i: number): number => S0 + (i + 1) * FIVE_MINUTES_MS;
const slotStart = (i: number): number => S0 + i * FIVE_MINUTES_MS;
const slotsOf = (prices: (number | undefined)[]): PriceSlot[] =>
  prices.map((centsPerKwh, i) => ({ startMs: slotStart(i), centsPerKwh }));
const ALL: CheapestWindowOptions = { earliestStartMs: Number.NEGATIVE_INFINITY, deadlineMs: Number.POSITIVE_INFINITY };

const PRICES = [5, 4, 1, 2, 8, 0, 0, 9];

describe('cheapestWindow', () => {
  it.each([
    {
      name: 'two slots: the pair of zeros',
      // pair sums 9, 5, 3, 10, 8, 0, 9
      slots: slotsOf(PRICES),
      duration: 2,
      options: ALL,
      expected: { startMs: slotStart(5), endMs: slotEnd(6), avgCentsPerKwh: 0 },
    },
    {
      name: 'three slots: 4 + 1 + 2',
      // triple sums 10, 7, 11, 10, 8, 9
      slots: slotsOf(PRICES),
      duration: 3,
      options: ALL,
      expected: { startMs: slotStart(1), endMs: slotEnd(3), avgCentsPerKwh: 7 / 3 },
    },
    {
      name: 'a deadline rules the zeros out',
      slots: slotsOf(PRICES),
      duration: 2,
      options: { earliestStartMs: Number.NEGATIVE_INFINITY, deadlineMs: slotEnd(4) },
      expected: { startMs: slotStart(2), endMs: slotEnd(3), avgCentsPerKwh: 1.5 },
    },
    {
      name: 'an earliest start rules the early slots out',
      slots: slotsOf([1, 1, 5, 3, 4]),
      duration: 2,
      options: { earliestStartMs: slotStart(2), deadlineMs: Number.POSITIVE_INFINITY },
      expected: { startMs: slotStart(3), endMs: slotEnd(4), avgCentsPerKwh: 3.5 },
    },
    {
      name: 'an earliest start inside a slot excludes that slot',
      slots: slotsOf([1, 1, 5, 3, 4]),
      duration: 2,
      options: { earliestStartMs: slotStart(0) + 1, deadlineMs: Number.POSITIVE_INFINITY },
      expected: { startMs: slotStart(1), endMs: slotEnd(2), avgCentsPerKwh: 3 },
    },
    {
      name: 'windows with an unknown price are skipped',
      // (5, ?) and (?, 1) skipped; (1, 2) = 3; (2, 8) = 10
      slots: slotsOf([5, undefined, 1, 2, 8]),
      duration: 2,
      options: ALL,
      expected: { startMs: slotStart(2), endMs: slotEnd(3), avgCentsPerKwh: 1.5 },
    },
    {
      name: 'negative prices',
      slots: slotsOf([3, -2, -1, 4]),
      duration: 2,
      options: ALL,
      expected: { startMs: slotStart(1), endMs: slotEnd(2), avgCentsPerKwh: -1.5 },
    },
    {
      name: 'a tie goes to the earliest window',
      slots: slotsOf([2, 1, 1, 1, 1]),
      duration: 2,
      options: ALL,
      expected: { startMs: slotStart(1), endMs: slotEnd(2), avgCentsPerKwh: 1 },
    },
    {
      name: 'one slot',
      slots: slotsOf(PRICES),
      duration: 1,
      options: ALL,
      expected: { startMs: slotStart(5), endMs: slotEnd(5), avgCentsPerKwh: 0 },
    },
    {
      name: 'a hole in the slot list breaks the run',
      // slots 0, 1, then 3, 4 (slot 2 missing): (1, 1) would span the hole
      slots: [
        { startMs: slotStart(0), centsPerKwh: 9 },
        { startMs: slotStart(1), centsPerKwh: 1 },
        { startMs: slotStart(3), centsPerKwh: 1 },
        { startMs: slotStart(4), centsPerKwh: 4 },
      ],
      duration: 2,
      options: ALL,
      expected: { startMs: slotStart(3), endMs: slotEnd(4), avgCentsPerKwh: 2.5 },
    },
    { name: 'longer than the slots: none', slots: slotsOf([1, 2]), duration: 3, options: ALL, expected: undefined },
    {
      name: 'every window has an unknown price: none',
      slots: slotsOf([1, undefined, 2, undefined, 3]),
      duration: 2,
      options: ALL,
      expected: undefined,
    },
    { name: 'no slots: none', slots: [], duration: 1, options: ALL, expected: undefined },
  ])('$name', ({ slots, duration, options, expected }) => {
    expect(cheapestWindow(slots, duration, options)).toEqual(expected);
  });

  it('finds the cheapest 2 hours (24 slots) before a 7 AM deadline in a day of prices', () => {
    // A day of 5-minute slots from 00:00 local: 6 c, except 4 c from 01:00 to 05:00, and 1 c
    // from 06:00 to 08:00, half of which is after the deadline.
    const prices = Array.from({ length: 288 }, (_, i) => {
      if (i >= 72 && i < 96) return 1;
      if (i >= 12 && i < 60) return 4;
      return 6;
    });
    const window = cheapestWindow(slotsOf(prices), 2 * 12, {
      earliestStartMs: S0,
      deadlineMs: slotStart(84), // 07:00
    });
    // 06:00-07:00 at 1 c and the hour before at 6 c average 3.5; anywhere in 01:00-05:00 is 4.
    expect(window).toEqual({ startMs: slotStart(60), endMs: slotEnd(83), avgCentsPerKwh: 3.5 });
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects a duration of %s slots', (duration) => {
    expect(() => cheapestWindow(slotsOf(PRICES), duration, ALL)).toThrow(/positive integer/);
  });
});
