/**
 * How good the forward prices are, measured on history with only what was
 * known at each decision time. Pure.
 *
 * For each Chicago day D of the range:
 * - the day-ahead price of each hour of D against its real-time average;
 * - the forecast of each hour of D as it would have been made at 12:00 the
 *   day before (before D's day-ahead prices are published at 16:30), from
 *   the hourly prices and day-ahead prices known then;
 * - a flat guess, the mean of the 168 hours before that decision, as the baseline
 *   any estimate must beat;
 * - what matters for charging: a car plugged in on D needing the cheapest N
 *   hours between 18:00 and 07:00. Choosing them by the estimates (decided at
 *   18:00 with both nights' day-ahead prices; or at 12:00 with tomorrow's
 *   hours only forecast) against the hindsight-best choice and against
 *   charging at once: the regret in cents per kWh and the share of the
 *   possible saving captured.
 */
import type { PointData } from '../contracts/influx-schema.js';
import { CHICAGO_TIME_ZONE, utcInstantsForWallClock, wallClockAt } from '../time/wall-clock.js';
import { HOUR_MS } from './comed-clock.js';
import { type ErrorBand, type ForecastErrors, priceModel } from './forecast.js';

export interface BacktestInputs {
  /** Real-time hourly averages by hour ending. */
  hourly: ReadonlyMap<number, number>;
  /** Day-ahead prices by hour ending. */
  dayAhead: ReadonlyMap<number, number>;
  /** The Chicago days evaluated start in [fromMs, toMs). */
  fromMs: number;
  toMs: number;
  /** Hours to charge in the overnight case. Default 4. */
  chargeHours?: number;
}

export interface AccuracyFigures {
  hours: number;
  /** Mean absolute error, cents per kWh; null without hours. */
  mae: number | null;
  /** Mean of actual minus estimate. */
  bias: number | null;
  /** The 10th and 90th percentiles of actual minus estimate: the band estimates carry. */
  errors: ErrorBand | null;
}

export interface RegretFigures {
  cases: number;
  /** Chosen by the estimates, minus the hindsight best, cents per kWh (0 is perfect). */
  regretCentsPerKwh: number | null;
  /** Charging at once, minus the hindsight best: what there was to save, cents per kWh. */
  possibleSavingCentsPerKwh: number | null;
  /** The part of the possible saving the estimates captured (1 is perfect). */
  capturedShare: number | null;
}

export interface BacktestResult {
  days: number;
  dayAhead: AccuracyFigures;
  forecast: AccuracyFigures;
  flat: AccuracyFigures;
  overnight: { withDayAhead: RegretFigures; forecastOnly: RegretFigures };
}

interface LocalDate {
  year: number;
  month: number;
  day: number;
}

function localMidnight(date: LocalDate): number {
  const [instant] = utcInstantsForWallClock({ ...date, hour: 0, minute: 0 }, CHICAGO_TIME_ZONE);
  return instant as number;
}

function addDays(date: LocalDate, days: number): LocalDate {
  const next = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate() };
}

/** The instant of `hour`:00 local time on `date` (the later one where the fall-back hour repeats). */
function localTime(date: LocalDate, hour: number): number {
  return utcInstantsForWallClock({ ...date, hour, minute: 0 }, CHICAGO_TIME_ZONE).at(-1) as number;
}

function quantile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return (sorted[low] as number) + ((sorted[high] as number) - (sorted[low] as number)) * (position - low);
}

function accuracy(residuals: readonly number[]): AccuracyFigures {
  if (residuals.length === 0) return { hours: 0, mae: null, bias: null, errors: null };
  const sorted = [...residuals].sort((a, b) => a - b);
  return {
    hours: residuals.length,
    mae: residuals.reduce((sum, r) => sum + Math.abs(r), 0) / residuals.length,
    bias: residuals.reduce((sum, r) => sum + r, 0) / residuals.length,
    errors: { low: quantile(sorted, 0.1), high: quantile(sorted, 0.9) },
  };
}

