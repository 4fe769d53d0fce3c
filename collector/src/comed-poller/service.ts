import { dirname, join } from 'node:path';
import { InfluxDB } from '@influxdata/influxdb-client';
import { type HealthServer, startHealthServer } from '@twc/runtime/health-server';
import { createInfluxDelete } from '@twc/runtime/influx-delete';
import { createSpoolingWriter } from '@twc/runtime/influx-writer';
import type { Logger } from '@twc/runtime/logger';
import { createComedClient } from './comed-client.js';
import type { PricePollerConfig } from './config.js';
import { createForecastPublisher } from './forecast-publisher.js';
import { createInfluxPriceStore } from './influx-price-store.js';
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
  const store = createInfluxPriceStore({ queryApi, bucket: config.influx.bucket });
  const forecast = createForecastPublisher({
    writer,
    bucket: config.influx.bucket,
    state,
    logger,
    night: config.night,
    knownHours: store.hourlyPrices,
    storedDayAhead: store.dayAheadPrices,
    now: options.now,
  });
  const poller = createPricePoller({
    client,
    writer,
    bucket: config.influx.bucket,
    state,
    logger,
    pollIntervalMs: config.pollIntervalMs,
    backfillDays: config.backfillDays,
    progressFile: config.progressFile,
    upgradeFile: join(dirname(config.progressFile), 'price-clock-upgrade.json'),
    dayAheadFile: join(dirname(config.progressFile), 'dayahead-backfill.json'),
    requestSpacingMs: config.comed.pieceSpacingMs,
    now: options.now,
    knownHours: store.hourlyPrices,
    storedPrices: store.fiveMinutePrices,
    storedPriceRange: store.fiveMinuteRange,
    storedDayAhead: store.dayAheadPrices,
    forecast,
    deletePoints: createInfluxDelete(config.influx),
  });
  let health: HealthServer | undefined;
  return {
    poller,
    async start() {
      writer.start();
      // The first price goes to Redis at once: give the connection a moment (it is not required).
      await state.ready(5000);
      poller.start();
      if (config.healthPort > 0) {
        // Healthy once a current price is in Redis, where the API and the bridge read it.
        health = await startHealthServer(
          config.healthPort,
          () => ({ ...poller.stats(), writer: writer.stats() }),
          () => poller.stats().priceCached,
        );
      }
      logger.info({ api: config.comed.baseUrl, backfillDays: config.backfillDays }, 'comed-poller started');
    },
    async stop() {
      await health?.close();
      await poller.stop();
      await writer.close();
      await state.stop();
      await client.close();
      logger.info('comed-poller stopped');
    },
  };
}
