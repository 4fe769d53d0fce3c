import { InfluxDB } from '@influxdata/influxdb-client';
import type { Logger } from '../logger.js';
import { createSpoolingWriter } from '../storage/influx-writer.js';
import { createComedClient } from './comed-client.js';
import type { PricePollerConfig } from './poller-config.js';
import { createPricePoller, type PricePoller } from './price-poller.js';
import { createRedisPriceState } from './redis-price-state.js';

export interface PricePollerService {
  readonly poller: PricePoller;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Wires the ComEd client, the spooling writer, Redis and InfluxDB queries around the poller. */
export function createPricePollerService(
  config: PricePollerConfig,
  logger: Logger,
  options: { now?: () => number } = {},
): PricePollerService {
  const client = createComedClient({ ...config.comed, logger });
  const writer = createSpoolingWriter({ influx: config.influx, spool: config.spool, logger });
  const state = createRedisPriceState({ ...config.redis, logger: logger.child({ module: 'redis-price-state' }) });
  const queryApi = new InfluxDB({ url: config.influx.url, token: config.influx.token, timeout: 30_000 }).getQueryApi(
    config.influx.org,
  );
  const poller = createPricePoller({
    client,
    writer,
    bucket: config.influx.bucket,
    state,
    logger,
    pollIntervalMs: config.pollIntervalMs,
    backfillDays: config.backfillDays,
    progressFile: config.progressFile,
    now: options.now,
    async knownHours(fromMs, toMs) {
      const rows = await queryApi.collectRows<{ _time: string; _value: number }>(
        `from(bucket: ${JSON.stringify(config.influx.bucket)})
          |> range(start: time(v: ${JSON.stringify(new Date(fromMs + 1).toISOString())}), stop: time(v: ${JSON.stringify(new Date(toMs + 1).toISOString())}))
          |> filter(fn: (r) => r._measurement == "comed_price_hourly" and r._field == "count")
          |> keep(columns: ["_time", "_value"])`,
      );
      return rows.map((row) => ({ hourEndingMs: Date.parse(row._time), count: row._value }));
    },
  });
  return {
    poller,
    async start() {
      writer.start();
      // The first price goes to Redis at once: give the connection a moment (it is not required).
      await state.ready(5000);
      poller.start();
      logger.info({ api: config.comed.baseUrl, backfillDays: config.backfillDays }, 'comed-poller started');
    },
    async stop() {
      await poller.stop();
      await writer.close();
      await state.stop();
      await client.close();
      logger.info('comed-poller stopped');
    },
  };
}
