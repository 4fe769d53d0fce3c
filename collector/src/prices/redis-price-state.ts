import type { Logger } from '../logger.js';
import { createRedisConnection } from '../redis-connection.js';
import { hourEndingOf } from './comed-clock.js';
import type { PricePoint } from './comed-parse.js';
import { isPriceStale } from './price-plan.js';

/**
 * The current price in Redis, read by the API and the Home Assistant bridge
 * (only the poller calls ComEd).
 *   <prefix>price:current   JSON CurrentPrice
 *   <prefix>price           pub/sub channel, a CurrentPrice on every new price
 */
export const priceKeys = {
  current: (prefix: string) => `${prefix}price:current`,
  channel: (prefix: string) => `${prefix}price`,
};

export interface CurrentPrice {
  /** The latest 5-minute price; `time` is its ComEd stamp, the start of the five minutes it prices. */
  five_minute: { time: string; price_cents_kwh: number } | null;
  /** The running average of the hour ending `hour_ending`; `time` is the stamp of the newest price in it. */
  hour_average: { time: string; hour_ending: string; price_cents_kwh: number } | null;
  /** The stamp of the latest 5-minute price; the feed is stale when it is older than 15 minutes. */
  feed_time: string | null;
  stale: boolean;
  updated: string;
}

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

export interface PriceState {
  /** Waits up to `timeoutMs` for the connection; false when Redis is not there. */
  ready(timeoutMs: number): Promise<boolean>;
  /** Stores the current price; publishes it when `announce` (a new price arrived). */
  save(price: CurrentPrice, announce: boolean): Promise<void>;
  stop(): Promise<void>;
}

export function createRedisPriceState(options: { url: string; keyPrefix: string; logger: Logger }): PriceState {
  const { keyPrefix: prefix } = options;
  const connection = createRedisConnection({
    url: options.url,
    logger: options.logger,
    purpose: 'the current price cache',
  });
  return {
    ready: (timeoutMs) => connection.ready(timeoutMs),
    async save(price, announce) {
      const body = JSON.stringify(price);
      await connection.run((redis) => {
        const batch = redis.multi().set(priceKeys.current(prefix), body);
        if (announce) batch.publish(priceKeys.channel(prefix), body);
        return batch.exec();
      });
    },
    stop: () => connection.close(),
  };
}
