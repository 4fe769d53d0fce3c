import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { InfluxDB } from '@influxdata/influxdb-client';
import { createTestBucket, servers, uniqueKeyPrefix } from '@twc/testenv/vitest';
import { pino } from 'pino';
import { loadCollectorConfig } from '../../src/collector/config.js';
import { createCollectorService } from '../../src/collector/service.js';
import type { Simulator } from '../../src/simulator/simulator-server.js';

export interface LogLine {
  level: number;
  msg: string;
  charger?: string;
  [key: string]: unknown;
}

/** A pino logger whose lines land in an array, to assert on what is logged and how often. */
export function capturingLogger() {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

export function tempDir(label: string, cleanups: (() => unknown)[]): string {
  const dir = mkdtempSync(join(tmpdir(), `twc-${label}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface CollectorHarnessOptions {
  chargers: string;
  influx?: { url: string; token: string; org: string };
  rawBucket?: string;
  sessionsBucket?: string;
  pricesBucket?: string;
  keyPrefix?: string;
  spoolDir: string;
  env?: Record<string, string>;
  simulator?: Simulator;
}

/** A collector wired exactly as main.ts wires it, polling fast, against the test servers. */
export async function startCollector(options: CollectorHarnessOptions) {
  const { influx: shared, redis } = servers();
  const influx = options.influx ?? shared;
  const rawBucket = options.rawBucket ?? (await createTestBucket('raw'));
  const sessionsBucket = options.sessionsBucket ?? (await createTestBucket('sessions'));
  const pricesBucket = options.pricesBucket ?? (await createTestBucket('prices'));
  const keyPrefix = options.keyPrefix ?? uniqueKeyPrefix('collector');
  const config = loadCollectorConfig({
    CHARGERS: options.chargers,
    POLL_VITALS_S: '0.25',
    POLL_LIFETIME_S: '1',
    POLL_VERSION_S: '2',
    POLL_WIFI_S: '1',
    CHARGER_CONNECT_TIMEOUT_MS: '1000',
    CHARGER_RESPONSE_TIMEOUT_MS: '1000',
    BACKOFF_MAX_S: '1',
    INFLUXDB_URL: influx.url,
    INFLUXDB_TOKEN: influx.token,
    INFLUXDB_ORG: influx.org,
    INFLUXDB_BUCKET_RAW: rawBucket,
    INFLUXDB_BUCKET_SESSIONS: sessionsBucket,
    INFLUXDB_BUCKET_PRICES: pricesBucket,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: keyPrefix,
    SPOOL_DIR: options.spoolDir,
    HEALTH_PORT: '0',
    ...options.env,
  });
  const { logger, lines } = capturingLogger();
  const simulator = options.simulator;
  const service = createCollectorService(config, logger, simulator ? { now: () => simulator.simTimeMs() } : {});
  await service.start();
  const queryApi = new InfluxDB({ url: influx.url, token: influx.token }).getQueryApi(influx.org);
  return { service, config, lines, rawBucket, sessionsBucket, pricesBucket, keyPrefix, queryApi };
}

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
