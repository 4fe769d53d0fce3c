import { readFileSync } from 'node:fs';
import { type TariffSettings, tariffEnvSettings, tariffSettingsOf } from '@twc/core/prices/tariff';
import {
  bucketSettings,
  healthPortSetting,
  influxSettings,
  logSettings,
  parseEnv,
  redisOf,
  redisSettings,
  seconds,
  withFileSecrets,
} from '@twc/runtime/env';
import { z } from 'zod';

const schema = z.object({
  MQTT_URL: z.string({ error: 'is required: the broker the bridge publishes to, e.g. mqtt://mosquitto:1883' }),
  MQTT_USERNAME: z.string().optional(),
  MQTT_PASSWORD: z.string().optional(),
  MQTT_TLS_CA_FILE: z.string().optional(),
  MQTT_TLS_REJECT_UNAUTHORIZED: z.stringbool().default(true),
  HA_DISCOVERY: z.stringbool().default(true),
  // Home Assistant's discovery prefix is one topic level of its own.
  HA_DISCOVERY_PREFIX: z
    .string()
    .regex(/^[^#+]+$/, { message: 'must be an MQTT topic without wildcards' })
    .default('homeassistant'),
  HA_STATE_MIN_INTERVAL_S: z.coerce.number().min(0).default(10),
  HA_TOPIC_ROOT: z
    .string()
    .regex(/^[^#+]+$/, { message: 'must be an MQTT topic without wildcards' })
    .default('twc'),
  HA_READINGS_REFRESH_S: seconds(60),
  ...redisSettings,
  ...influxSettings,
  // Without a token the bridge still publishes everything but lifetime energy and Wi-Fi signal.
  INFLUXDB_TOKEN: z.string().optional(),
  INFLUXDB_BUCKET_RAW: bucketSettings.INFLUXDB_BUCKET_RAW,
  ...tariffEnvSettings,
  ...healthPortSetting(8083),
  ...logSettings,
});

/** Every variable the bridge reads. */
export const HOMEASSISTANT_SETTINGS = Object.keys(schema.shape);

export interface HomeAssistantConfig {
  mqtt: {
    url: string;
    username: string | undefined;
    password: string | undefined;
    /** PEM text of the CA that signed the broker's certificate, for mqtts:// brokers with a private CA. */
    ca: string | undefined;
    rejectUnauthorized: boolean;
  };
  discovery: boolean;
  discoveryPrefix: string;
  stateMinIntervalMs: number;
  topicRoot: string;
  redis: { url: string; keyPrefix: string };
  /** Lifetime energy and Wi-Fi signal are only in InfluxDB (the collector keeps neither in Redis). */
  influx: { url: string; token: string; org: string; rawBucket: string } | undefined;
  readingsRefreshMs: number;
  tariff: TariffSettings;
  /** The loopback port of GET /health (0: none). */
  healthPort: number;
  logLevel: string;
}

const MQTT_SCHEMES = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:']);

/**
 * The Home Assistant bridge's settings, parsed once at start-up. Fails with
 * every bad setting named; MQTT_URL is required, since publishing to a
 * broker is all the service does (a deployment without one runs no bridge).
 */
export function loadHomeAssistantConfig(env: NodeJS.ProcessEnv): HomeAssistantConfig {
  const raw = parseEnv(schema, withFileSecrets(env, ['MQTT_PASSWORD', 'INFLUXDB_TOKEN']), 'home assistant bridge');
  let scheme: string;
  try {
    scheme = new URL(raw.MQTT_URL).protocol;
  } catch {
    throw new Error(`invalid home assistant bridge configuration:\nMQTT_URL: "${raw.MQTT_URL}" is not a URL`);
  }
  if (!MQTT_SCHEMES.has(scheme)) {
    throw new Error(
      `invalid home assistant bridge configuration:\nMQTT_URL: expected mqtt://, mqtts://, ws:// or wss://, got ${scheme}//`,
    );
  }
  let ca: string | undefined;
  if (raw.MQTT_TLS_CA_FILE !== undefined) {
    try {
      ca = readFileSync(raw.MQTT_TLS_CA_FILE, 'utf8');
    } catch (error) {
      throw new Error(
        `invalid home assistant bridge configuration:\nMQTT_TLS_CA_FILE: cannot read ${raw.MQTT_TLS_CA_FILE}: ${(error as Error).message}`,
      );
    }
  }
  return {
    mqtt: {
      url: raw.MQTT_URL,
      username: raw.MQTT_USERNAME,
      password: raw.MQTT_PASSWORD,
      ca,
      rejectUnauthorized: raw.MQTT_TLS_REJECT_UNAUTHORIZED,
    },
    discovery: raw.HA_DISCOVERY,
    discoveryPrefix: raw.HA_DISCOVERY_PREFIX.replace(/\/+$/, ''),
    stateMinIntervalMs: raw.HA_STATE_MIN_INTERVAL_S * 1000,
    topicRoot: raw.HA_TOPIC_ROOT.replace(/\/+$/, ''),
    redis: redisOf(raw),
    influx:
      raw.INFLUXDB_TOKEN === undefined
        ? undefined
        : {
            url: raw.INFLUXDB_URL,
            token: raw.INFLUXDB_TOKEN,
            org: raw.INFLUXDB_ORG,
            rawBucket: raw.INFLUXDB_BUCKET_RAW,
          },
    readingsRefreshMs: raw.HA_READINGS_REFRESH_S * 1000,
    tariff: tariffSettingsOf(raw),
    healthPort: raw.HEALTH_PORT,
    logLevel: raw.LOG_LEVEL,
  };
}
