/**
 * The whole stack as separate processes, for the end-to-end fault suite,
 * started by the local stack (local-stack/: the starter `scripts/run-local.sh`
 * runs too): its own InfluxDB, Redis and Mosquitto (not the test run's shared
 * ones, since this suite kills them) set up by influxdb/scripts/init.sh, the
 * charger simulator, the ComEd stand-in on its clock, the collector, the
 * comed-poller and the api, each configured through its environment as in
 * production, with its own least-privilege token. Every process logs to a
 * file of its own under the stack's directory; each can be killed with
 * SIGKILL and started again on the same port and data. This file holds the
 * suite's settings: how fast the day runs, and the timeouts scaled to it.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SimClock } from '@twc/collector/simulator/sim-clock';
import { type LocalStack, type ProcessHandle, type SimCharger, startLocalStack } from '@twc/local-stack';
import type { InfluxServer } from '@twc/testenv';
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

export type { SimCharger };

export interface Stack {
  settings: StackSettings;
  /** With the admin token, for the suite's own queries. */
  influx: InfluxServer;
  chargers: SimCharger[];
  clock: SimClock;
  comedUrl: string;
  comedControlUrl: string;
  collectorHealthUrl: string;
  apiUrl: string;
  /** Every server and service the suite kills and starts again. */
  services: Record<ServiceName, ProcessHandle>;
  simulator: ProcessHandle;
  simTimeMs(realMs?: number): number;
  /** Stops every process (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
}

/** The buckets init.sh creates by default, which the services' defaults name. */
export const BUCKETS = { raw: 'twc_raw', sessions: 'twc_sessions', prices: 'twc_prices' } as const;

/** Only what a process needs from ours; never our own test settings. */
function baseEnv(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SystemRoot'];
  return Object.fromEntries(keep.filter((key) => process.env[key] !== undefined).map((key) => [key, process.env[key]]));
}

/** Starts everything; on failure stops what was started and rethrows. */
export async function startStack(settings: StackSettings): Promise<Stack> {
  const stack: LocalStack = await startLocalStack({
    dir: settings.dir,
    env: {
      ...baseEnv(),
      INFLUXDB_BUCKET_RAW: BUCKETS.raw,
      INFLUXDB_BUCKET_SESSIONS: BUCKETS.sessions,
      INFLUXDB_BUCKET_PRICES: BUCKETS.prices,
      REDIS_KEY_PREFIX: 'twc:',
      LOG_LEVEL: 'info',
    },
    simulation: {
      chargers: settings.chargers,
      scenario: 'day',
      speed: settings.speed,
      seed: settings.seed,
      startMs: settings.simStartMs,
    },
    serviceEnv: {
      collector: {
        POLL_VITALS_S: String(settings.vitalsPollS),
        // The poller schedules in the simulator's time: these are simulated seconds.
        POLL_LIFETIME_S: '600',
        POLL_WIFI_S: '600',
        POLL_VERSION_S: '3600',
        CHARGER_CONNECT_TIMEOUT_MS: String(settings.chargerResponseTimeoutMs),
        CHARGER_RESPONSE_TIMEOUT_MS: String(settings.chargerResponseTimeoutMs),
        BACKOFF_MAX_S: String(settings.backoffMaxS),
        SESSION_GAP_S: String(settings.sessionGapS),
        SESSION_RECOMPUTE_S: '2',
      },
      'comed-poller': {
        COMED_TIMEOUT_MS: '1500',
        COMED_PIECE_SPACING_MS: '100',
        PRICE_POLL_S: String(settings.pricePollS),
        PRICE_BACKFILL_DAYS: String(settings.backfillDays),
      },
      api: {
        API_HOST: '127.0.0.1',
        // The fuzzer sends far more than a person would; 429s would hide what it is looking for.
        RATE_LIMIT_MAX: '1000000',
      },
    },
    // The suite removes its directory, or keeps it with TWC_KEEP_TEST_DATA=1.
    keepServerData: true,
  });
  const { local, simulation } = stack;
  if (!local || !simulation) {
    await stack.stop();
    throw new Error('the local stack started without its own servers or without the simulation');
  }
  return {
    settings,
    influx: local.servers.influx,
    chargers: simulation.chargers,
    clock: simulation.clock,
    comedUrl: simulation.comedUrl,
    comedControlUrl: simulation.comedControlUrl,
    collectorHealthUrl: stack.collectorHealthUrl,
    apiUrl: stack.apiUrl,
    services: { ...local.handles, ...stack.services },
    simulator: simulation.simulator,
    simTimeMs: stack.simTimeMs,
    stop: stack.stop,
  };
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
