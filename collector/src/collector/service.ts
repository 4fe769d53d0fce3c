import { InfluxDB } from '@influxdata/influxdb-client';
import { type HealthServer, startHealthServer } from '@twc/runtime/health-server';
import { createSpoolingWriter, type InfluxWriter } from '@twc/runtime/influx-writer';
import type { Logger } from '@twc/runtime/logger';
import { loadPricingSettings } from '@twc/runtime/tariff-file';
import { type ChargerPoller, createChargerPoller, type VitalsSample } from './charger-poller.js';
import type { CollectorConfig } from './config.js';
import { createInfluxPriceSource } from './price-source.js';
import { createRedisLiveState, type LiveState } from './redis-live-state.js';
import { createSessionClockUpgrade, type SessionClockUpgrade } from './session-clock-upgrade.js';
import { createInfluxSessionQueries } from './session-queries.js';
import { createRedisSessionStore } from './session-store.js';
import { createSessionTracker, type SessionTracker } from './session-tracker.js';
import { createChargerClient } from './twc-client.js';

export interface CollectorService {
  start(): Promise<void>;
  /** Stops polling and flushes every buffered point to InfluxDB or the spool. */
  stop(): Promise<void>;
  status(): CollectorStatus;
  /** Adds a listener for every vitals sample (the session tracker). */
  onVitals(listener: (sample: VitalsSample) => void): void;
  readonly writer: InfluxWriter;
  /** The session tracker, once start() has loaded the tariff. */
  sessions(): SessionTracker | undefined;
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
  sessions: ReturnType<SessionTracker['stats']> | null;
  /** Sessions stored before the price clock was corrected, re-priced once (sessions/price-clock-upgrade.ts). */
  priceClockUpgrade: ReturnType<SessionClockUpgrade['stats']> | null;
}

const SPOOL_REPORT_INTERVAL_MS = 60_000;

export interface CollectorServiceOptions {
  /**
   * The clock samples are stamped with. The simulator runs in accelerated
   * time for tests and demos; stamping with its clock keeps session_s and
   * uptime_s consistent with the sample times.
   */
  now?: () => number;
}

/** Wires configuration, adapters and pollers; `main.ts` adds signals. Constructing starts nothing. */
export function createCollectorService(
  config: CollectorConfig,
  logger: Logger,
  options: CollectorServiceOptions = {},
): CollectorService {
  const now = options.now ?? Date.now;
  const writer = createSpoolingWriter({ influx: config.influx, spool: config.spool, logger });
  const live = createRedisLiveState({ ...config.redis, logger: logger.child({ module: 'redis-live-state' }) });
  const sessionStore = createRedisSessionStore({ ...config.redis, logger: logger.child({ module: 'session-store' }) });
  const queryApi = new InfluxDB({ url: config.influx.url, token: config.influx.token, timeout: 30_000 }).getQueryApi(
    config.influx.org,
  );
  const queries = createInfluxSessionQueries({ queryApi, ...config.influx, now });
  let tracker: SessionTracker | undefined;
  const listeners: ((sample: VitalsSample) => void)[] = [
    (sample) => {
      void tracker?.handle(sample);
    },
  ];
  const chargers = config.chargers.map((charger) => {
    const client = createChargerClient({
      host: charger.host,
      connectTimeoutMs: config.connectTimeoutMs,
      responseTimeoutMs: config.responseTimeoutMs,
      logger: logger.child({ charger: charger.name }),
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
      now,
      onVitals: (sample) => {
        for (const listener of listeners) listener(sample);
      },
    });
    return { ...charger, client, poller };
  });
  let healthServer: HealthServer | undefined;
  let clockUpgrade: SessionClockUpgrade | undefined;
  const timers: NodeJS.Timeout[] = [];

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
      sessions: tracker?.stats() ?? null,
      priceClockUpgrade: clockUpgrade?.stats() ?? null,
    };
  }

  function reportSpool(): void {
    const stats = writer.stats().spool;
    writer.write(config.influx.rawBucket, 'vitals', [
      {
        measurement: 'collector_spool',
        tags: { service: 'collector' },
        fields: { bytes: stats.bytes, files: stats.files, dropped_points_total: stats.droppedLines },
        timeMs: now(),
      },
    ]);
  }

  return {
    writer,
    status,
    sessions: () => tracker,
    onVitals(listener) {
      listeners.push(listener);
    },
    async start() {
      const pricing = await loadPricingSettings(config.pricing);
      const sessionTracker = createSessionTracker({
        store: sessionStore,
        writer,
        sessionsBucket: config.influx.sessionsBucket,
        prices: createInfluxPriceSource({ queryApi, bucket: config.influx.pricesBucket, now }),
        pricing,
        config: config.sessions,
        logger,
        recentSamples: queries.recentSamples,
        provisionalSessions: queries.provisionalSessions,
        rebuildWindowMs: config.sessions.rebuildWindowMs,
        now,
      });
      tracker = sessionTracker;
      clockUpgrade = createSessionClockUpgrade({
        legacySessions: () => queries.sessionsBetween(0, now() + 1, { legacyOnly: true }),
        pricer: sessionTracker,
        writer,
        logger,
      });
      const upgrade = clockUpgrade;
      const upgradeSessions = () =>
        upgrade.run().catch((error: unknown) => {
          logger.warn({ err: (error as Error).message }, 'price clock upgrade of sessions failed; will retry');
        });
      // Redis is optional: wait a moment for it so the first samples reach it, then go on regardless.
      if (await live.ready(5000)) await live.pruneChargers(chargers.map(({ name }) => name));
      writer.start();
      for (const { poller } of chargers) poller.start();
      const every = (intervalMs: number, task: () => unknown) => {
        const timer = setInterval(task, intervalMs);
        timer.unref();
        timers.push(timer);
      };
      every(SPOOL_REPORT_INTERVAL_MS, reportSpool);
      // A car unplugged just before its charger went quiet still closes after the debounce.
      every(Math.max(1000, config.sessions.unplugDebounceMs / 3), () => sessionTracker.expire());
      every(config.sessions.recomputeIntervalMs, async () => {
        await upgradeSessions();
        await sessionTracker.recomputeProvisional().catch((error: unknown) => {
          logger.warn({ err: (error as Error).message }, 'could not recompute provisional sessions');
        });
      });
      void upgradeSessions();
      if (config.healthPort > 0) healthServer = await startHealthServer(config.healthPort, () => ({ ...status() }));
      logger.info({ chargers: chargers.map(({ name, host }) => `${name}=${host}`) }, 'collector started');
    },
    async stop() {
      for (const timer of timers.splice(0)) clearInterval(timer);
      await clockUpgrade?.stop();
      await Promise.all(chargers.map(({ poller }) => poller.stop()));
      await Promise.all(chargers.map(({ client }) => client.close()));
      await tracker?.drain();
      await writer.close();
      await live.stop();
      await sessionStore.stop();
      await healthServer?.close();
      logger.info({ writer: writer.stats() }, 'collector stopped');
    },
  };
}
