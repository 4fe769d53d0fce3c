/**
 * The settings of `scripts/run-local.sh` (local-stack/src/main.ts), from the
 * environment that script loaded .env into. Every one is described in the
 * script's header; the services' own settings pass through to them untouched.
 */
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from '@twc/runtime/env';
import { z } from 'zod';
import type { Service, StackServers } from './servers.js';
import type { SimulationOptions } from './simulation.js';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);

const schema = z.object({
  TWC_LOCAL_DIR: z.string().optional(),
  XDG_DATA_HOME: z.string().optional(),
  HOME: z.string().optional(),
  TMPDIR: z.string().optional(),
  API_PORT: port(8000),
  API_HOST: z.string().optional(),
  HEALTH_PORT: port(8081),
  POLLER_HEALTH_PORT: port(8082),
  BRIDGE_HEALTH_PORT: port(8083),
  PLANNER_HEALTH_PORT: port(8084),
  SIM_CHARGERS: z.coerce.number().int().min(1).max(1000).default(2),
  SIM_SCENARIO: z.enum(['session', 'day', 'idle', 'night']).default('session'),
  SIM_SPEED: z.coerce.number().positive().default(1),
  INFLUXDB_URL: z.string().optional(),
  REDIS_URL: z.string().optional(),
  INFLUXDB_TOKENS_DIR: z.string().optional(),
  INFLUXDB_TOKEN: z.string().optional(),
  INFLUXDB_TOKEN_FILE: z.string().optional(),
  SPOOL_MAX_MB: z.string().optional(),
  COLLECTOR_SPOOL_MAX_MB: z.string().optional(),
  POLLER_SPOOL_MAX_MB: z.string().optional(),
  PRICE_BACKFILL_DAYS: z.string().optional(),
  COMED_PIECE_SPACING_MS: z.string().optional(),
  // As in the tests: keeps the demo servers' data after they stop.
  TWC_KEEP_TEST_DATA: z.stringbool().default(false),
});

export interface RunLocalConfig {
  demo: boolean;
  /** Logs, spools, backfill progress, reports; tokens and the servers' data too with --demo. */
  dir: string | undefined;
  /** Where a new temporary directory is made when `dir` is undefined (--demo without TWC_LOCAL_DIR). */
  tempParent: string;
  /** The user's own servers; undefined with --demo, which starts its own. */
  servers: StackServers | undefined;
  simulation: SimulationOptions | undefined;
  ports: Record<Service, number>;
  /** The Home Assistant bridge's /health port; it runs when there is a broker: with --demo, or MQTT_URL. */
  bridge: { port: number };
  /** The planner's /health port; with --demo it commands the simulated cars through Tessie's stand-in. */
  planner: { port: number };
  serviceEnv: Record<Service, NodeJS.ProcessEnv>;
  keepServerData: boolean;
}

/** A setting the user must give: the message says what is missing and where to put it. */
export class SettingsError extends Error {}

function ownServers(raw: z.infer<typeof schema>, settingsFile: string): StackServers {
  // Without these the services would look for compose's hosts "influxdb" and "redis".
  if (!raw.INFLUXDB_URL) {
    throw new SettingsError(
      `INFLUXDB_URL is not set (in ${settingsFile} or the environment), e.g. http://127.0.0.1:8086`,
    );
  }
  if (!raw.REDIS_URL) {
    throw new SettingsError(
      `REDIS_URL is not set (in ${settingsFile} or the environment), e.g. redis://127.0.0.1:6379`,
    );
  }
  const tokensDir = raw.INFLUXDB_TOKENS_DIR;
  if (tokensDir) {
    for (const service of ['comed-poller', 'collector', 'api'] as const) {
      const file = join(tokensDir, `${service}.token`);
      if (!existsSync(file) || statSync(file).size === 0) {
        throw new SettingsError(`${file} is missing: run influxdb/scripts/init.sh`);
      }
    }
    return {
      env: {},
      tokenEnv: (service) => ({ INFLUXDB_TOKEN: undefined, INFLUXDB_TOKEN_FILE: join(tokensDir, `${service}.token`) }),
      startedHere: false,
    };
  }
  if (!raw.INFLUXDB_TOKEN && !raw.INFLUXDB_TOKEN_FILE) {
    throw new SettingsError("no InfluxDB token: set INFLUXDB_TOKENS_DIR (init.sh's token files) or INFLUXDB_TOKEN");
  }
  // One token for all three, as the settings give it.
  return { env: {}, tokenEnv: () => ({}), startedHere: false };
}

/**
 * Reads the settings; throws SettingsError (or the zod problems, named) when
 * one is missing or wrong. `settingsFile` is the file they were loaded from,
 * named in the messages.
 */
export function loadRunLocalConfig(
  env: NodeJS.ProcessEnv,
  options: { demo: boolean; settingsFile: string },
): RunLocalConfig {
  const raw = parseEnv(schema, env, 'run-local');
  const { demo } = options;
  const servers = demo ? undefined : ownServers(raw, options.settingsFile);
  const dataHome = raw.XDG_DATA_HOME ?? join(raw.HOME ?? tmpdir(), '.local', 'share');
  const dir = raw.TWC_LOCAL_DIR ?? (demo ? undefined : join(dataHome, 'twc-dashboard'));
  const spool = (own: string | undefined) => own ?? raw.SPOOL_MAX_MB;
  return {
    demo,
    dir,
    tempParent: raw.TMPDIR ?? tmpdir(),
    servers,
    simulation: demo
      ? {
          chargers: raw.SIM_CHARGERS,
          scenario: raw.SIM_SCENARIO,
          speed: raw.SIM_SPEED,
          carServices: true,
          owners: true,
        }
      : undefined,
    ports: { collector: raw.HEALTH_PORT, 'comed-poller': raw.POLLER_HEALTH_PORT, api: raw.API_PORT },
    bridge: { port: raw.BRIDGE_HEALTH_PORT },
    planner: { port: raw.PLANNER_HEALTH_PORT },
    serviceEnv: {
      collector: { SPOOL_MAX_MB: spool(raw.COLLECTOR_SPOOL_MAX_MB) },
      'comed-poller': {
        SPOOL_MAX_MB: spool(raw.POLLER_SPOOL_MAX_MB),
        // The stand-in answers at once: a short history and no pause between its pieces.
        ...(demo
          ? {
              PRICE_BACKFILL_DAYS: raw.PRICE_BACKFILL_DAYS ?? '7',
              COMED_PIECE_SPACING_MS: raw.COMED_PIECE_SPACING_MS ?? '0',
            }
          : {}),
      },
      api: {
        API_HOST: raw.API_HOST ?? (demo ? '127.0.0.1' : undefined),
        // On loopback (the demo's default) its simulated owners, and you on the status page, steer the
        // simulated cars without a credential; published further (API_HOST), the rule holds: auth first.
        ...(demo && (raw.API_HOST ?? '127.0.0.1') === '127.0.0.1' ? { CONTROL_WITHOUT_AUTH: 'true' } : {}),
      },
    },
    keepServerData: raw.TWC_KEEP_TEST_DATA,
  };
}
