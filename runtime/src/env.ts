import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * Resolves Docker-secret style variables: for each NAME with a NAME_FILE set,
 * NAME takes the file's content (trailing newline removed). NAME itself wins
 * when both are set. Nothing else in a service reads process.env.
 */
export function withFileSecrets(env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string | undefined> {
  const resolved: Record<string, string | undefined> = { ...env };
  for (const name of names) {
    const file = env[`${name}_FILE`];
    if (!env[name] && file) {
      try {
        resolved[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } catch (error) {
        throw new Error(`${name}_FILE: cannot read ${file}: ${(error as Error).message}`);
      }
    }
  }
  return resolved;
}

/** Parses env with a zod schema, failing with every problem named, one per line. */
export function parseEnv<T extends z.ZodType>(
  schema: T,
  env: Record<string, string | undefined>,
  service: string,
): z.infer<T> {
  // Empty values count as unset, so `FOO=` in an .env file falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new Error(`invalid ${service} configuration:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}

export const seconds = (fallback: number) => z.coerce.number().positive().default(fallback);
export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/**
 * Demo and test only: the simulator's accelerated clock (its GET /sim/clock),
 * so a service stamps data in the simulation's time instead of the real one.
 */
export const simClockSettings = {
  SIM_CLOCK_SIM_START_MS: z.coerce.number().int().optional(),
  SIM_CLOCK_REAL_START_MS: z.coerce.number().int().optional(),
  SIM_CLOCK_ACCELERATION: z.coerce.number().positive().optional(),
};

export function simClockFrom(raw: {
  SIM_CLOCK_SIM_START_MS?: number | undefined;
  SIM_CLOCK_REAL_START_MS?: number | undefined;
  SIM_CLOCK_ACCELERATION?: number | undefined;
}): { simStartMs: number; realStartMs: number; acceleration: number } | undefined {
  if (raw.SIM_CLOCK_SIM_START_MS === undefined || raw.SIM_CLOCK_REAL_START_MS === undefined) return undefined;
  return {
    simStartMs: raw.SIM_CLOCK_SIM_START_MS,
    realStartMs: raw.SIM_CLOCK_REAL_START_MS,
    acceleration: raw.SIM_CLOCK_ACCELERATION ?? 1,
  };
}

// --- Settings every service reads, defined once: each service's schema composes these. ---

export const logSettings = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};

export const influxSettings = {
  INFLUXDB_URL: z.url().default('http://influxdb:8086'),
  INFLUXDB_TOKEN: z.string({ error: 'is required (or INFLUXDB_TOKEN_FILE)' }).min(1),
  INFLUXDB_ORG: z.string().default('twc'),
};

export const bucketSettings = {
  INFLUXDB_BUCKET_RAW: z.string().default('twc_raw'),
  INFLUXDB_BUCKET_SESSIONS: z.string().default('twc_sessions'),
  INFLUXDB_BUCKET_PRICES: z.string().default('twc_prices'),
};

export const redisSettings = {
  REDIS_URL: z
    .string()
    .default('redis://redis:6379')
    .refine((value) => URL.canParse(value) && ['redis:', 'rediss:'].includes(new URL(value).protocol), {
      message: 'must be a redis:// or rediss:// URL, e.g. redis://redis:6379',
    }),
  REDIS_KEY_PREFIX: z.string().default('twc:'),
};

/** Where points wait while InfluxDB is away, and how much disk they may take. */
export function spoolSettings(defaultMaxMb: number) {
  return {
    SPOOL_DIR: z.string().default('/var/lib/twc/spool'),
    SPOOL_MAX_MB: z.coerce.number().positive().default(defaultMaxMb),
  };
}

/** The service's GET /health on loopback; 0 turns it off. */
export function healthPortSetting(defaultPort: number) {
  return { HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(defaultPort) };
}

export function influxOf(raw: { INFLUXDB_URL: string; INFLUXDB_TOKEN: string; INFLUXDB_ORG: string }) {
  return { url: raw.INFLUXDB_URL, token: raw.INFLUXDB_TOKEN, org: raw.INFLUXDB_ORG };
}

export function redisOf(raw: { REDIS_URL: string; REDIS_KEY_PREFIX: string }) {
  return { url: raw.REDIS_URL, keyPrefix: raw.REDIS_KEY_PREFIX };
}

export function spoolOf(raw: { SPOOL_DIR: string; SPOOL_MAX_MB: number }) {
  return { dir: raw.SPOOL_DIR, maxBytes: Math.round(raw.SPOOL_MAX_MB * 1024 * 1024) };
}