function regret(cases: readonly { chosen: number; best: number; now: number }[]): RegretFigures {
  if (cases.length === 0)
    return { cases: 0, regretCentsPerKwh: null, possibleSavingCentsPerKwh: null, capturedShare: null };
  const mean = (pick: (c: { chosen: number; best: number; now: number }) => number) =>
    cases.reduce((sum, c) => sum + pick(c), 0) / cases.length;
  const regretCents = mean((c) => c.chosen - c.best);
  const possible = mean((c) => c.now - c.best);
  return {
    cases: cases.length,
    regretCentsPerKwh: regretCents,
    possibleSavingCentsPerKwh: possible,
    capturedShare: possible > 0 ? (possible - regretCents) / possible : null,
  };
}

const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

const publishedByDay = new Map<string, number>();

/**
 * When ComEd published the day-ahead price of the hour ending `hourEndingMs`:
 * 16:30 Chicago time the day before the hour's local day. (A backtest may
 * use a day-ahead price only from then on.)
 */
export function dayAheadPublishedMs(hourEndingMs: number): number {
  const local = wallClockAt(hourEndingMs - HOUR_MS, CHICAGO_TIME_ZONE);
  const key = `${local.year}-${local.month}-${local.day}`;
  let published = publishedByDay.get(key);
  if (published === undefined) {
    if (publishedByDay.size > 5000) publishedByDay.clear();
    published = localTime(addDays(local, -1), 16) + 30 * 60_000;
    publishedByDay.set(key, published);
  }
  return published;
}

/** The `n` hours with the lowest estimate (earliest first among equals), by hour ending. */
export function cheapestHours(estimates: ReadonlyMap<number, number>, n: number): number[] {
  return [...estimates]
    .sort(([ha, a], [hb, b]) => a - b || ha - hb)
    .slice(0, n)
    .map(([hourEndingMs]) => hourEndingMs);
}

/**
 * Only what was known at `decisionMs`: the model ignores hours that ended
 * later by itself; of the day-ahead prices, those of the next two days that
 * were published by then (a day's are published at 16:30 the day before).
 */
function knownAt(inputs: BacktestInputs, decisionMs: number, publishedMs: (hourEndingMs: number) => number) {
  const dayAhead = new Map<number, number>();
  for (
    let hourEndingMs = Math.floor(decisionMs / HOUR_MS) * HOUR_MS;
    hourEndingMs <= decisionMs + 48 * HOUR_MS;
    hourEndingMs += HOUR_MS
  ) {
    const price = inputs.dayAhead.get(hourEndingMs);
    if (price !== undefined && publishedMs(hourEndingMs) <= decisionMs) dayAhead.set(hourEndingMs, price);
  }
  return { hourly: inputs.hourly, dayAhead };
}

