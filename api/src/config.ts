import { isIP } from 'node:net';
import { CHICAGO_TIME_ZONE, isValidTimeZone } from '@twc/core/time/wall-clock';
import {
  bucketSettings,
  influxOf,
  influxSettings,
  logSettings,
  parseEnv,
  redisOf,
  redisSettings,
  withFileSecrets,
} from '@twc/runtime/env';
import { z } from 'zod';
import { type NotifySettings, PUSHOVER_API_URL } from './notify/notification.js';

const commaList = z
  .string()
  .transform((value) =>
    value
      .split(/[\s,]+/)
      .map((item) => item.trim())
      .filter(Boolean),
  )
  .optional();

function distinctCharacters(text: string): number {
  return new Set(text).size;
}

/** An address, a CIDR network, or a name proxy-addr knows (loopback, linklocal, uniquelocal). */
function isProxyAddress(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address, bits, ...rest] = entry.split('/');
  if (rest.length > 0 || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const length = Number(bits);
  return /^\d{1,3}$/.test(bits) && length <= (family === 4 ? 32 : 128);
}

/**
 * Grafana's GF_SMTP_HOST form, host:port ("[::1]:25" for IPv6); Grafana
 * refuses a host without a port, so one configuration serves both.
 */
const smtpHostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/, {
    message: 'must be host:port, as Grafana takes it (e.g. smtp.example.com:587)',
  })
  .transform((value) => {
    const separator = value.lastIndexOf(':');
    return { host: value.slice(0, separator).replace(/^\[(.*)\]$/, '$1'), port: Number(value.slice(separator + 1)) };
  })
  .refine(({ port }) => port >= 1 && port <= 65535, { message: 'has a port outside 1-65535' });

/** Grafana's e-mail contact point splits its addresses at commas, semicolons and newlines; so do we. */
const emailList = z
  .string()
  .transform((value) =>
    value
      .split(/[,;\n]/)
      .map((item) => item.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.email({ message: 'must be e-mail addresses separated by commas' })));

