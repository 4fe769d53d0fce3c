import { tariffEnvSettings, tariffSettingsOf } from '@twc/core/prices/tariff';
import { isValidTimeZone } from '@twc/core/time/wall-clock';
import {
  bucketSettings,
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

export interface ChargerConfig {
  name: string;
  host: string;
}

/**
 * CHARGERS: `name=host[:port]` pairs separated by commas, spaces or new lines,
 * e.g. `garage=192.168.1.50,barn=192.168.1.51`. A bare host is named after itself.
 */
export function parseChargers(value: string): ChargerConfig[] {
  const chargers = value
    .split(/[\s,;]+/)
    .filter(Boolean)
    .map((entry) => {
      const at = entry.indexOf('=');
      const name = (at === -1 ? entry : entry.slice(0, at)).trim();
      const host = (at === -1 ? entry : entry.slice(at + 1)).trim();
      if (!name || !host) throw new Error(`"${entry}" is not name=host`);
      if (!/^[\w.-]+$/.test(name)) throw new Error(`charger name "${name}" may only hold letters, digits, _ . -`);
      return { name, host };
    });
  const names = new Set<string>();
  for (const { name } of chargers) {
    if (names.has(name)) throw new Error(`charger name "${name}" appears twice`);
    names.add(name);
  }
  return chargers;
}

const schema = z.object({
  CHARGERS: z
    .string({ error: 'is required: name=host pairs, e.g. garage=192.168.1.50' })
    .transform((value, context) => {
      try {
        const chargers = parseChargers(value);
        if (chargers.length === 0) throw new Error('names no charger');
        if (chargers.length > 50) throw new Error('names more than 50 chargers; run a second collector');
        return chargers;
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  POLL_VITALS_S: seconds(5),
  POLL_LIFETIME_S: seconds(60),
  POLL_VERSION_S: seconds(300),
  POLL_WIFI_S: seconds(60),
  PHASE_MODE: z.enum(['auto', 'split', 'three']).default('auto'),
  CHARGER_CONNECT_TIMEOUT_MS: positiveInt(5000),
  CHARGER_RESPONSE_TIMEOUT_MS: positiveInt(10_000),
  OFFLINE_AFTER_FAILURES: positiveInt(3),
  BACKOFF_MAX_S: seconds(300),
  ...influxSettings,
  ...bucketSettings,
  ...redisSettings,
  ...spoolSettings(200),
  SESSION_UNPLUG_DEBOUNCE_S: seconds(30),
  SESSION_GAP_S: seconds(60),
  SESSION_REBUILD_HOURS: seconds(72),
  SESSION_RECOMPUTE_S: seconds(300),
  PRICING: z.enum(['comed', 'flat', 'tou']).default('comed'),
  PRICE_BASIS: z.enum(['hourly', 'five-minute']).default('hourly'),
  FLAT_SUPPLY_CENTS_KWH: z.coerce.number().default(0),
  TIMEZONE: z
    .string()
    .refine(isValidTimeZone, 'is not an IANA time zone (e.g. America/Chicago)')
    .default('America/Chicago'),
  ...tariffEnvSettings,
  ...simClockSettings,
  ...healthPortSetting(8081),
  ...logSettings,
});

/** Every setting the collector reads. */
export const COLLECTOR_SETTINGS = Object.keys(schema.shape);

export type CollectorConfig = ReturnType<typeof loadCollectorConfig>;

export function loadCollectorConfig(env: NodeJS.ProcessEnv) {
  const raw = parseEnv(schema, withFileSecrets(env, ['INFLUXDB_TOKEN']), 'collector');
  return {
    chargers: raw.CHARGERS,
    intervals: {
      vitalsMs: raw.POLL_VITALS_S * 1000,
      lifetimeMs: raw.POLL_LIFETIME_S * 1000,
      versionMs: raw.POLL_VERSION_S * 1000,
      wifiMs: raw.POLL_WIFI_S * 1000,
    },
    phaseMode: raw.PHASE_MODE,
    connectTimeoutMs: raw.CHARGER_CONNECT_TIMEOUT_MS,
    responseTimeoutMs: raw.CHARGER_RESPONSE_TIMEOUT_MS,
    offlineAfterFailures: raw.OFFLINE_AFTER_FAILURES,
    maxBackoffMs: raw.BACKOFF_MAX_S * 1000,
    influx: {
      ...influxOf(raw),
      rawBucket: raw.INFLUXDB_BUCKET_RAW,
      sessionsBucket: raw.INFLUXDB_BUCKET_SESSIONS,
      pricesBucket: raw.INFLUXDB_BUCKET_PRICES,
    },
    sessions: {
      unplugDebounceMs: raw.SESSION_UNPLUG_DEBOUNCE_S * 1000,
      // On the simulator's accelerated clock a request's real latency stretches by the acceleration:
      // 100 ms of it is tolerated between a reading and its stamp, as 5 s are at real speed.
      readingSlackMs: Math.max(5000, 100 * (simClockFrom(raw)?.acceleration ?? 1)),
      gapThresholdMs: raw.SESSION_GAP_S * 1000,
      rebuildWindowMs: raw.SESSION_REBUILD_HOURS * 3_600_000,
      recomputeIntervalMs: raw.SESSION_RECOMPUTE_S * 1000,
    },
    pricing: {
      kind: raw.PRICING,
      basis: raw.PRICE_BASIS,
      flatSupplyCentsPerKwh: raw.FLAT_SUPPLY_CENTS_KWH,
      timeZone: raw.TIMEZONE,
      tariff: tariffSettingsOf(raw),
    },
    redis: redisOf(raw),
    spool: spoolOf(raw),
    /** Demo and test only: stamp samples with the simulator's accelerated clock. Unset for real chargers. */
    simClock: simClockFrom(raw),
    healthPort: raw.HEALTH_PORT,
    logLevel: raw.LOG_LEVEL,
  };
}
