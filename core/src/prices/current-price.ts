/**
 * The current price as the services show it: the latest 5-minute price and
 * the running average of its hour, judged stale by the age of the price.
 */
import type { CurrentPrice } from '../contracts/redis.js';
import { hourEndingOf } from './comed-clock.js';
import type { PricePoint } from './comed-parse.js';
import { isPriceStale } from './price-plan.js';

/** A running hour average: ComEd's `currenthouraverage`, stamped with the newest 5-minute price it holds. */
export interface RunningAverage extends PricePoint {
  hourEndingMs: number;
}

/** ComEd's `currenthouraverage` answer as a running average of the hour its newest price belongs to. */
export function runningAverageOf(answer: PricePoint): RunningAverage {
  return { ...answer, hourEndingMs: hourEndingOf(answer.timeMs) };
}

export function currentPrice(
  latest: PricePoint | undefined,
  average: RunningAverage | undefined,
  nowMs: number,
): CurrentPrice {
  return {
    five_minute: latest
      ? { time: new Date(latest.timeMs).toISOString(), price_cents_kwh: latest.priceCentsPerKwh }
      : null,
    hour_average: average
      ? {
          time: new Date(average.timeMs).toISOString(),
          hour_ending: new Date(average.hourEndingMs).toISOString(),
          price_cents_kwh: average.priceCentsPerKwh,
        }
      : null,
    feed_time: latest ? new Date(latest.timeMs).toISOString() : null,
    stale: isPriceStale(latest?.timeMs, nowMs),
    updated: new Date(nowMs).toISOString(),
  };
}

/**
 * The running hour average when it averages the hour the latest 5-minute
 * price belongs to; undefined when it is of an earlier hour (the average
 * could not be fetched since), so nobody shows last hour's figure as this
 * hour's.
 */
export function currentHourAverage(price: CurrentPrice): CurrentPrice['hour_average'] {
  if (!price.hour_average || !price.five_minute) return price.hour_average;
  const latestHourEnding = hourEndingOf(Date.parse(price.five_minute.time));
  return Date.parse(price.hour_average.hour_ending) === latestHourEnding ? price.hour_average : null;
}
