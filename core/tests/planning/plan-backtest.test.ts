import { describe, expect, it } from 'vitest';
import { DEFAULT_PLAN_RULES } from '../../src/planning/charge-plan.js';
import {
  backtestPlans,
  type ChargeCase,
  commuterCases,
  type ReplayStep,
  replayCase,
} from '../../src/planning/plan-backtest.js';
import { HOUR_MS } from '../../src/prices/comed-clock.js';
import { dayAheadPublishedMs } from '../../src/prices/forecast-backtest.js';
import type { Tariff } from '../../src/prices/pricing.js';
import { createRandom } from '../../src/random.js';
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

/** Five weeks and three nights of 5-minute prices around a night-low daily shape, with day-ahead prices a little off. */
function noisyPrices(seed: number) {
  const random = createRandom(seed);
  const fiveMinute = new Map<number, number>();
  const hourly = new Map<number, number>();
  const dayAhead = new Map<number, number>();
  for (
    let hourEndingMs = HISTORY_FROM + HOUR_MS;
    hourEndingMs <= NIGHT.departureMs + 3 * DAY;
    hourEndingMs += HOUR_MS
  ) {
    const localHour = wallClockAt(hourEndingMs - HOUR_MS, CHICAGO_TIME_ZONE).hour;
    const level = 3 + 2 * Math.cos(((localHour - 17) / 24) * 2 * Math.PI) + (random() - 0.5) * 1.5;
    // One night hour in ten goes below zero.
    const negative = localHour < 6 && random() < 0.1 ? -3 : 0;
    let sum = 0;
    for (let k = 0; k < 12; k++) {
      const price = Math.round((level + negative + (random() - 0.5) * 3) * 10) / 10;
      fiveMinute.set(hourEndingMs - HOUR_MS + k * 5 * 60_000, price);
      sum += price;
    }
    hourly.set(hourEndingMs, sum / 12);
    dayAhead.set(hourEndingMs, Math.round((level + (random() - 0.5)) * 10) / 10);
  }
  return { fiveMinute, hourly, dayAhead };
}

const DAY = 24 * HOUR_MS;
const NIGHTS: ChargeCase[] = [0, 1, 2].map((day) => ({
  plugInMs: NIGHT.plugInMs + day * DAY + 17 * 60_000,
  departureMs: NIGHT.departureMs + day * DAY,
  energyKwh: 9 + 6 * day,
}));

