import { parseEnv, positiveInt, seconds, simClockFrom, simClockSettings, withFileSecrets } from '@twc/runtime/env';
import { z } from 'zod';
import { DEFAULT_COMED_API_URL, defaultFeedUrl } from './comed-client.js';

const schema = z.object({
  COMED_API_URL: z.url().default(DEFAULT_COMED_API_URL),
  COMED_FEED_URL: z.url().optional(),
  COMED_TIMEOUT_MS: positiveInt(20_000),
  COMED_PIECE_SPACING_MS: z.coerce.number().int().min(0).default(2000),
  PRICE_POLL_S: seconds(300),
  PRICE_BACKFILL_DAYS: z.coerce.number().int().min(0).max(3650).default(90),
  PRICE_STATE_FILE: z.string().default('/var/lib/twc/price-backfill.json'),
  INFLUXDB_URL: z.url().default('http://influxdb:8086'),
  INFLUXDB_TOKEN: z.string({ error: 'is required (or INFLUXDB_TOKEN_FILE)' }).min(1),
  INFLUXDB_ORG: z.string().default('twc'),
  INFLUXDB_BUCKET_PRICES: z.string().default('twc_prices'),
  REDIS_URL: z.string().default('redis://redis:6379'),
  REDIS_KEY_PREFIX: z.string().default('twc:'),
  SPOOL_DIR: z.string().default('/var/lib/twc/spool'),
  SPOOL_MAX_MB: z.coerce.number().positive().default(50),
  ...simClockSettings,
  HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(8082),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type PricePollerConfig = ReturnType<typeof loadPricePollerConfig>;

export function loadPricePollerConfig(env: NodeJS.ProcessEnv) {
  const raw = parseEnv(schema, withFileSecrets(env, ['INFLUXDB_TOKEN']), 'comed-poller');
  return {
    comed: {
      baseUrl: raw.COMED_API_URL,
      feedUrl: raw.COMED_FEED_URL ?? defaultFeedUrl(raw.COMED_API_URL),
      timeoutMs: raw.COMED_TIMEOUT_MS,
      pieceSpacingMs: raw.COMED_PIECE_SPACING_MS,
    },
    pollIntervalMs: raw.PRICE_POLL_S * 1000,
    backfillDays: raw.PRICE_BACKFILL_DAYS,
    progressFile: raw.PRICE_STATE_FILE,
    influx: {
      url: raw.INFLUXDB_URL,
      token: raw.INFLUXDB_TOKEN,
      org: raw.INFLUXDB_ORG,
      bucket: raw.INFLUXDB_BUCKET_PRICES,
    },
    redis: { url: raw.REDIS_URL, keyPrefix: raw.REDIS_KEY_PREFIX },
    spool: { dir: raw.SPOOL_DIR, maxBytes: Math.round(raw.SPOOL_MAX_MB * 1024 * 1024) },
    /** Demo and test only: the simulator's accelerated clock (the local ComEd server can run on it too). */
    simClock: simClockFrom(raw),
    healthPort: raw.HEALTH_PORT,
    logLevel: raw.LOG_LEVEL,
  };
}