const schema = z
  .object({
    API_HOST: z.string().default('0.0.0.0'),
    API_PORT: z.coerce.number().int().min(0).max(65535).default(8000),
    // The API is published directly (port 8000): a client trickling its request must not hold a
    // connection forever.
    API_REQUEST_TIMEOUT_S: z.coerce.number().positive().max(3600).default(30),
    API_IDLE_TIMEOUT_S: z.coerce.number().positive().max(3600).default(120),
    TRUST_PROXY: z
      .string()
      .optional()
      .transform((value) =>
        (value ?? '')
          .split(/[\s,]+/)
          .map((item) => item.trim())
          .filter(Boolean),
      )
      .pipe(
        z.array(
          z.string().refine(isProxyAddress, {
            message:
              "must be the reverse proxy's addresses or networks, comma separated (e.g. 172.18.0.0/16, loopback), or empty",
          }),
        ),
      ),
    ...logSettings,
    ...influxSettings,
    ...bucketSettings,
    INFLUXDB_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
    // A request gives up on InfluxDB well before a browser or Home Assistant gives up on us;
    // the scheduled reports keep INFLUXDB_TIMEOUT_MS.
    INFLUXDB_QUERY_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
    ...redisSettings,
    TIMEZONE: z
      .string()
      .default(CHICAGO_TIME_ZONE)
      .refine(isValidTimeZone, { message: 'is not an IANA time zone name (e.g. America/Chicago)' }),
    AUTH_MODE: z.enum(['none', 'jwt', 'apikey']).default('none'),
    JWT_SECRET: z
      .string()
      .min(32, { message: 'must be at least 32 characters' })
      .refine((secret) => distinctCharacters(secret) >= 10, {
        message: 'is too guessable: use at least 10 different characters (setup generates one)',
      })
      .optional(),
    JWT_MAX_AGE_S: z.coerce
      .number()
      .int()
      .positive()
      .max(10 * 365 * 86_400)
      .default(365 * 86_400),
    API_KEYS: commaList.pipe(
      z
        .array(
          z
            .string()
            .min(16, { message: 'each key must be at least 16 characters' })
            .refine((key) => distinctCharacters(key) >= 8, {
              message: 'each key needs at least 8 different characters (setup generates one)',
            }),
        )
        .optional(),
    ),
    /** With AUTH_MODE=none the routes that steer a car are refused unless this is set on purpose. */
    CONTROL_WITHOUT_AUTH: z.stringbool().default(false),
    RATE_LIMIT_ENABLED: z.stringbool().default(true),
    RATE_LIMIT_MAX: z.coerce.number().int().positive().default(300),
    RATE_LIMIT_WINDOW_S: z.coerce.number().positive().default(60),
    CORS_ORIGINS: commaList,
    API_ALLOWED_HOSTS: commaList,
    GRAFANA_URL: z.url().default('http://localhost:3000'),
    WS_HEARTBEAT_S: z.coerce.number().positive().default(30),
    WS_MAX_BUFFERED_KB: z.coerce.number().int().positive().default(1024),
    REPORTS_ENABLED: z.stringbool().default(true),
    REPORTS_DIR: z.string().default('/var/lib/twc/reports'),
    NOTIFY_DAILY: z.stringbool().default(true),
    NOTIFY_WEEKLY: z.stringbool().default(true),
    NOTIFY_HOUR: z.coerce.number().int().min(0).max(23).default(7),
    ALERT_SLACK_WEBHOOK_URL: z.url().optional(),
    ALERT_DISCORD_WEBHOOK_URL: z.url().optional(),
    ALERT_PUSHOVER_APP_TOKEN: z.string().optional(),
    ALERT_PUSHOVER_USER_KEY: z.string().optional(),
    ALERT_WEBHOOK_URL: z.url().optional(),
    NOTIFY_PUSHOVER_API_URL: z.url().default(PUSHOVER_API_URL),
    // E-mail: the recipients and mail server of Grafana's e-mail alerts.
    ALERT_EMAIL_TO: z.optional(emailList),
    GRAFANA_SMTP_ENABLED: z.stringbool().default(false),
    GRAFANA_SMTP_HOST: z.optional(smtpHostPort),
    GRAFANA_SMTP_USER: z.string().optional(),
    GRAFANA_SMTP_PASSWORD: z.string().optional(),
    GRAFANA_SMTP_FROM_ADDRESS: z.email({ message: 'must be an e-mail address' }).optional(),
  })
  .superRefine((raw, context) => {
    if (raw.AUTH_MODE === 'jwt' && !raw.JWT_SECRET) {
      context.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'is required when AUTH_MODE=jwt' });
    }
    if (raw.AUTH_MODE === 'apikey' && (raw.API_KEYS ?? []).length === 0) {
      context.addIssue({ code: 'custom', path: ['API_KEYS'], message: 'is required when AUTH_MODE=apikey' });
    }
    if (Boolean(raw.ALERT_PUSHOVER_APP_TOKEN) !== Boolean(raw.ALERT_PUSHOVER_USER_KEY)) {
      context.addIssue({
        code: 'custom',
        path: ['ALERT_PUSHOVER_USER_KEY'],
        message: 'ALERT_PUSHOVER_APP_TOKEN and ALERT_PUSHOVER_USER_KEY go together',
      });
    }
    const recipients = (raw.ALERT_EMAIL_TO ?? []).length > 0;
    if (recipients && !raw.GRAFANA_SMTP_ENABLED) {
      context.addIssue({
        code: 'custom',
        path: ['GRAFANA_SMTP_ENABLED'],
        message: 'must be true when ALERT_EMAIL_TO is set: e-mail needs the mail server settings (GRAFANA_SMTP_*)',
      });
    }
    // SMTP on without recipients is Grafana's own mail (invites, password resets): summaries stay off.
    if (raw.GRAFANA_SMTP_ENABLED && recipients) {
      const required = [
        ['GRAFANA_SMTP_HOST', raw.GRAFANA_SMTP_HOST, 'the mail server, host:port'],
        ['GRAFANA_SMTP_FROM_ADDRESS', raw.GRAFANA_SMTP_FROM_ADDRESS, 'the sender address'],
      ] as const;
      for (const [name, value, what] of required) {
        if (!value) {
          context.addIssue({
            code: 'custom',
            path: [name],
            message: `is required to e-mail ALERT_EMAIL_TO (${what})`,
          });
        }
      }
    }
    if (Boolean(raw.GRAFANA_SMTP_USER) !== Boolean(raw.GRAFANA_SMTP_PASSWORD)) {
      context.addIssue({
        code: 'custom',
        path: [raw.GRAFANA_SMTP_USER ? 'GRAFANA_SMTP_PASSWORD' : 'GRAFANA_SMTP_USER'],
        message: 'is required: GRAFANA_SMTP_USER and GRAFANA_SMTP_PASSWORD (or GRAFANA_SMTP_PASSWORD_FILE) go together',
      });
    }
  });

