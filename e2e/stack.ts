/**
 * The whole stack as separate processes, for the end-to-end fault suite: its
 * own InfluxDB, Redis and Mosquitto (not the test run's shared ones, since
 * this suite kills them), the charger simulator, the local ComEd server, the
 * collector, the comed-poller and the api, each configured through its
 * environment as in production. Every process logs to a file of its own in
 * the stack's directory; each can be killed with SIGKILL and started again
 * on the same port and data.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type SimClock, simulatedTimeMs } from '@twc/collector/simulator/sim-clock';
import {
  freePort,
  type InfluxServer,
  ManagedProcess,
  type MosquittoServer,
  type RedisServer,
  startInfluxd,
  startMosquitto,
  startRedis,
} from '@twc/testenv';
import type { ServiceName } from './faults.js';

export const REPO_ROOT = join(import.meta.dirname, '..');

export interface StackSettings {
  /** Temporary directory for every process's data and logs. */
  dir: string;
  seed: number;
  /** Where the simulated clock starts (`twc simulate --start`). */
  simStartMs: number;
  chargers: number;
  /** Simulated seconds per real second. */
  speed: number;
  /** The collector's SESSION_GAP_S: more than the simulated time between two samples. */
  sessionGapS: number;
  chargerResponseTimeoutMs: number;
  /** The collector's BACKOFF_MAX_S; with the simulator's clock it is also real seconds of waiting. */
  backoffMaxS: number;
  vitalsPollS: number;
  pricePollS: number;
  backfillDays: number;
}

export interface SimCharger {
  name: string;
  serial: string;
  /** "127.0.0.1:port" */
  host: string;
}

/** One of our processes (or a server) that the suite can kill and start again. */
export interface ServiceHandle {
  name: ServiceName;
  pid(): number | undefined;
  running(): boolean;
  /** SIGKILL: no flush, no clean-up. */
  kill(): Promise<void>;
  /** Starts it again and waits until it is ready. */
  restart(): Promise<void>;
  /** SIGTERM, waiting for the process to exit. */
  stop(): Promise<void>;
  /** The last lines of its log. */
  tail(lines?: number): string;
}

export interface Stack {
  settings: StackSettings;
  influx: InfluxServer;
  redis: RedisServer;
  mosquitto: MosquittoServer;
  chargers: SimCharger[];
  clock: SimClock;
  comedUrl: string;
  comedControlUrl: string;
  collectorHealthUrl: string;
  apiUrl: string;
  services: Record<ServiceName, ServiceHandle>;
  simulator: ManagedProcess;
  simTimeMs(realMs?: number): number;
  /** Stops every process (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
}

export const BUCKETS = { raw: 'twc_raw', sessions: 'twc_sessions', prices: 'twc_prices' } as const;

const TSX = ['--import', 'tsx', '--conditions=twc-source'];

/** Only what a process needs from ours; never our own test settings. */
function baseEnv(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SystemRoot'];
  return Object.fromEntries(keep.filter((key) => process.env[key] !== undefined).map((key) => [key, process.env[key]]));
}

async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await response.arrayBuffer();
  return response.ok;
}

/** Waits for a JSON line on a process's output whose `key` holds an array or a string (not a log line's count), and returns it. */
async function jsonLineWith<T>(proc: ManagedProcess, logFile: string, key: string, timeoutMs: number): Promise<T> {
  let found: T | undefined;
  await proc.waitUntil(async () => {
    for (const line of readFileSync(logFile, 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        const value = parsed[key];
        if (Array.isArray(value) || typeof value === 'string') {
          found = parsed as T;
          return true;
        }
      } catch {
        // a partial line; read again
      }
    }
    return false;
  }, timeoutMs);
  return found as T;
}

function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** True once `text` appears in the log after byte `offset`. */
function logHasAfter(file: string, offset: number, text: string): boolean {
  try {
    return readFileSync(file).subarray(offset).toString('utf8').includes(text);
  } catch {
    return false;
  }
}

