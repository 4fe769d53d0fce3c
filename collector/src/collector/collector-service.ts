import { createServer, type Server } from 'node:http';
import { createChargerClient } from '../charger/twc-client.js';
import type { Logger } from '../logger.js';
import { createInfluxWriter, type InfluxWriter } from '../storage/influx-writer.js';
import { createSpool } from '../storage/spool.js';
import { type ChargerPoller, createChargerPoller, type VitalsSample } from './charger-poller.js';
import type { CollectorConfig } from './config.js';
import { createRedisLiveState, type LiveState } from './redis-live-state.js';

export interface CollectorService {
  start(): Promise<void>;
  /** Stops polling and flushes every buffered point to InfluxDB or the spool. */
  stop(): Promise<void>;
  status(): CollectorStatus;
  /** Adds a listener for every vitals sample (the session tracker). */
  onVitals(listener: (sample: VitalsSample) => void): void;
  readonly writer: InfluxWriter;
}

export interface CollectorStatus {
  chargers: {
    name: string;
    host: string;
    chargerId: string | null;
    online: boolean | null;
    consecutiveFailures: number;
    vitalsPolls: number;
    maxLatenessMs: number;
  }[];
  writer: ReturnType<InfluxWriter['stats']>;
  redis: ReturnType<LiveState['stats']>;
}

const SPOOL_REPORT_INTERVAL_MS = 60_000;

/** Wires configuration, adapters and pollers; `main.ts` adds signals. Constructing starts nothing. */
export function createCollectorService(config: CollectorConfig, logger: Logger): CollectorService {
  const spool = createSpool({ ...config.spool, logger: logger.child({ module: 'spool' }) });
  const writer = createInfluxWriter({
    url: config.influx.url,
    token: config.influx.token,
    org: config.influx.org,
    spool,
    logger: logger.child({ module: 'influx-writer' }),
  });
  const live = createRedisLiveState({ ...config.redis, logger: logger.child({ module: 'redis-live-state' }) });
  const listeners: ((sample: VitalsSample) => void)[] = [];
  const chargers = config.chargers.map((charger) => {
    const client = createChargerClient({
      host: charger.host,
      connectTimeoutMs: config.connectTimeoutMs,
      responseTimeoutMs: config.responseTimeoutMs,
      logger: logger.child({ module: 'twc-client', charger: charger.name }),
    });
    const poller: ChargerPoller = createChargerPoller({
      name: charger.name,
      client,
      intervals: config.intervals,
      maxBackoffMs: config.maxBackoffMs,
      offlineAfterFailures: config.offlineAfterFailures,
      phaseMode: config.phaseMode,
      writer,
      bucket: config.influx.rawBucket,
      live,
      logger,
      onVitals: (sample) => {
        for (const listener of listeners) listener(sample);
      },
    });
    return { ...charger, client, poller };
  });
  let healthServer: Server | undefined;
  let spoolTimer: NodeJS.Timeout | undefined;

  function status(): CollectorStatus {
    return {
      chargers: chargers.map(({ name, host, poller }) => ({
        name,
        host,
        chargerId: poller.chargerId() ?? null,
        online: poller.health().online ?? null,
        consecutiveFailures: poller.health().consecutiveFailures,
        vitalsPolls: poller.timing().vitalsPolls,
        maxLatenessMs: poller.timing().maxLatenessMs,
      })),
      writer: writer.stats(),
      redis: live.stats(),
    };
  }

  function reportSpool(): void {
    const stats = spool.stats();
    writer.write(config.influx.rawBucket, 'vitals', [
      {
        measurement: 'collector_spool',
        tags: { service: 'collector' },
        fields: { bytes: stats.bytes, files: stats.files, dropped_points_total: stats.droppedLines },
        timeMs: Date.now(),
      },
    ]);
  }

  return {
    writer,
    status,
    onVitals(listener) {
      listeners.push(listener);
    },
    async start() {
      writer.start();
      for (const { poller } of chargers) poller.start();
      spoolTimer = setInterval(reportSpool, SPOOL_REPORT_INTERVAL_MS);
      spoolTimer.unref();
      if (config.healthPort > 0) {
        // For the container healthcheck: answers while the process runs its event loop.
        const server = createServer((request, response) => {
          const ok = request.url === '/health';
          response.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' });
          response.end(JSON.stringify(ok ? { status: 'ok', ...status() } : { error: 'not found' }));
        });
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(config.healthPort, '127.0.0.1', () => resolve());
        });
        healthServer = server;
      }
      logger.info({ chargers: chargers.map(({ name, host }) => `${name}=${host}`) }, 'collector started');
    },
    async stop() {
      if (spoolTimer) clearInterval(spoolTimer);
      await Promise.all(chargers.map(({ poller }) => poller.stop()));
      await Promise.all(chargers.map(({ client }) => client.close()));
      await writer.close();
      await live.stop();
      await new Promise<void>((resolve) => (healthServer ? healthServer.close(() => resolve()) : resolve()));
      logger.info({ writer: writer.stats() }, 'collector stopped');
    },
  };
}