export type ApiConfig = ReturnType<typeof loadApiConfig>;

/** Every setting the api reads. */
export const API_SETTINGS = Object.keys(schema.shape);

const SECRETS = [
  'INFLUXDB_TOKEN',
  'JWT_SECRET',
  'API_KEYS',
  'ALERT_PUSHOVER_APP_TOKEN',
  'GRAFANA_SMTP_PASSWORD',
] as const;

/** The API's settings from the environment, parsed once at start-up; secrets may come from NAME_FILE. */
export function loadApiConfig(env: NodeJS.ProcessEnv) {
  const raw = parseEnv(schema, withFileSecrets(env, SECRETS), 'api');
  return {
    host: raw.API_HOST,
    port: raw.API_PORT,
    http: {
      requestTimeoutMs: raw.API_REQUEST_TIMEOUT_S * 1000,
      idleTimeoutMs: raw.API_IDLE_TIMEOUT_S * 1000,
      /** Addresses whose X-Forwarded-For is believed; none by default. */
      trustProxy: raw.TRUST_PROXY,
    },
    logLevel: raw.LOG_LEVEL,
    influx: {
      ...influxOf(raw),
      timeoutMs: raw.INFLUXDB_TIMEOUT_MS,
      queryTimeoutMs: raw.INFLUXDB_QUERY_TIMEOUT_MS,
      buckets: {
        raw: raw.INFLUXDB_BUCKET_RAW,
        sessions: raw.INFLUXDB_BUCKET_SESSIONS,
        prices: raw.INFLUXDB_BUCKET_PRICES,
      },
    },
    redis: redisOf(raw),
    timeZone: raw.TIMEZONE,
    auth: {
      mode: raw.AUTH_MODE,
      jwtSecret: raw.JWT_SECRET,
      jwtMaxAgeS: raw.JWT_MAX_AGE_S,
      apiKeys: raw.API_KEYS ?? [],
      controlWithoutAuth: raw.CONTROL_WITHOUT_AUTH,
    },
    rateLimit: { enabled: raw.RATE_LIMIT_ENABLED, max: raw.RATE_LIMIT_MAX, windowMs: raw.RATE_LIMIT_WINDOW_S * 1000 },
    corsOrigins: raw.CORS_ORIGINS ?? [],
    /** Host names besides local ones (addresses, localhost, single labels, .local, .lan...) the API answers for. */
    allowedHosts: raw.API_ALLOWED_HOSTS ?? [],
    grafanaUrl: raw.GRAFANA_URL,
    websocket: { heartbeatMs: raw.WS_HEARTBEAT_S * 1000, maxBufferedBytes: raw.WS_MAX_BUFFERED_KB * 1024 },
    reports: {
      enabled: raw.REPORTS_ENABLED,
      dir: raw.REPORTS_DIR,
      daily: raw.NOTIFY_DAILY,
      weekly: raw.NOTIFY_WEEKLY,
      notifyHour: raw.NOTIFY_HOUR,
    },
    notify: {
      slackWebhookUrl: raw.ALERT_SLACK_WEBHOOK_URL,
      discordWebhookUrl: raw.ALERT_DISCORD_WEBHOOK_URL,
      pushover:
        raw.ALERT_PUSHOVER_APP_TOKEN && raw.ALERT_PUSHOVER_USER_KEY
          ? { token: raw.ALERT_PUSHOVER_APP_TOKEN, user: raw.ALERT_PUSHOVER_USER_KEY }
          : undefined,
      webhookUrl: raw.ALERT_WEBHOOK_URL,
      pushoverApiUrl: raw.NOTIFY_PUSHOVER_API_URL,
      email:
        raw.GRAFANA_SMTP_ENABLED && raw.ALERT_EMAIL_TO && raw.GRAFANA_SMTP_HOST && raw.GRAFANA_SMTP_FROM_ADDRESS
          ? {
              host: raw.GRAFANA_SMTP_HOST.host,
              port: raw.GRAFANA_SMTP_HOST.port,
              user: raw.GRAFANA_SMTP_USER,
              password: raw.GRAFANA_SMTP_PASSWORD,
              from: raw.GRAFANA_SMTP_FROM_ADDRESS,
              to: raw.ALERT_EMAIL_TO,
            }
          : undefined,
    } satisfies NotifySettings,
  };
}
