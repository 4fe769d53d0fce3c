/**
 * The forecast of the hours ahead, as the comed-poller publishes it: to Redis
 * for the API, the Home Assistant bridge and the WebSocket (contracts/redis.ts
 * PriceForecast), and to InfluxDB for Grafana. Recomputed when a price or
 * the day-ahead curve arrives, at most every few minutes; the error bands
 * come from a daily backtest of the same estimates on the stored history.
 */
import type { CurrentPrice } from '@twc/core/contracts/redis';
import { FIVE_MINUTES_MS, HOUR_MS } from '@twc/core/prices/comed-clock';
import type { ForecastErrors } from '@twc/core/prices/forecast';
import { accuracyPoint, backtestForwardPrices, measuredErrors } from '@twc/core/prices/forecast-backtest';
import {
  FORECAST_HORIZON_HOURS,
  forecastPoints,
  type NightSettings,
  nightOf,
  priceForecastSnapshot,
} from '@twc/core/prices/forecast-snapshot';
import { CHICAGO_TIME_ZONE, utcInstantsForWallClock, wallClockAt } from '@twc/core/time/wall-clock';
import type { InfluxWriter } from '@twc/runtime/influx-writer';
import type { Logger } from '@twc/runtime/logger';
import type { PriceState } from './redis-price-state.js';

const DAY_MS = 24 * HOUR_MS;
/** The hour-of-week profile takes four weeks; the recent level three days more. */
const PROFILE_HISTORY_MS = 29 * DAY_MS;
/** The backtest scores the four weeks before today, each day on the four weeks before it. */
const BACKTEST_DAYS = 28;
/** An hour with fewer 5-minute prices than this is not part of the profile. */
const MIN_PRICES_PER_HOUR = 9;
const REFRESH_EVERY_MS = 5 * 60_000;

export interface ForecastPublisherOptions {
  writer: InfluxWriter;
  bucket: string;
  state: Pick<PriceState, 'saveForecast'>;
  logger: Logger;
  night: NightSettings;
  /** Stored hourly prices of the hours ending in (fromMs, toMs]. */
  knownHours(fromMs: number, toMs: number): Promise<{ hourEndingMs: number; count: number; avgPrice: number }[]>;
  /** Stored day-ahead prices of the hours ending in (fromMs, toMs]. */
  storedDayAhead(fromMs: number, toMs: number): Promise<Map<number, number>>;
  now?: () => number;
}

export interface ForecastPublisherStats {
  refreshes: number;
  failedRefreshes: number;
  /** When the forecast in Redis was computed; null before the first. */
  lastRefresh: string | null;
  /** Days the bands were measured on (0: the defaults). */
  measuredDays: number;
  errors: ForecastErrors | null;
}

export interface ForecastPublisher {
  /** Recomputes and publishes when due: `force` after new day-ahead prices, otherwise every few minutes or on a new hour. */
  refresh(current: CurrentPrice | undefined, force?: boolean): Promise<void>;
  /** Backtests the last four weeks, stores the figures and takes the bands from them. */
  measureAccuracy(): Promise<void>;
  stats(): ForecastPublisherStats;
}

function chicagoMidnightOf(timeMs: number): number {
  const { year, month, day } = wallClockAt(timeMs, CHICAGO_TIME_ZONE);
  return utcInstantsForWallClock({ year, month, day, hour: 0, minute: 0 }, CHICAGO_TIME_ZONE)[0] as number;
}

