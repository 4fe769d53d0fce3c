import { type CurrentPrice, type PriceForecast, priceKeys } from '@twc/core/contracts/redis';
import type { Logger } from '@twc/runtime/logger';
import { createRedisConnection } from '@twc/runtime/redis-connection';

/**
 * The current price in Redis (contracts/redis.ts), written by the poller and
 * read by the API and the Home Assistant bridge: only the poller calls ComEd.
 */
export interface PriceState {
  /** Waits up to `timeoutMs` for the connection; false when Redis is not there. */
  ready(timeoutMs: number): Promise<boolean>;
  /** Stores the current price; publishes it when `announce` (a new price arrived). False when Redis did not take it. */
  save(price: CurrentPrice, announce: boolean): Promise<boolean>;
  /** Stores the forecast of the hours ahead and announces it. False when Redis did not take it. */
  saveForecast(forecast: PriceForecast): Promise<boolean>;
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
      const result = await connection.run((redis) => {
        const batch = redis.multi().set(priceKeys.current(prefix), body);
        if (announce) batch.publish(priceKeys.channel(prefix), body);
        return batch.exec();
      });
      return result !== undefined;
    },
    async saveForecast(forecast) {
      const body = JSON.stringify(forecast);
      const result = await connection.run((redis) =>
        redis.multi().set(priceKeys.forecast(prefix), body).publish(priceKeys.forecastChannel(prefix), body).exec(),
      );
      return result !== undefined;
    },
    stop: () => connection.close(),
  };
}