async function influxApi(influx: InfluxServer, method: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${influx.url}${path}`, {
    method,
    headers: { authorization: `Token ${influx.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} -> ${response.status}: ${text}`);
}

function nodeService(
  name: ServiceName,
  dir: string,
  script: string[],
  env: NodeJS.ProcessEnv,
  ready: (logOffset: number) => Promise<boolean>,
): ServiceHandle {
  const logFile = join(dir, `${name}.log`);
  const proc = new ManagedProcess({
    name,
    command: process.execPath,
    args: [...TSX, ...script],
    logFile,
    cwd: REPO_ROOT,
    env: { ...baseEnv(), ...env },
  });
  return {
    name,
    pid: () => proc.pid,
    running: () => proc.running,
    kill: () => proc.kill(),
    async restart() {
      const offset = logSize(logFile);
      proc.start();
      await proc.waitUntil(() => ready(offset), 60_000);
    },
    stop: () => proc.stop(15_000),
    tail: (lines) => proc.tail(lines),
  };
}

function serverService(
  name: ServiceName,
  server: { process: ManagedProcess; restart(): Promise<void> },
): ServiceHandle {
  return {
    name,
    pid: () => server.process.pid,
    running: () => server.process.running,
    kill: () => server.process.kill(),
    restart: () => server.restart(),
    stop: () => server.process.stop(),
    tail: (lines) => server.process.tail(lines),
  };
}

/** Starts everything; on failure stops what was started and rethrows. */
export async function startStack(settings: StackSettings): Promise<Stack> {
  const { dir } = settings;
  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
  };
  try {
    const [influx, redis, mosquitto] = await Promise.all([
      startInfluxd(join(dir, 'influxd')),
      startRedis(dir),
      startMosquitto(dir),
    ]);
    stoppers.push(
      () => influx.stop(),
      () => redis.stop(),
      () => mosquitto.stop(),
    );
    for (const name of Object.values(BUCKETS)) {
      await influxApi(influx, 'POST', '/api/v2/buckets', { orgID: influx.orgId, name, retentionRules: [] });
    }

    const simLog = join(dir, 'simulator.log');
    const simulator = new ManagedProcess({
      name: 'simulator',
      command: process.execPath,
      args: [
        ...TSX,
        'collector/src/cli/main.ts',
        'simulate',
        '--chargers',
        String(settings.chargers),
        '--scenario',
        'day',
        '--speed',
        String(settings.speed),
        '--seed',
        String(settings.seed),
        '--start',
        new Date(settings.simStartMs).toISOString(),
        '--port',
        '0',
      ],
      logFile: simLog,
      cwd: REPO_ROOT,
      env: { ...baseEnv(), LOG_LEVEL: 'info' },
    });
    simulator.start();
    stoppers.push(() => simulator.stop());
    const { chargers } = await jsonLineWith<{ chargers: SimCharger[] }>(simulator, simLog, 'chargers', 60_000);
    const clock = (await (await fetch(`http://${chargers[0]?.host}/sim/clock`)).json()) as SimClock;
    const simClockEnv = {
      SIM_CLOCK_SIM_START_MS: String(clock.simStartMs),
      SIM_CLOCK_REAL_START_MS: String(clock.realStartMs),
      SIM_CLOCK_ACCELERATION: String(clock.acceleration),
    };

    const comedLog = join(dir, 'comed-server.log');
    const comedServer = new ManagedProcess({
      name: 'comed-server',
      command: process.execPath,
      args: [
        ...TSX,
        'collector/src/cli/main.ts',
        'comed-server',
        '--seed',
        String(settings.seed),
        '--sim-start-ms',
        String(clock.simStartMs),
        '--real-start-ms',
        String(clock.realStartMs),
        '--acceleration',
        String(clock.acceleration),
      ],
      logFile: comedLog,
      cwd: REPO_ROOT,
      env: baseEnv(),
    });
    comedServer.start();
    stoppers.push(() => comedServer.stop());
    const comed = await jsonLineWith<{ url: string; control: string }>(comedServer, comedLog, 'control', 60_000);

    const shared = {
      INFLUXDB_URL: influx.url,
      INFLUXDB_TOKEN: influx.token,
      INFLUXDB_ORG: influx.org,
      INFLUXDB_BUCKET_RAW: BUCKETS.raw,
      INFLUXDB_BUCKET_SESSIONS: BUCKETS.sessions,
      INFLUXDB_BUCKET_PRICES: BUCKETS.prices,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'twc:',
      LOG_LEVEL: 'info',
    };
    const healthPort = await freePort();
    const collectorHealthUrl = `http://127.0.0.1:${healthPort}/health`;
    const collector = nodeService(
      'collector',
      dir,
      ['collector/src/collector/main.ts'],
      {
        ...shared,
        ...simClockEnv,
        CHARGERS: chargers.map(({ name, host }) => `${name}=${host}`).join(','),
        POLL_VITALS_S: String(settings.vitalsPollS),
        // The poller schedules in the simulator's time: these are simulated seconds.
        POLL_LIFETIME_S: '600',
        POLL_WIFI_S: '600',
        POLL_VERSION_S: '3600',
        CHARGER_CONNECT_TIMEOUT_MS: String(settings.chargerResponseTimeoutMs),
        CHARGER_RESPONSE_TIMEOUT_MS: String(settings.chargerResponseTimeoutMs),
        BACKOFF_MAX_S: String(settings.backoffMaxS),
        SPOOL_DIR: join(dir, 'collector-spool'),
        SESSION_GAP_S: String(settings.sessionGapS),
        SESSION_RECOMPUTE_S: '2',
        HEALTH_PORT: String(healthPort),
      },
      () => httpOk(collectorHealthUrl),
    );
    await collector.restart();
    stoppers.push(() => collector.stop());

    const pollerLog = join(dir, 'comed-poller.log');
    const pollerHealthPort = await freePort();
    const poller = nodeService(
      'comed-poller',
      dir,
      ['collector/src/comed-poller/main.ts'],
      {
        ...shared,
        ...simClockEnv,
        COMED_API_URL: comed.url,
        COMED_TIMEOUT_MS: '1500',
        COMED_PIECE_SPACING_MS: '100',
        PRICE_POLL_S: String(settings.pricePollS),
        PRICE_BACKFILL_DAYS: String(settings.backfillDays),
        PRICE_STATE_FILE: join(dir, 'price-backfill.json'),
        SPOOL_DIR: join(dir, 'comed-poller-spool'),
        HEALTH_PORT: String(pollerHealthPort),
      },
      async (offset) => logHasAfter(pollerLog, offset, '"msg":"comed-poller started"'),
    );
    await poller.restart();
    stoppers.push(() => poller.stop());

    const apiPort = await freePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const api = nodeService(
      'api',
      dir,
      ['api/src/server.ts'],
      {
        ...shared,
        API_HOST: '127.0.0.1',
        API_PORT: String(apiPort),
        REPORTS_DIR: join(dir, 'reports'),
        // The fuzzer sends far more than a person would; 429s would hide what it is looking for.
        RATE_LIMIT_MAX: '1000000',
        MQTT_URL: mosquitto.url,
      },
      () => httpOk(`${apiUrl}/ready`),
    );
    await api.restart();
    stoppers.push(() => api.stop());

    const services: Record<ServiceName, ServiceHandle> = {
      influxd: serverService('influxd', influx),
      redis: serverService('redis', redis),
      mosquitto: serverService('mosquitto', mosquitto),
      collector,
      'comed-poller': poller,
      api,
    };
    return {
      settings,
      influx,
      redis,
      mosquitto,
      chargers,
      clock,
      comedUrl: comed.url,
      comedControlUrl: comed.control,
      collectorHealthUrl,
      apiUrl,
      services,
      simulator,
      simTimeMs: (realMs = Date.now()) => simulatedTimeMs(clock, realMs),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Waits until `probe` holds, polling every 200 ms; false when `timeoutMs` passed first. */
export async function eventually(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return true;
    await sleep(200);
  }
  return false;
}
