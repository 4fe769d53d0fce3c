import type { Logger } from '../logger.js';
import { createRedisConnection } from '../redis-connection.js';
import type { PricePoint } from './comed-parse.js';
import { hourEndingFor } from './intervals.js';
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
  five_minute: { time: string; price_cents_kwh: number } | null;
  hour_average: { time: string; hour_ending: string; price_cents_kwh: number } | null;
  /** The stamp of the latest 5-minute price; the feed is stale when it is older than 15 minutes. */
  feed_time: string | null;
  stale: boolean;
  updated: string;
}

export function currentPrice(
  latest: PricePoint | undefined,
  average: PricePoint | undefined,
  nowMs: number,
): CurrentPrice {
  return {
    five_minute: latest
      ? { time: new Date(latest.timeMs).toISOString(), price_cents_kwh: latest.priceCentsPerKwh }
      : null,
    hour_average: average
      ? {
          time: new Date(average.timeMs).toISOString(),
          hour_ending: new Date(hourEndingFor(average.timeMs)).toISOString(),
          price_cents_kwh: average.priceCentsPerKwh,
        }
      : null,
    feed_time: latest ? new Date(latest.timeMs).toISOString() : null,
    stale: isPriceStale(latest?.timeMs, nowMs),
    updated: new Date(nowMs).toISOString(),
  };
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
