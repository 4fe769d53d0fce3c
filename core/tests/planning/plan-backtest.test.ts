import { describe, expect, it } from 'vitest';
import { DEFAULT_PLAN_RULES } from '../../src/planning/charge-plan.js';
import { backtestPlans, type ChargeCase, commuterCases } from '../../src/planning/plan-backtest.js';
import { HOUR_MS } from '../../src/prices/comed-clock.js';
import type { Tariff } from '../../src/prices/pricing.js';
import { CHICAGO_TIME_ZONE, wallClockAt } from '../../src/time/wall-clock.js';

const TARIFF: Tariff = {
  deliveryCentsPerKwh: 8,
  otherCentsPerKwh: 2,
  taxPercent: 0,
  monthlyFixedUsd: 0,
  flatRateCentsPerKwh: 17,
};

describe('commuterCases', () => {
  const from = Date.UTC(2026, 0, 1, 6);
  const to = Date.UTC(2027, 0, 1, 6);
  const cases = commuterCases(7, from, to);

  it('is one evening a day of the year, the same for the same seed', () => {
    expect(cases).toHaveLength(365);
    expect(commuterCases(7, from, to)).toEqual(cases);
    expect(commuterCases(8, from, to)).not.toEqual(cases);
  });

  it('plugs in between 17:00 and 19:30 and leaves the next morning, in Chicago time across DST', () => {
    for (const { plugInMs, departureMs, energyKwh } of cases) {
      const plugIn = wallClockAt(plugInMs, CHICAGO_TIME_ZONE);
      const leave = wallClockAt(departureMs, CHICAGO_TIME_ZONE);
      expect(plugIn.hour * 60 + plugIn.minute).toBeGreaterThanOrEqual(17 * 60);
      expect(plugIn.hour * 60 + plugIn.minute).toBeLessThanOrEqual(19.5 * 60);
      const workNight = plugIn.weekday <= 4;
      const leaveMinutes = leave.hour * 60 + leave.minute;
      const [earliest, latest] = workNight ? [6.5 * 60, 7.75 * 60] : [9 * 60, 11 * 60];
      expect(leaveMinutes, JSON.stringify(leave)).toBeGreaterThanOrEqual(earliest);
      expect(leaveMinutes, JSON.stringify(leave)).toBeLessThanOrEqual(latest);
      expect(departureMs - plugInMs).toBeGreaterThan(10 * HOUR_MS);
      expect(energyKwh).toBeGreaterThanOrEqual(4);
      expect(energyKwh).toBeLessThanOrEqual(60);
    }
  });
});

// Five weeks of history at a flat 5 cents, then one evaluated night: Tue Dec 1, 2026, 18:00 to 07:00 CST.
const HISTORY_FROM = Date.UTC(2026, 9, 27, 5);
const NIGHT: ChargeCase = { plugInMs: Date.UTC(2026, 11, 2, 0), departureMs: Date.UTC(2026, 11, 2, 13), energyKwh: 10 };
const hour = (localHour: number) =>
  Date.UTC(2026, 11, 2, 0) + (localHour - 18 + (localHour < 18 ? 24 : 0) + 1) * HOUR_MS;

function flatHistory(priceOf: (hourEndingMs: number) => number = () => 5): Map<number, number> {
  const prices = new Map<number, number>();
  for (
    let hourEndingMs = HISTORY_FROM + HOUR_MS;
    hourEndingMs <= NIGHT.departureMs + 2 * HOUR_MS;
    hourEndingMs += HOUR_MS
  ) {
    prices.set(hourEndingMs, priceOf(hourEndingMs));
  }
  return prices;
}

describe('backtestPlans', () => {
  it('captures all of the saving with day-ahead prices that were right, and misses nothing', () => {
    // The hour from 02:00 to 03:00 is the night's cheapest, and the day-ahead prices say so.
    const hourly = flatHistory((hourEndingMs) =>
      hourEndingMs === hour(2) ? 1 : hourEndingMs > NIGHT.plugInMs ? 6 : 5,
    );
    const result = backtestPlans({
      hourly,
      dayAhead: hourly,
      cases: [NIGHT],
      powerKw: 10,
      tariff: TARIFF,
      rules: DEFAULT_PLAN_RULES,
    });
    expect(result.cases).toBe(1);
    expect(result.missedDepartures).toBe(0);
    // At once: 18:00-19:00 at 6. Planned and hindsight: 02:00-03:00 at 1.
    expect(result.atPlugIn.totalUsd).toBeCloseTo((10 * (6 + 10)) / 100, 9);
    expect(result.planned.totalUsd).toBeCloseTo((10 * (1 + 10)) / 100, 9);
    expect(result.capturedShare).toBeCloseTo(1, 9);
    expect(result.runsPerCase).toBe(1);
  });

  it('decides on what was known: a real price that differs from the day-ahead one is only billed', () => {
    // The day-ahead prices say 01:00 is cheapest; in the event 03:00 was. Peeking would choose 03:00.
    const hourly = flatHistory((hourEndingMs) =>
      hourEndingMs === hour(3) ? 1 : hourEndingMs > NIGHT.plugInMs ? 6 : 5,
    );
    const dayAhead = flatHistory((hourEndingMs) =>
      hourEndingMs === hour(1) ? 2 : hourEndingMs > NIGHT.plugInMs ? 6 : 5,
    );
    const result = backtestPlans({
      hourly,
      dayAhead,
      cases: [NIGHT],
      powerKw: 10,
      tariff: TARIFF,
      rules: DEFAULT_PLAN_RULES,
    });
    // Planned: 01:00-02:00, billed at its real 6. At once: 6. Hindsight: 1. Nothing saved of 0.5 possible.
    expect(result.planned.totalUsd).toBeCloseTo(1.6, 9);
    expect(result.possibleSavingUsd).toBeCloseTo(0.5, 9);
    expect(result.capturedShare).toBeCloseTo(0, 9);
  });

  it('counts a departure the night could not make, and leaves out a night without prices', () => {
    const hourly = flatHistory();
    const result = backtestPlans({
      hourly,
      dayAhead: hourly,
      cases: [
        { ...NIGHT, energyKwh: 200 },
        { plugInMs: Date.UTC(2030, 0, 1), departureMs: Date.UTC(2030, 0, 1, 12), energyKwh: 5 },
      ],
      powerKw: 10,
      tariff: TARIFF,
      rules: DEFAULT_PLAN_RULES,
    });
    expect([result.cases, result.skipped, result.missedDepartures]).toEqual([1, 1, 1]);
  });
});