export function backtestForwardPrices(inputs: BacktestInputs): BacktestResult {
  const chargeHours = inputs.chargeHours ?? 4;
  const residuals = { dayAhead: [] as number[], forecast: [] as number[], flat: [] as number[] };
  const overnight = {
    withDayAhead: [] as { chosen: number; best: number; now: number }[],
    forecastOnly: [] as { chosen: number; best: number; now: number }[],
  };
  let days = 0;
  const publishedMs = dayAheadPublishedMs;
  const first = wallClockAt(inputs.fromMs, CHICAGO_TIME_ZONE);
  for (let date: LocalDate = first; localMidnight(date) < inputs.toMs; date = addDays(date, 1)) {
    const dayStart = localMidnight(date);
    if (dayStart < inputs.fromMs) continue;
    const dayEnd = localMidnight(addDays(date, 1));
    days++;
    const hours: number[] = [];
    for (let hourEndingMs = dayStart + HOUR_MS; hourEndingMs <= dayEnd; hourEndingMs += HOUR_MS)
      hours.push(hourEndingMs);

    // Accuracy over the day's hours.
    const noonBefore = localTime(addDays(date, -1), 12);
    const known = knownAt(inputs, noonBefore, publishedMs);
    const model = priceModel({ nowMs: noonBefore, hourly: known.hourly, dayAhead: known.dayAhead });
    const week: number[] = [];
    for (let hourEndingMs = noonBefore - 167 * HOUR_MS; hourEndingMs <= noonBefore; hourEndingMs += HOUR_MS) {
      const cents = inputs.hourly.get(hourEndingMs);
      if (cents !== undefined) week.push(cents);
    }
    const flat = week.length > 0 ? mean(week) : undefined;
    for (const hourEndingMs of hours) {
      const actual = inputs.hourly.get(hourEndingMs);
      if (actual === undefined) continue;
      const dayAhead = inputs.dayAhead.get(hourEndingMs);
      if (dayAhead !== undefined) residuals.dayAhead.push(actual - dayAhead);
      const forecast = model.forecast(hourEndingMs);
      if (forecast !== undefined) residuals.forecast.push(actual - forecast);
      if (flat !== undefined) residuals.flat.push(actual - flat);
    }

    // The overnight charge: 18:00 on D to 07:00 on D+1.
    const windowStart = localTime(date, 18);
    const windowEnd = localTime(addDays(date, 1), 7);
    const window: number[] = [];
    for (let hourEndingMs = windowStart + HOUR_MS; hourEndingMs <= windowEnd; hourEndingMs += HOUR_MS)
      window.push(hourEndingMs);
    if (window.length < chargeHours || window.some((hourEndingMs) => !inputs.hourly.has(hourEndingMs))) continue;
    const actualOf = (hourEndingMs: number) => inputs.hourly.get(hourEndingMs) as number;
    const actuals = new Map(window.map((hourEndingMs) => [hourEndingMs, actualOf(hourEndingMs)]));
    const best = mean(cheapestHours(actuals, chargeHours).map(actualOf));
    const now = mean(window.slice(0, chargeHours).map(actualOf));
    const choose = (decisionMs: number) => {
      const info = knownAt(inputs, decisionMs, publishedMs);
      const estimateModel = priceModel({ nowMs: decisionMs, hourly: info.hourly, dayAhead: info.dayAhead });
      const estimates = new Map<number, number>();
      for (const hourEndingMs of window) {
        const estimate = info.dayAhead.get(hourEndingMs) ?? estimateModel.forecast(hourEndingMs);
        if (estimate !== undefined) estimates.set(hourEndingMs, estimate);
      }
      if (estimates.size < chargeHours) return undefined;
      return mean(cheapestHours(estimates, chargeHours).map(actualOf));
    };
    const withDayAhead = choose(windowStart);
    if (withDayAhead !== undefined) overnight.withDayAhead.push({ chosen: withDayAhead, best, now });
    const forecastOnly = choose(localTime(date, 12));
    if (forecastOnly !== undefined) overnight.forecastOnly.push({ chosen: forecastOnly, best, now });
  }
  return {
    days,
    dayAhead: accuracy(residuals.dayAhead),
    forecast: accuracy(residuals.forecast),
    flat: accuracy(residuals.flat),
    overnight: { withDayAhead: regret(overnight.withDayAhead), forecastOnly: regret(overnight.forecastOnly) },
  };
}

/** The bands the estimates carry, once history holds a week of each; undefined until then. */
export function measuredErrors(result: BacktestResult): ForecastErrors | undefined {
  const week = 7 * 24;
  if (!result.dayAhead.errors || !result.forecast.errors) return undefined;
  if (result.dayAhead.hours < week || result.forecast.hours < week) return undefined;
  return { day_ahead: result.dayAhead.errors, forecast: result.forecast.errors };
}

/** The day's backtest as a point of comed_forecast_accuracy, stamped `timeMs`. */
export function accuracyPoint(result: BacktestResult, timeMs: number): PointData {
  return {
    measurement: 'comed_forecast_accuracy',
    tags: {},
    fields: {
      days: result.days,
      dayahead_mae_cents: result.dayAhead.mae,
      forecast_mae_cents: result.forecast.mae,
      flat_mae_cents: result.flat.mae,
      dayahead_p10_cents: result.dayAhead.errors?.low,
      dayahead_p90_cents: result.dayAhead.errors?.high,
      forecast_p10_cents: result.forecast.errors?.low,
      forecast_p90_cents: result.forecast.errors?.high,
      overnight_captured_share: result.overnight.withDayAhead.capturedShare,
      overnight_regret_cents: result.overnight.withDayAhead.regretCentsPerKwh,
    },
    timeMs,
  };
}
