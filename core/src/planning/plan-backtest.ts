/**
 * Smart charging replayed on a price history: for each charging case (a
 * plug-in, a departure, an energy), the planner is run at plug-in and at
 * every 5-minute boundary after it, as the product's loop runs it, with only
 * what was known then: the hourly prices that were over, the day-ahead prices
 * published by then, the forecast from them, and (when the history has 5-minute
 * prices) the running hour's prices stamped before then, never a later actual
 * price. The car charges as the plan of the moment says, and the bill is taken
 * at the real hourly prices. Against it: charging at once at plug-in, and the
 * hindsight-best plan on the real prices. Pure.
 */
import { FIVE_MINUTES_MS, HOUR_MS, hourEndingOf } from '../prices/comed-clock.js';
import {
  DEFAULT_FORECAST_ERRORS,
  type ForecastErrors,
  forecastHours,
  type HourEstimate,
  INTERVAL_SPREAD_CENTS,
  withRunningHour,
} from '../prices/forecast.js';
import { dayAheadPublishedMs } from '../prices/forecast-backtest.js';
import type { Tariff } from '../prices/pricing.js';
import { createRandom, between as drawBetween } from '../random.js';
import { CHICAGO_TIME_ZONE, wallClockAt } from '../time/wall-clock.js';
import { type PlanRules, planCharge } from './charge-plan.js';
import { instantOf } from './departure.js';

export interface ChargeCase {
  plugInMs: number;
  departureMs: number;
  energyKwh: number;
}

const DAY_MS = 24 * HOUR_MS;

/**
 * A commuter's year, one case per evening in [fromMs, toMs) in Chicago:
 * plugged in between 17:00 and 19:30; on a work night (Sunday to Thursday)
 * leaving between 06:30 and 07:45 with 6 to 18 kWh used by the day's driving,
 * on Friday and Saturday nights leaving at 09:00 to 11:00 with 4 to 30 kWh;
 * one evening in twenty after a long drive (35 to 60 kWh).
 */