export function createForecastPublisher(options: ForecastPublisherOptions): ForecastPublisher {
  const now = options.now ?? Date.now;
  const log = options.logger.child({ module: 'forecast' });
  let errors: ForecastErrors | undefined;
  let measuredDays = 0;
  let lastRefreshMs: number | undefined;
  /** New bands were measured: the next refresh carries them. */
  let bandsChanged = false;
  let failing = false;
  const counters = { refreshes: 0, failedRefreshes: 0 };

  async function hourlyMap(fromMs: number, toMs: number): Promise<Map<number, number>> {
    const hours = await options.knownHours(fromMs, toMs);
    return new Map(
      hours.filter((hour) => hour.count >= MIN_PRICES_PER_HOUR).map((hour) => [hour.hourEndingMs, hour.avgPrice]),
    );
  }

  async function publish(current: CurrentPrice | undefined): Promise<void> {
    const nowMs = now();
    const [hourly, dayAhead] = await Promise.all([
      hourlyMap(nowMs - PROFILE_HISTORY_MS, nowMs),
      options.storedDayAhead(nowMs - 3 * DAY_MS, nowMs + (FORECAST_HORIZON_HOURS + 1) * HOUR_MS),
    ]);
    const average = current?.hour_average;
    const running = average
      ? {
          hourEndingMs: Date.parse(average.hour_ending),
          priceCentsPerKwh: average.price_cents_kwh,
          // The newest price in it is stamped `time`: that many of the hour's twelve are in.
          count:
            Math.floor((Date.parse(average.time) - (Date.parse(average.hour_ending) - HOUR_MS)) / FIVE_MINUTES_MS) + 1,
        }
      : undefined;
    const feedTime = current?.feed_time;
    const snapshot = priceForecastSnapshot(
      {
        nowMs,
        hourly,
        dayAhead,
        running,
        errors,
        feedTimeMs: feedTime ? Date.parse(feedTime) : undefined,
        measuredDays,
      },
      options.night,
    );
    if (!(await options.state.saveForecast(snapshot))) throw new Error('Redis did not take the forecast');
    // One point per night, rewritten until the night is over: stamped with the night's start.
    options.writer.write(options.bucket, 'durable', forecastPoints(snapshot, nightOf(nowMs, options.night).startMs));
    lastRefreshMs = nowMs;
  }

  return {
    async refresh(current, force = false) {
      const nowMs = now();
      const due =
        force ||
        bandsChanged ||
        lastRefreshMs === undefined ||
        nowMs - lastRefreshMs >= REFRESH_EVERY_MS ||
        Math.floor(nowMs / HOUR_MS) !== Math.floor(lastRefreshMs / HOUR_MS);
      if (!due) return;
      counters.refreshes++;
      try {
        await publish(current);
        bandsChanged = false;
        if (failing) log.info('price forecast published again');
        failing = false;
      } catch (error) {
        counters.failedRefreshes++;
        if (!failing) log.warn({ err: (error as Error).message }, 'could not publish the price forecast; will retry');
        failing = true;
      }
    },
    async measureAccuracy() {
      const toMs = chicagoMidnightOf(now());
      const fromMs = chicagoMidnightOf(toMs - BACKTEST_DAYS * DAY_MS + 12 * HOUR_MS);
      const historyFromMs = fromMs - PROFILE_HISTORY_MS - DAY_MS;
      const [hourly, dayAhead] = await Promise.all([
        hourlyMap(historyFromMs, toMs + 2 * DAY_MS),
        options.storedDayAhead(historyFromMs, toMs + 2 * DAY_MS),
      ]);
      const result = backtestForwardPrices({ hourly, dayAhead, fromMs, toMs });
      options.writer.write(options.bucket, 'durable', [accuracyPoint(result, toMs)]);
      const measured = measuredErrors(result);
      if (measured) {
        errors = measured;
        measuredDays = result.days;
      }
      log.info(
        {
          days: result.days,
          dayAheadMae: result.dayAhead.mae,
          forecastMae: result.forecast.mae,
          flatMae: result.flat.mae,
          overnightCaptured: result.overnight.withDayAhead.capturedShare,
          bands: measured ? 'measured' : 'defaults (under a week of history)',
        },
        'forward prices backtested on the last four weeks',
      );
      bandsChanged = measured !== undefined;
    },
    stats: () => ({
      ...counters,
      lastRefresh: lastRefreshMs === undefined ? null : new Date(lastRefreshMs).toISOString(),
      measuredDays,
      errors: errors ?? null,
    }),
  };
}
