/**
 * The best estimate of each hour's price, and where it comes from: `actual`
 * (the hour is complete), `running` (the current hour: its 5-minute prices
 * so far), `day_ahead` (ComEd's day-ahead price), or `forecast`: beyond the
 * day-ahead horizon, what history says. Pure: prices and the time in,
 * estimates out.
 *
 * The forecast is kept simple enough to explain in a sentence: the median
 * price of the same hour of the week over the last weeks (a Chicago
 * wall-clock hour, so DST does not shift it), scaled by how the recent hours
 * (the last three days and every day-ahead hour known) compare with that
 * profile. Each estimate carries a band, from the errors the same estimates
 * made on the stored history (forecast-backtest.ts).
 */
import { CHICAGO_TIME_ZONE, wallClockAt } from '../time/wall-clock.js';
import { HOUR_MS, hourEndingOf } from './comed-clock.js';

export type EstimateSource = 'actual' | 'running' | 'day_ahead' | 'forecast';

export interface HourEstimate {
  hourEndingMs: number;
  priceCentsPerKwh: number;
  source: EstimateSource;
  /** The band the price is expected in (about 80 % of hours, from the measured errors), cents per kWh. */
  lowCents: number;
  highCents: number;
}

/** Residuals (actual minus estimate) the estimates of a source left on history, cents per kWh. */
export interface ErrorBand {
  /** About the 10th percentile of actual minus estimate (negative: the price came in lower). */
  low: number;
  /** About the 90th percentile. */
  high: number;
}

export type ForecastErrors = Record<'day_ahead' | 'forecast', ErrorBand>;

/** Until history has measured them: a day-ahead price is usually within a cent or so, a forecast within a few. */
export const DEFAULT_FORECAST_ERRORS: ForecastErrors = {
  day_ahead: { low: -1.5, high: 1.5 },
  forecast: { low: -2.5, high: 3.5 },
};

export interface ForecastInputs {
  nowMs: number;
  /** Hourly averages of complete hours, by hour ending: at least the last few weeks for the profile. */
  hourly: ReadonlyMap<number, number>;
  /** The current hour's average so far, and how many of its twelve prices are in. */
  running?: { hourEndingMs: number; priceCentsPerKwh: number; count: number } | undefined;
  /** Day-ahead prices by hour ending. */
  dayAhead: ReadonlyMap<number, number>;
  errors?: ForecastErrors;
  /** How many weeks of the same hour make the profile. Default 4. */
  profileWeeks?: number;
}

const RECENT_MS = 72 * HOUR_MS;
/** The recent level may move the profile this far, no further: a freak day must not double the next week. */
const LEVEL_BOUNDS = [0.5, 2] as const;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const hourOfWeekMemo = new Map<number, number>();
/** A year and a half of hours; past that the memo starts over rather than grow without bound. */
const MEMO_LIMIT = 13_000;

/** Chicago hour of the week (0 = Sunday 00:00-01:00) of the hour ending `hourEndingMs`. */
export function hourOfWeek(hourEndingMs: number): number {
  let key = hourOfWeekMemo.get(hourEndingMs);
  if (key === undefined) {
    const local = wallClockAt(hourEndingMs - HOUR_MS, CHICAGO_TIME_ZONE);
    key = local.weekday * 24 + local.hour;
    if (hourOfWeekMemo.size >= MEMO_LIMIT) hourOfWeekMemo.clear();
    hourOfWeekMemo.set(hourEndingMs, key);
  }
  return key;
}

export interface PriceModel {
  /** The forecast for an hour beyond what is known; undefined when history holds nothing to go on. */
  forecast(hourEndingMs: number): number | undefined;
  /** The factor the recent hours put on the profile (1: as usual). */
  level: number;
}

/**
 * The hour-of-week profile of the history before `nowMs` and its recent
 * level, known at `nowMs`: only hours that ended by then count, and the
 * day-ahead prices passed in (the caller passes only those published by then).
 */
