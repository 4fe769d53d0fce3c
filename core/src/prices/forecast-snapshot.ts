/**
 * The forecast as the comed-poller publishes it (contracts/redis.ts
 * PriceForecast): the next 48 hours with their sources and bands, and the
 * night ahead, its average and its cheapest run of hours. Pure.
 */
import type { PointData } from '../contracts/influx-schema.js';
import type { PriceForecast } from '../contracts/redis.js';
import { CHICAGO_TIME_ZONE, utcInstantsForWallClock, wallClockAt } from '../time/wall-clock.js';
import { cheapestChargeWindow } from './charge-window.js';
import { HOUR_MS, hourEndingOf } from './comed-clock.js';
import {
  DEFAULT_FORECAST_ERRORS,
  type ForecastErrors,
  type ForecastInputs,
  forecastHours,
  type HourEstimate,
} from './forecast.js';
import { isPriceStale } from './price-plan.js';

export interface NightSettings {
  /** Local hour the night starts, 0-23. Default 18. */
  startHour: number;
  /** Local hour it ends (the usual departure), 0-23. Default 7. */
  endHour: number;
  /** Hours of charging the cheapest window is sought for. Default 4. */
  windowHours: number;
}

export const DEFAULT_NIGHT: NightSettings = { startHour: 18, endHour: 7, windowHours: 4 };

export const FORECAST_HORIZON_HOURS = 48;

/** `hour`:00 on a Chicago date; the later instant where the fall-back hour repeats, the next where it is skipped. */
function localHourOn(date: { year: number; month: number; day: number }, hour: number): number {
  const instants = utcInstantsForWallClock({ ...date, hour, minute: 0 }, CHICAGO_TIME_ZONE);
  if (instants.length > 0) return instants.at(-1) as number;
  return utcInstantsForWallClock({ ...date, hour: hour + 1, minute: 0 }, CHICAGO_TIME_ZONE)[0] as number;
}

function addDays(date: { year: number; month: number; day: number }, days: number) {
  const next = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate() };
}

/**
 * The night under way at `nowMs`, or the next one: from its start (or now,
 * when it has begun) until its end, both in Chicago wall-clock hours.
 */
export function tonight(nowMs: number, night: NightSettings = DEFAULT_NIGHT): { fromMs: number; untilMs: number } {
  const { startMs, untilMs } = nightOf(nowMs, night);
  return { fromMs: Math.max(nowMs, startMs), untilMs };
}

/** The night under way at `nowMs`, or the next one, from its start: what its plan is stamped with. */
export function nightOf(nowMs: number, night: NightSettings = DEFAULT_NIGHT): { startMs: number; untilMs: number } {
  const today = wallClockAt(nowMs, CHICAGO_TIME_ZONE);
  const endToday = localHourOn(today, night.endHour);
  const crossesMidnight = night.startHour > night.endHour;
  if (crossesMidnight && nowMs < endToday) {
    return { startMs: localHourOn(addDays(today, -1), night.startHour), untilMs: endToday };
  }
  if (!crossesMidnight && nowMs >= endToday) {
    const tomorrow = addDays(today, 1);
    return { startMs: localHourOn(tomorrow, night.startHour), untilMs: localHourOn(tomorrow, night.endHour) };
  }
  const untilMs = crossesMidnight ? localHourOn(addDays(today, 1), night.endHour) : endToday;
  return { startMs: localHourOn(today, night.startHour), untilMs };
}

const iso = (timeMs: number) => new Date(timeMs).toISOString();

