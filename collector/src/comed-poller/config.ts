import {
  healthPortSetting,
  influxOf,
  influxSettings,
  logSettings,
  parseEnv,
  positiveInt,
  redisOf,
  redisSettings,
  seconds,
  simClockFrom,
  simClockSettings,
  spoolOf,
  spoolSettings,
  withFileSecrets,
} from '@twc/runtime/env';
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
  // "Tonight" for the forecast's cheapest window: local hours in Chicago, and how long a charge is.
  TONIGHT_FROM_HOUR: z.coerce.number().int().min(0).max(23).default(18),
  TONIGHT_UNTIL_HOUR: z.coerce.number().int().min(0).max(23).default(7),
  TONIGHT_CHARGE_HOURS: z.coerce.number().int().min(1).max(12).default(4),
  ...influxSettings,
  INFLUXDB_BUCKET_PRICES: z.string().default('twc_prices'),
  ...redisSettings,
  ...spoolSettings(50),
  ...simClockSettings,
  ...healthPortSetting(8082),
  ...logSettings,
});

/** Every setting the comed-poller reads. */
export const POLLER_SETTINGS = Object.keys(schema.shape);

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
    night: { startHour: raw.TONIGHT_FROM_HOUR, endHour: raw.TONIGHT_UNTIL_HOUR, windowHours: raw.TONIGHT_CHARGE_HOURS },
    influx: { ...influxOf(raw), bucket: raw.INFLUXDB_BUCKET_PRICES },
    redis: redisOf(raw),
    spool: spoolOf(raw),
    /** Demo and test only: the simulator's accelerated clock (the local ComEd server can run on it too). */
    simClock: simClockFrom(raw),
    healthPort: raw.HEALTH_PORT,
    logLevel: raw.LOG_LEVEL,
  };
}