export function priceModel(inputs: Omit<ForecastInputs, 'errors' | 'running'>): PriceModel {
  const weeks = inputs.profileWeeks ?? 4;
  const groups = new Map<number, { hourEndingMs: number; cents: number }[]>();
  for (const [hourEndingMs, cents] of inputs.hourly) {
    if (hourEndingMs > inputs.nowMs) continue;
    const key = hourOfWeek(hourEndingMs);
    const group = groups.get(key);
    if (group) group.push({ hourEndingMs, cents });
    else groups.set(key, [{ hourEndingMs, cents }]);
  }
  const profile = new Map<number, number>();
  for (const [key, group] of groups) {
    const latest = group.sort((a, b) => b.hourEndingMs - a.hourEndingMs).slice(0, weeks);
    profile.set(key, median(latest.map((entry) => entry.cents)));
  }
  // The recent level: known prices of the last three days and every day-ahead hour, against the profile.
  let known = 0;
  let expected = 0;
  const consider = (hourEndingMs: number, cents: number) => {
    const usual = profile.get(hourOfWeek(hourEndingMs));
    if (usual === undefined) return;
    known += cents;
    expected += usual;
  };
  for (const [hourEndingMs, cents] of inputs.hourly) {
    if (hourEndingMs <= inputs.nowMs && hourEndingMs > inputs.nowMs - RECENT_MS) consider(hourEndingMs, cents);
  }
  for (const [hourEndingMs, cents] of inputs.dayAhead) {
    if (hourEndingMs > inputs.nowMs) consider(hourEndingMs, cents);
  }
  const ratio = expected > 0 && known > 0 ? known / expected : 1;
  const level = Math.min(LEVEL_BOUNDS[1], Math.max(LEVEL_BOUNDS[0], ratio));
  let fallback: number | undefined;
  const recent = [...inputs.hourly].filter(([hourEndingMs]) => hourEndingMs <= inputs.nowMs).slice(-72);
  if (recent.length > 0) fallback = recent.reduce((sum, [, cents]) => sum + cents, 0) / recent.length;
  return {
    level,
    forecast(hourEndingMs) {
      const usual = profile.get(hourOfWeek(hourEndingMs));
      return usual === undefined ? fallback : usual * level;
    },
  };
}

/**
 * The estimate of every hour ending in (fromMs, toMs]: actual for hours over
 * by `nowMs` (when stored), running for the current one, day-ahead where
 * ComEd published one, the forecast otherwise. An hour with nothing at all to
 * go on (no history yet) is left out.
 */
export function forecastHours(inputs: ForecastInputs, fromMs: number, toMs: number): HourEstimate[] {
  const errors = inputs.errors ?? DEFAULT_FORECAST_ERRORS;
  const model = priceModel(inputs);
  const currentHourEnding = hourEndingOf(inputs.nowMs);
  const estimates: HourEstimate[] = [];
  for (let hourEndingMs = hourEndingOf(fromMs); hourEndingMs <= toMs; hourEndingMs += HOUR_MS) {
    const band = (price: number, source: EstimateSource, error: ErrorBand, scale = 1): HourEstimate => ({
      hourEndingMs,
      priceCentsPerKwh: price,
      source,
      lowCents: price + error.low * scale,
      highCents: price + error.high * scale,
    });
    if (hourEndingMs < currentHourEnding) {
      const actual = inputs.hourly.get(hourEndingMs);
      if (actual !== undefined) estimates.push(band(actual, 'actual', { low: 0, high: 0 }));
      continue;
    }
    const dayAhead = inputs.dayAhead.get(hourEndingMs);
    if (hourEndingMs === currentHourEnding && inputs.running && inputs.running.hourEndingMs === hourEndingMs) {
      // What is left of the hour can still move its average: the band shrinks as its prices come in.
      const remaining = Math.max(0, 12 - inputs.running.count) / 12;
      const error = dayAhead === undefined ? errors.forecast : errors.day_ahead;
      estimates.push(band(inputs.running.priceCentsPerKwh, 'running', error, remaining));
      continue;
    }
    if (dayAhead !== undefined) {
      estimates.push(band(dayAhead, 'day_ahead', errors.day_ahead));
      continue;
    }
    const forecast = model.forecast(hourEndingMs);
    if (forecast !== undefined) estimates.push(band(forecast, 'forecast', errors.forecast));
  }
  return estimates;
}

/**
 * How far one 5-minute price strays from the level of its hour, cents per kWh
 * (about one standard deviation). ComEd's recorded 5-minute prices sit a half
 * cent from their hour's average in the median hour (the DST-day recordings in
 * tests/fixtures/comed), several cents in an hour with a spike: one cent
 * weighs the hour's first prices against its day-ahead price without letting
 * one print decide.
 */
export const INTERVAL_SPREAD_CENTS = 1;

/** The errors of an estimate as one standard deviation: a normal's 10th to 90th percentiles are 2.56 of them apart. */
function spreadOf(error: ErrorBand): number {
  return Math.max(0.05, (error.high - error.low) / 2.563);
}

/**
 * The expected average of the running hour, what it will be billed at: the
 * prices in so far, and for the rest of the hour its prior (day-ahead price or
 * forecast) moved toward the level those prices show, as far as they outweigh
 * the prior's measured error (each 5-minute price is the hour's level give or
 * take the intervals' spread; the prior is off by its band). The prices' lead
 * over the prior counts up to three times the band and the spread together:
 * a 5-minute spike is one interval, not the hour's level, while a night gone
 * below zero is. Without a prior, the prices so far are all there is.
 */
