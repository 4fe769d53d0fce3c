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
import {
  CAR_CONTROL_SECRETS,
  carControlConfigOf,
  carControlSettings,
  checkCarControlSettings,
} from './controller-config.js';

const schema = z.object({
  PLANNER_STEP_S: seconds(30),
  PLANNER_REPLAN_S: seconds(300),
  /** Tesla bills every vehicle_data call: read the car on plug-in, around commands, and at most this often while charging. */
  CAR_READ_EVERY_MIN: z.coerce.number().positive().default(15),
  CHARGER_POWER_KW: z.coerce.number().positive().max(50).default(11.5),
  CAR_CAPACITY_KWH: z.coerce.number().positive().max(300).default(75),
  CHARGE_EFFICIENCY: z.coerce.number().gt(0.5).max(1).default(0.9),
  VITALS_STALE_S: seconds(120),
  FORECAST_STALE_MIN: z.coerce.number().positive().default(90),
  CONTROL_MAX_FAILURES: positiveInt(4),
  PLANNER_STATE_DIR: z.string().default('/var/lib/twc/planner'),
  TIMEZONE: z
    .string()
    .refine(isValidTimeZone, 'is not an IANA time zone (e.g. America/Chicago)')
    .default('America/Chicago'),
  ...influxSettings,
  ...bucketSettings,
  ...redisSettings,
  ...spoolSettings(20),
  ...tariffEnvSettings,
  ...simClockSettings,
  ...healthPortSetting(8084),
  ...logSettings,
  ...carControlSettings,
});

/** Every setting the planner reads. */
export const PLANNER_SETTINGS = Object.keys(schema.shape);

export type PlannerConfig = ReturnType<typeof loadPlannerConfig>;

export function loadPlannerConfig(env: NodeJS.ProcessEnv) {
  const raw = parseEnv(
    schema.superRefine(checkCarControlSettings),
    withFileSecrets(env, ['INFLUXDB_TOKEN', ...CAR_CONTROL_SECRETS]),
    'planner',
  );
  return {
    stepMs: raw.PLANNER_STEP_S * 1000,
    replanMs: raw.PLANNER_REPLAN_S * 1000,
    carReadMs: raw.CAR_READ_EVERY_MIN * 60_000,
    defaultPowerKw: raw.CHARGER_POWER_KW,
    capacityKwh: raw.CAR_CAPACITY_KWH,
    efficiency: raw.CHARGE_EFFICIENCY,
    vitalsStaleMs: raw.VITALS_STALE_S * 1000,
    forecastStaleMs: raw.FORECAST_STALE_MIN * 60_000,
    maxFailures: raw.CONTROL_MAX_FAILURES,
    stateDir: raw.PLANNER_STATE_DIR,
    timeZone: raw.TIMEZONE,
    tariff: tariffSettingsOf(raw),
    influx: { ...influxOf(raw), sessionsBucket: raw.INFLUXDB_BUCKET_SESSIONS },
    redis: redisOf(raw),
    spool: spoolOf(raw),
    simClock: simClockFrom(raw),
    healthPort: raw.HEALTH_PORT,
    logLevel: raw.LOG_LEVEL,
    carControl: carControlConfigOf(raw),
  };
}