export function commuterCases(seed: number, fromMs: number, toMs: number): ChargeCase[] {
  const random = createRandom(seed);
  const between = (low: number, high: number) => drawBetween(random, low, high);
  const cases: ChargeCase[] = [];
  const first = wallClockAt(fromMs, CHICAGO_TIME_ZONE);
  for (let offset = 0; ; offset++) {
    const date = new Date(Date.UTC(first.year, first.month - 1, first.day + offset));
    const day = { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
    const next = new Date(Date.UTC(day.year, day.month - 1, day.day + 1));
    const nextDay = { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate() };
    const plugMinutes = Math.round(between(17 * 60, 19.5 * 60));
    const plugInMs = instantOf(
      day,
      { hour: Math.floor(plugMinutes / 60), minute: plugMinutes % 60 },
      CHICAGO_TIME_ZONE,
    );
    if (plugInMs >= toMs) break;
    const workNight = date.getUTCDay() <= 4;
    const leaveMinutes = Math.round(workNight ? between(6.5 * 60, 7.75 * 60) : between(9 * 60, 11 * 60));
    const departureMs = instantOf(
      nextDay,
      { hour: Math.floor(leaveMinutes / 60), minute: leaveMinutes % 60 },
      CHICAGO_TIME_ZONE,
    );
    const longDrive = random() < 0.05;
    const energyKwh = Math.round((longDrive ? between(35, 60) : workNight ? between(6, 18) : between(4, 30)) * 10) / 10;
    if (plugInMs >= fromMs) cases.push({ plugInMs, departureMs, energyKwh });
  }
  return cases;
}

export interface PlanBacktestInputs {
  /** Real-time hourly averages by hour ending. */
  hourly: ReadonlyMap<number, number>;
  /** Day-ahead prices by hour ending (used only from their publication on). */
  dayAhead: ReadonlyMap<number, number>;
  /**
   * The 5-minute prices by stamp, when the history has them: the planner then
   * sees each running hour's prices come in, as the product does. Without
   * them it re-plans on the hourly prices and the day-ahead ones alone.
   */
  fiveMinute?: ReadonlyMap<number, number> | undefined;
  /** The estimates' measured errors (forecast-backtest.ts), as the comed-poller keeps them; defaults otherwise. */
  errors?: ForecastErrors | undefined;
  /** How far a 5-minute price strays from its hour's level (measuredIntervalSpread); INTERVAL_SPREAD_CENTS otherwise. */
  intervalSpreadCents?: number | undefined;
  cases: readonly ChargeCase[];
  powerKw: number;
  tariff: Tariff;
  rules: PlanRules;
}

export interface StrategyCost {
  /** Total cost over the cases, USD (supply, adders, tax). */
  totalUsd: number;
  energyKwh: number;
}

export interface PlanBacktestResult {
  cases: number;
  /** Cases whose price history did not cover the night; left out. */
  skipped: number;
  atPlugIn: StrategyCost;
  planned: StrategyCost;
  /** The best plan knowing the real prices in advance. */
  hindsight: StrategyCost;
  savingUsd: number;
  possibleSavingUsd: number;
  /** savingUsd over possibleSavingUsd; null when nothing could be saved. */
  capturedShare: number | null;
  /** Cases that left with less energy than needed (beyond 0.01 kWh). */
  missedDepartures: number;
  /** Charging runs (car starts) per case, on average. */
  runsPerCase: number;
}

function costUsd(energyByHour: ReadonlyMap<number, number>, hourly: ReadonlyMap<number, number>, tariff: Tariff) {
  let supplyCents = 0;
  let energyKwh = 0;
  for (const [hourEndingMs, kwh] of energyByHour) {
    supplyCents += kwh * (hourly.get(hourEndingMs) as number);
    energyKwh += kwh;
  }
  const base = supplyCents + energyKwh * (tariff.deliveryCentsPerKwh + tariff.otherCentsPerKwh);
  return { totalUsd: (base * (1 + tariff.taxPercent / 100)) / 100, energyKwh };
}

const add = (into: StrategyCost, cost: StrategyCost) => {
  into.totalUsd += cost.totalUsd;
  into.energyKwh += cost.energyKwh;
};

/** The day-ahead prices of the hours up to `toMs` that were published by `nowMs`. */
function dayAheadKnownAt(inputs: PlanBacktestInputs, nowMs: number, toMs: number): Map<number, number> {
  const dayAhead = new Map<number, number>();
  for (let hourEndingMs = hourEndingOf(nowMs); hourEndingMs <= toMs + HOUR_MS; hourEndingMs += HOUR_MS) {
    const price = inputs.dayAhead.get(hourEndingMs);
    if (price !== undefined && dayAheadPublishedMs(hourEndingMs) <= nowMs) dayAhead.set(hourEndingMs, price);
  }
  return dayAhead;
}

/**
 * The running hour as the comed-poller sees it at `nowMs`: the average and
 * count of its 5-minute prices stamped before `nowMs` (a price is posted as
 * its interval begins; one stamped at `nowMs` is not counted as in yet).
 */
function runningAt(fiveMinute: ReadonlyMap<number, number> | undefined, nowMs: number) {
  if (!fiveMinute) return undefined;
  const hourEndingMs = hourEndingOf(nowMs);
  let sum = 0;
  let count = 0;
  for (let stampMs = hourEndingMs - HOUR_MS; stampMs < nowMs; stampMs += FIVE_MINUTES_MS) {
    const price = fiveMinute.get(stampMs);
    if (price === undefined) continue;
    sum += price;
    count++;
  }
  return count > 0 ? { hourEndingMs, priceCentsPerKwh: sum / count, count } : undefined;
}

/** Charging at full power from `fromMs` until `energyKwh` is in or `untilMs`, by hour ending. */
function fullPowerFrom(fromMs: number, untilMs: number, energyKwh: number, powerKw: number): Map<number, number> {
  const byHour = new Map<number, number>();
  let remaining = energyKwh;
  for (let cursor = fromMs; cursor < untilMs && remaining > 1e-9; ) {
    const hourEndingMs = hourEndingOf(cursor);
    const kwh = Math.min(remaining, (powerKw * (Math.min(hourEndingMs, untilMs) - cursor)) / HOUR_MS);
    byHour.set(hourEndingMs, kwh);
    remaining -= kwh;
    cursor = hourEndingMs;
  }
  return byHour;
}

function energyOf(slots: ReturnType<typeof planCharge>['slots']): Map<number, number> {
  const byHour = new Map<number, number>();
  for (const slot of slots) byHour.set(slot.hourEndingMs, (byHour.get(slot.hourEndingMs) ?? 0) + slot.energyKwh);
  return byHour;
}

/** One decision of a replayed night: at `atMs`, the plan said to charge `kwh` before the next decision. */
export interface ReplayStep {
  atMs: number;
  kwh: number;
  chargeNow: boolean;
  /** What the plan expected the rest of the night to cost, and in which hours (by hour ending). */
  expectedUsd: number;
  hours: number[];
}

export interface CaseReplay {
  steps: ReplayStep[];
  /** Energy charged, by hour ending. */
  delivered: Map<number, number>;
  /** Energy the departure still lacked. */
  remainingKwh: number;
  /** Charging runs (car starts). */
  runs: number;
}

/**
 * One night as the product lives it: the planner is asked again at plug-in
 * and at every 5-minute boundary (when each 5-minute price comes in), with
 * only what was known then, and the car charges as the plan says until the
 * next decision. `history` holds the hourly prices the forecast may learn
 * from; the estimates read only the hours over by each decision.
 */
export function replayCase(
  inputs: PlanBacktestInputs,
  chargeCase: ChargeCase,
  history: ReadonlyMap<number, number> = inputs.hourly,
): CaseReplay {
  const { powerKw, tariff, rules } = inputs;
  const errors = inputs.errors ?? DEFAULT_FORECAST_ERRORS;
  const { plugInMs, departureMs } = chargeCase;
  const delivered = new Map<number, number>();
  const steps: ReplayStep[] = [];
  let remaining = chargeCase.energyKwh;
  let runs = 0;
  let lastChargeEndMs: number | undefined;
  // The estimates without the running hour change only when an hour ends or day-ahead prices come out.
  let cached: { key: string; estimates: HourEstimate[] } | undefined;
  for (let nowMs = plugInMs; nowMs < departureMs && remaining > 1e-9; ) {
    const nextMs = Math.min(Math.floor(nowMs / FIVE_MINUTES_MS) * FIVE_MINUTES_MS + FIVE_MINUTES_MS, departureMs);
    const dayAhead = dayAheadKnownAt(inputs, nowMs, departureMs);
    const key = `${hourEndingOf(nowMs)}:${dayAhead.size}`;
    if (cached?.key !== key) {
      cached = {
        key,
        estimates: forecastHours({ nowMs, hourly: history, dayAhead, errors }, nowMs, departureMs + HOUR_MS),
      };
    }
    const plan = planCharge({
      nowMs,
      energyKwh: remaining,
      powerKw,
      departureMs,
      estimates: withRunningHour(
        cached.estimates,
        runningAt(inputs.fiveMinute, nowMs),
        errors,
        inputs.intervalSpreadCents ?? INTERVAL_SPREAD_CENTS,
      ),
      tariff,
      rules,
      charging: steps.length === 0 ? undefined : (steps.at(-1) as ReplayStep).kwh > 0,
    });
    let stepKwh = 0;
    for (const slot of plan.slots) {
      const fromMs = Math.max(slot.startMs, nowMs);
      const toMs = Math.min(slot.endMs, nextMs);
      if (toMs <= fromMs || remaining <= 1e-9) continue;
      const kwh = Math.min(remaining, (powerKw * (toMs - fromMs)) / HOUR_MS);
      delivered.set(slot.hourEndingMs, (delivered.get(slot.hourEndingMs) ?? 0) + kwh);
      remaining -= kwh;
      stepKwh += kwh;
      if (lastChargeEndMs === undefined || Math.abs(fromMs - lastChargeEndMs) > 1000) runs++;
      lastChargeEndMs = fromMs + (kwh / powerKw) * HOUR_MS;
    }
    steps.push({
      atMs: nowMs,
      kwh: stepKwh,
      chargeNow: plan.chargeNow,
      expectedUsd: plan.expected.totalUsd,
      hours: plan.slots.map((slot) => slot.hourEndingMs),
    });
    nowMs = nextMs;
  }
  return { steps, delivered, remainingKwh: Math.max(0, remaining), runs };
}

export function backtestPlans(inputs: PlanBacktestInputs): PlanBacktestResult {
  const { powerKw, tariff, rules } = inputs;
  const result: PlanBacktestResult = {
    cases: 0,
    skipped: 0,
    atPlugIn: { totalUsd: 0, energyKwh: 0 },
    planned: { totalUsd: 0, energyKwh: 0 },
    hindsight: { totalUsd: 0, energyKwh: 0 },
    savingUsd: 0,
    possibleSavingUsd: 0,
    capturedShare: null,
    missedDepartures: 0,
    runsPerCase: 0,
  };
  let runs = 0;
  for (const chargeCase of inputs.cases) {
    const { plugInMs, departureMs, energyKwh } = chargeCase;
    // Every hour of the night must have a real price to bill it.
    let covered = true;
    for (let hourEndingMs = hourEndingOf(plugInMs); hourEndingMs - HOUR_MS < departureMs; hourEndingMs += HOUR_MS) {
      if (!inputs.hourly.has(hourEndingMs)) covered = false;
    }
    if (!covered) {
      result.skipped++;
      continue;
    }
    result.cases++;
    // Five weeks up to the departure: what the forecast may learn from (it ignores hours after its now).
    const history = new Map<number, number>();
    for (
      let hourEndingMs = hourEndingOf(plugInMs - 35 * DAY_MS);
      hourEndingMs <= departureMs + HOUR_MS;
      hourEndingMs += HOUR_MS
    ) {
      const price = inputs.hourly.get(hourEndingMs);
      if (price !== undefined) history.set(hourEndingMs, price);
    }

    add(result.atPlugIn, costUsd(fullPowerFrom(plugInMs, departureMs, energyKwh, powerKw), inputs.hourly, tariff));

    // Hindsight: the real prices as if known, the same buffer, no limit on runs.
    const real: HourEstimate[] = [];
    for (let hourEndingMs = hourEndingOf(plugInMs); hourEndingMs - HOUR_MS < departureMs; hourEndingMs += HOUR_MS) {
      const price = inputs.hourly.get(hourEndingMs) as number;
      real.push({ hourEndingMs, priceCentsPerKwh: price, source: 'actual', lowCents: price, highCents: price });
    }
    const best = planCharge({
      nowMs: plugInMs,
      energyKwh,
      powerKw,
      departureMs,
      estimates: real,
      tariff,
      rules: { alwaysBelowCents: null, neverAboveCents: null, bufferMs: rules.bufferMs, maxRuns: 48 },
    });
    add(result.hindsight, costUsd(energyOf(best.slots), inputs.hourly, tariff));

    const replay = replayCase(inputs, chargeCase, history);
    runs += replay.runs;
    if (replay.remainingKwh > 0.01) result.missedDepartures++;
    add(result.planned, costUsd(replay.delivered, inputs.hourly, tariff));
  }
  result.savingUsd = result.atPlugIn.totalUsd - result.planned.totalUsd;
  result.possibleSavingUsd = result.atPlugIn.totalUsd - result.hindsight.totalUsd;
  result.capturedShare = result.possibleSavingUsd > 1e-9 ? result.savingUsd / result.possibleSavingUsd : null;
  result.runsPerCase = result.cases > 0 ? runs / result.cases : 0;
  return result;
}