export function expectedHourAverage(
  running: { priceCentsPerKwh: number; count: number },
  prior: number | undefined,
  error: ErrorBand,
  intervalSpreadCents = INTERVAL_SPREAD_CENTS,
): number {
  const count = Math.min(12, Math.max(0, running.count));
  if (prior === undefined || count >= 12) return running.priceCentsPerKwh;
  if (count === 0) return prior;
  const priorVariance = spreadOf(error) ** 2;
  const weight = (count * priorVariance) / (count * priorVariance + intervalSpreadCents ** 2);
  const bound = (side: number) => 3 * (Math.abs(side) + intervalSpreadCents);
  const deviation = Math.min(bound(error.high), Math.max(-bound(error.low), running.priceCentsPerKwh - prior));
  const rest = prior + weight * deviation;
  return (count * running.priceCentsPerKwh + (12 - count) * rest) / 12;
}

/**
 * The estimates as the charge planner wants them (charge-plan.ts): those of
 * forecastHours, except that the running hour is priced at what it is
 * expected to be billed (expectedHourAverage), not at its prices so far.
 */
export function planningHours(
  inputs: ForecastInputs,
  fromMs: number,
  toMs: number,
  intervalSpreadCents = INTERVAL_SPREAD_CENTS,
): HourEstimate[] {
  return withRunningHour(
    forecastHours({ ...inputs, running: undefined }, fromMs, toMs),
    inputs.running,
    inputs.errors ?? DEFAULT_FORECAST_ERRORS,
    intervalSpreadCents,
  );
}

/**
 * Estimates made without the running hour's prices, with that hour repriced
 * by them (expectedHourAverage) and its band narrowed to what is left of it.
 */
export function withRunningHour(
  estimates: readonly HourEstimate[],
  running: ForecastInputs['running'],
  errors: ForecastErrors = DEFAULT_FORECAST_ERRORS,
  intervalSpreadCents = INTERVAL_SPREAD_CENTS,
): HourEstimate[] {
  if (!running || running.count <= 0) return [...estimates];
  const result = estimates.map((estimate) => {
    if (estimate.hourEndingMs !== running.hourEndingMs || estimate.source === 'actual') return estimate;
    const error = estimate.source === 'day_ahead' ? errors.day_ahead : errors.forecast;
    const price = expectedHourAverage(running, estimate.priceCentsPerKwh, error, intervalSpreadCents);
    const remaining = Math.max(0, 12 - running.count) / 12;
    return {
      hourEndingMs: estimate.hourEndingMs,
      priceCentsPerKwh: price,
      source: 'running' as const,
      lowCents: price + error.low * remaining,
      highCents: price + error.high * remaining,
    };
  });
  if (!result.some((estimate) => estimate.hourEndingMs === running.hourEndingMs)) {
    const price = running.priceCentsPerKwh;
    const remaining = Math.max(0, 12 - running.count) / 12;
    result.push({
      hourEndingMs: running.hourEndingMs,
      priceCentsPerKwh: price,
      source: 'running',
      lowCents: price + errors.forecast.low * remaining,
      highCents: price + errors.forecast.high * remaining,
    });
    result.sort((a, b) => a.hourEndingMs - b.hourEndingMs);
  }
  return result;
}

/**
 * How far 5-minute prices stray from their hour's average, measured: the
 * median distance over the complete hours of `fiveMinute` (prices by stamp)
 * in [fromMs, toMs), as a standard deviation (a normal's is 1.48 median
 * distances; the median keeps spikes from widening it); undefined without a
 * complete hour.
 */
export function measuredIntervalSpread(
  fiveMinute: ReadonlyMap<number, number>,
  fromMs: number,
  toMs: number,
): number | undefined {
  const distances: number[] = [];
  for (let hourEndingMs = hourEndingOf(fromMs); hourEndingMs <= toMs; hourEndingMs += HOUR_MS) {
    const prices: number[] = [];
    for (let stampMs = hourEndingMs - HOUR_MS; stampMs < hourEndingMs; stampMs += HOUR_MS / 12) {
      const price = fiveMinute.get(stampMs);
      if (price !== undefined) prices.push(price);
    }
    if (prices.length < 12) continue;
    const average = prices.reduce((sum, price) => sum + price, 0) / prices.length;
    for (const price of prices) distances.push(Math.abs(price - average));
  }
  return distances.length > 0 ? median(distances) * 1.4826 : undefined;
}