export function priceForecastSnapshot(
  inputs: ForecastInputs & { feedTimeMs: number | undefined; measuredDays: number },
  night: NightSettings = DEFAULT_NIGHT,
): PriceForecast {
  const errors: ForecastErrors = inputs.errors ?? DEFAULT_FORECAST_ERRORS;
  const estimates = forecastHours(inputs, inputs.nowMs, inputs.nowMs + FORECAST_HORIZON_HOURS * HOUR_MS);
  const { fromMs, untilMs } = tonight(inputs.nowMs, night);
  // The night's hours: those ending after it starts, up to the one it ends in.
  const nightHours = estimates.filter(
    (estimate) => estimate.hourEndingMs > fromMs && estimate.hourEndingMs - HOUR_MS < untilMs,
  );
  const nightComplete = nightHours.length >= Math.ceil((untilMs - fromMs) / HOUR_MS);
  const { best } = cheapestChargeWindow(
    { fromMs, beforeMs: untilMs, powerKw: 1, need: { hours: night.windowHours } },
    estimates,
  );
  return {
    computed_at: iso(inputs.nowMs),
    feed_time: inputs.feedTimeMs === undefined ? null : iso(inputs.feedTimeMs),
    hours: estimates.map((estimate) => {
      const dayAhead = inputs.dayAhead.get(estimate.hourEndingMs);
      return {
        hour_ending: iso(estimate.hourEndingMs),
        price_cents_kwh: estimate.priceCentsPerKwh,
        source: estimate.source,
        low_cents_kwh: estimate.lowCents,
        high_cents_kwh: estimate.highCents,
        ...(dayAhead === undefined ? {} : { day_ahead_cents_kwh: dayAhead }),
      };
    }),
    errors: { ...errors, measured_days: inputs.measuredDays },
    tonight: {
      from: iso(fromMs),
      until: iso(untilMs),
      avg_price_cents_kwh:
        nightComplete && nightHours.length > 0
          ? nightHours.reduce((sum, estimate) => sum + estimate.priceCentsPerKwh, 0) / nightHours.length
          : null,
      window: best
        ? {
            start: iso(best.startMs),
            end: iso(best.endMs),
            hours: night.windowHours,
            avg_price_cents_kwh: best.avgPriceCentsPerKwh,
            sources: [...new Set(best.hours.map((hour) => hour.source))],
          }
        : null,
    },
  };
}

/**
 * The snapshot's points for InfluxDB: each hour ahead (day-ahead or
 * forecast) at its hour ending, and tonight's plan at the night's start.
 */
export function forecastPoints(snapshot: PriceForecast, nightStartMs: number): PointData[] {
  const points: PointData[] = snapshot.hours
    .filter((hour) => hour.source === 'day_ahead' || hour.source === 'forecast')
    .map((hour) => ({
      measurement: 'comed_price_forecast',
      tags: {},
      fields: {
        price_cents_kwh: hour.price_cents_kwh,
        low_cents_kwh: hour.low_cents_kwh,
        high_cents_kwh: hour.high_cents_kwh,
        source: hour.source,
      },
      timeMs: Date.parse(hour.hour_ending),
    }));
  const { window } = snapshot.tonight;
  if (window) {
    points.push({
      measurement: 'comed_tonight_window',
      tags: {},
      fields: {
        start_ms: Date.parse(window.start),
        end_ms: Date.parse(window.end),
        hours: window.hours,
        avg_price_cents_kwh: window.avg_price_cents_kwh,
        night_avg_cents_kwh: snapshot.tonight.avg_price_cents_kwh,
      },
      timeMs: nightStartMs,
    });
  }
  return points;
}

/** The poller recomputes every five minutes: a forecast older than this, or on a stalled feed, is stale. */
export const FORECAST_STALE_AFTER_MS = 15 * 60_000;

/** Judged when read: stale when the poller has stopped recomputing it or the price feed behind it has stalled. */
export function isForecastStale(forecast: PriceForecast, nowMs: number): boolean {
  const feedMs = forecast.feed_time === null ? undefined : Date.parse(forecast.feed_time);
  return nowMs - Date.parse(forecast.computed_at) > FORECAST_STALE_AFTER_MS || isPriceStale(feedMs, nowMs);
}

/** The published hours as estimates again (for planning on them), those not over by `nowMs`. */
export function estimatesOf(forecast: PriceForecast, nowMs: number): HourEstimate[] {
  return forecast.hours
    .map((hour) => ({
      hourEndingMs: Date.parse(hour.hour_ending),
      priceCentsPerKwh: hour.price_cents_kwh,
      source: hour.source,
      lowCents: hour.low_cents_kwh,
      highCents: hour.high_cents_kwh,
    }))
    .filter((estimate) => estimate.hourEndingMs > nowMs);
}

/** The forecast with only the current hour and the ones after it, `hours` in all, as of `nowMs`. */
export function forecastAhead(forecast: PriceForecast, nowMs: number, hours: number): PriceForecast {
  const lastEndingMs = hourEndingOf(nowMs) + (hours - 1) * HOUR_MS;
  return {
    ...forecast,
    hours: forecast.hours.filter((hour) => {
      const endingMs = Date.parse(hour.hour_ending);
      return endingMs > nowMs && endingMs <= lastEndingMs;
    }),
  };
}