describe('replayCase', () => {
  it('decides at plug-in and at every 5-minute boundary until the car is full', () => {
    const prices = noisyPrices(1);
    const replay = replayCase(
      { ...prices, cases: NIGHTS, powerKw: 11.5, tariff: TARIFF, rules: DEFAULT_PLAN_RULES },
      NIGHTS[0] as ChargeCase,
    );
    const [first, second, third] = replay.steps as [ReplayStep, ReplayStep, ReplayStep];
    expect(first.atMs).toBe((NIGHTS[0] as ChargeCase).plugInMs);
    expect(second.atMs % (5 * 60_000)).toBe(0);
    expect(third.atMs - second.atMs).toBe(5 * 60_000);
    expect(replay.remainingKwh).toBeLessThan(0.01);
    const charged = [...replay.delivered.values()].reduce((sum, kwh) => sum + kwh, 0);
    expect(charged).toBeCloseTo((NIGHTS[0] as ChargeCase).energyKwh, 4);
  });

  it('tells the planner whether the car is charging, so a price near the cut-off does not toggle it', () => {
    const prices = noisyPrices(2);
    const replays = (switchMarginCents: number) =>
      NIGHTS.map((chargeCase) =>
        replayCase(
          {
            ...prices,
            cases: NIGHTS,
            powerKw: 11.5,
            tariff: TARIFF,
            rules: { ...DEFAULT_PLAN_RULES, switchMarginCents },
          },
          chargeCase,
        ),
      );
    const starts = (margin: number) => replays(margin).reduce((sum, replay) => sum + replay.runs, 0);
    expect(starts(0.5)).toBeLessThan(starts(0));
    for (const replay of replays(0.5)) expect(replay.remainingKwh).toBeLessThan(0.01);
  });

  it('never uses a price that was not known at the decision: changing every later actual changes no earlier decision', () => {
    let laterDecisionsChanged = 0;
    // The nights, and an afternoon plug-in that sees the next day's day-ahead prices come out at 16:30.
    const afternoon = {
      plugInMs: NIGHT.plugInMs - 5 * HOUR_MS + 7 * 60_000,
      departureMs: NIGHT.departureMs,
      energyKwh: 20,
    };
    for (const seed of [1]) {
      for (const chargeCase of [...NIGHTS, afternoon]) {
        const prices = noisyPrices(seed);
        const inputs = { ...prices, cases: NIGHTS, powerKw: 11.5, tariff: TARIFF, rules: DEFAULT_PLAN_RULES };
        const before = replayCase(inputs, chargeCase);
        // Cut the night at several of its decisions and rewrite everything not known by then.
        for (const cut of [3, 40, 101]) {
          const cutMs = (before.steps[cut] as ReplayStep | undefined)?.atMs;
          if (cutMs === undefined) continue;
          const random = createRandom(seed * 100 + cut);
          const future = noisyPrices(seed + 1000);
          const fiveMinute = new Map(prices.fiveMinute);
          for (const [stampMs, price] of future.fiveMinute) {
            // A price stamped at the decision itself is not in yet (it is posted as its interval begins).
            if (stampMs >= cutMs) fiveMinute.set(stampMs, price - 4 * random());
          }
          const hourly = new Map(prices.hourly);
          for (const [hourEndingMs, price] of future.hourly) if (hourEndingMs > cutMs) hourly.set(hourEndingMs, price);
          const dayAhead = new Map(prices.dayAhead);
          for (const [hourEndingMs, price] of future.dayAhead) {
            if (dayAheadPublishedMs(hourEndingMs) > cutMs) dayAhead.set(hourEndingMs, price);
          }
          const after = replayCase({ ...inputs, fiveMinute, hourly, dayAhead }, chargeCase);
          const upTo = (steps: readonly ReplayStep[]) => steps.filter((step) => step.atMs <= cutMs);
          expect(upTo(after.steps)).toEqual(upTo(before.steps));
          if (JSON.stringify(after.steps) !== JSON.stringify(before.steps)) laterDecisionsChanged++;
        }
      }
    }
    // The rewritten prices did reach the later decisions: the check above is not vacuous.
    expect(laterDecisionsChanged).toBeGreaterThan(4);
  });

  it('charges in a negative hour the day-ahead prices did not see, once its first prices are in', () => {
    // The day-ahead prices say 04:00-05:00 is the cheapest hour (2); in the event 02:00-03:00 goes to -2.
    const hourly = flatHistory((hourEndingMs) => (hourEndingMs > NIGHT.plugInMs ? 6 : 5));
    const dayAhead = flatHistory((hourEndingMs) =>
      hourEndingMs === hour(4) ? 2 : hourEndingMs > NIGHT.plugInMs ? 6 : 5,
    );
    const fiveMinute = new Map<number, number>();
    for (const [hourEndingMs, price] of hourly) {
      for (let k = 0; k < 12; k++) fiveMinute.set(hourEndingMs - HOUR_MS + k * 5 * 60_000, price);
    }
    hourly.set(hour(2), -2);
    for (let k = 0; k < 12; k++) fiveMinute.set(hour(2) - HOUR_MS + k * 5 * 60_000, -2);
    const chargeCase = { ...NIGHT, energyKwh: 8 };
    const inputs = {
      hourly,
      dayAhead,
      fiveMinute,
      cases: [chargeCase],
      powerKw: 10,
      tariff: TARIFF,
      rules: DEFAULT_PLAN_RULES,
    };
    const replay = replayCase(inputs, chargeCase);
    expect(replay.remainingKwh).toBeLessThan(0.01);
    // All of it in the negative hour's last 55 minutes (its first price had to be in first), none left for 04:00.
    expect(replay.delivered.get(hour(2)) ?? 0).toBeCloseTo(8, 4);
    expect(replay.delivered.get(hour(4)) ?? 0).toBeCloseTo(0, 9);
    // On the hourly prices alone the same night charges at 04:00, at its real 6 cents.
    const hourlyOnly = replayCase({ ...inputs, fiveMinute: undefined }, chargeCase);
    expect(hourlyOnly.delivered.get(hour(4)) ?? 0).toBeCloseTo(8, 4);
    expect(backtestPlans(inputs).planned.totalUsd).toBeLessThan(
      backtestPlans({ ...inputs, fiveMinute: undefined }).planned.totalUsd,
    );
  });
});
