/**
 * What the Home Assistant bridge reads from Redis: the collector's charger
 * statuses, vitals and sessions and the price poller's current price and
 * forecast, the planner's state and the user's smart-charging settings (the
 * bridge never calls a charger or ComEd), plus the bridge's
 * own ledger of the retained MQTT topics it has published, so a charger
 * removed while the bridge was down still has its topics cleared.
 *
 * Every payload is parsed with its writer's schema (@twc/core/contracts/redis):
 * one that does not match is counted and treated as absent.
 *
 * It writes one thing besides its ledger: the settings a command from Home
 * Assistant changed, saved and announced as the API saves them.
 */
import {
  type ChargerStatus,
  type CurrentPrice,
  chargerStatusSchema,
  currentPriceSchema,
  type LiveSession,
  type LiveVitals,
  liveKeys,
  liveSessionSchema,
  liveVitalsSchema,
  type PlanSettings,
  type PlanState,
  type PriceForecast,
  parseRedisPayload,
  planKeys,
  planSettingsSchema,
  planStateSchema,
  priceForecastSchema,
  priceKeys,
  sessionKeys,
} from '@twc/core/contracts/redis';
import type { Logger } from '@twc/runtime/logger';
import { savePlanSettings } from '@twc/runtime/plan-settings-write';
import { Redis } from 'ioredis';
import type { z } from 'zod';

export const homeAssistantKeys = {
  /** Set of every retained MQTT topic the bridge has published and not cleared yet. */
  retainedTopics: (prefix: string) => `${prefix}ha:retained-topics`,
};

export type PayloadKind = 'status' | 'vitals' | 'session' | 'price' | 'forecast' | 'plan' | 'plan_settings';

export interface LiveHandlers {
  vitals(sample: LiveVitals): void;
  session(live: LiveSession): void;
  price(price: CurrentPrice): void;
  forecast(forecast: PriceForecast): void;
  plan(state: PlanState): void;
  /** A charger's settings changed (the channel names the charger; read them with `planSettings`). */
  planSettingsChanged(chargerId: string): void;
}

export interface BridgeSource {
  /** Connects and subscribes to the collector's and the price poller's channels. */
  start(handlers: LiveHandlers): Promise<void>;
  /** Every charger in the statuses hash; throws when Redis cannot answer (an outage is not an empty list). */
  chargers(): Promise<ChargerStatus[]>;
  vitals(chargerId: string): Promise<LiveVitals | undefined>;
  session(chargerId: string): Promise<LiveSession | undefined>;
  price(): Promise<CurrentPrice | undefined>;
  forecast(): Promise<PriceForecast | undefined>;
  plan(chargerId: string): Promise<PlanState | undefined>;
  /** The saved settings; undefined when none are (the defaults apply); throws when Redis cannot answer. */
  planSettings(chargerId: string): Promise<PlanSettings | undefined>;
  /** Saves and announces a charger's settings; false when Redis did not take them. */
  savePlanSettings(chargerId: string, settings: PlanSettings): Promise<boolean>;
  retainedTopics(): Promise<string[]>;
  addRetainedTopics(topics: readonly string[]): Promise<void>;
  removeRetainedTopics(topics: readonly string[]): Promise<void>;
  stats(): { malformed: Record<PayloadKind, number> };
  stop(): Promise<void>;
}

/** A Redis glob pattern matching `text` literally. */
function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
}

export function createRedisBridgeSource(options: { url: string; keyPrefix: string; logger: Logger }): BridgeSource {
  const { keyPrefix: prefix } = options;
  const log = options.logger.child({ module: 'redis-bridge-source' });
  const malformed: Record<PayloadKind, number> = {
    status: 0,
    vitals: 0,
    session: 0,
    price: 0,
    forecast: 0,
    plan: 0,
    plan_settings: 0,
  };
  const redisOptions = {
    // Commands fail fast while Redis is down; the bridge's refresh loop tries again.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 5000),
  };
  let redis: Redis | undefined;
  let subscriber: Redis | undefined;
  let down = false;

  function client(): Redis {
    if (!redis) throw new Error('redis-bridge-source: not started');
    return redis;
  }

  function failed(error: unknown): never {
    if (!down) log.warn({ err: (error as Error).message }, 'Redis unavailable; Home Assistant states paused');
    down = true;
    throw error;
  }

  function parse<T>(kind: PayloadKind, schema: z.ZodType<T>, text: string): T | undefined {
    const value = parseRedisPayload(schema, text);
    if (value !== undefined) return value;
    malformed[kind]++;
    if (malformed[kind] === 1) {
      log.warn(
        { kind, sample: text.slice(0, 200) },
        'malformed payload in Redis ignored; further ones are only counted',
      );
    }
    return undefined;
  }

  async function getJson<T>(kind: PayloadKind, schema: z.ZodType<T>, key: string): Promise<T | undefined> {
    const text = await client().get(key).catch(failed);
    return text === null ? undefined : parse(kind, schema, text);
  }

  return {
    async start(handlers) {
      redis = new Redis(options.url, redisOptions);
      redis.on('error', () => {
        // Surfaces through failed commands, logged once per outage by `failed`.
      });
      redis.on('ready', () => {
        if (down) log.info('Redis reachable again');
        down = false;
      });
      subscriber = new Redis(options.url, { ...redisOptions, maxRetriesPerRequest: null });
      subscriber.on('error', () => {});
      const vitalsPattern = liveKeys.vitalsChannelPattern(globLiteral(prefix));
      const sessionPattern = sessionKeys.channelPattern(globLiteral(prefix));
      const planPattern = planKeys.stateChannelPattern(globLiteral(prefix));
      subscriber.on('pmessage', (pattern: string, _channel: string, message: string) => {
        if (pattern === planPattern) {
          const state = parse('plan', planStateSchema, message);
          if (state) handlers.plan(state);
        } else if (pattern === vitalsPattern) {
          const sample = parse('vitals', liveVitalsSchema, message);
          if (sample) handlers.vitals(sample);
        } else if (pattern === sessionPattern) {
          const live = parse('session', liveSessionSchema, message);
          if (live) handlers.session(live);
        }
      });
      subscriber.on('message', (channel: string, message: string) => {
        if (channel === priceKeys.channel(prefix)) {
          const price = parse('price', currentPriceSchema, message);
          if (price) handlers.price(price);
        } else if (channel === priceKeys.forecastChannel(prefix)) {
          const forecast = parse('forecast', priceForecastSchema, message);
          if (forecast) handlers.forecast(forecast);
        } else if (channel === planKeys.settingsChannel(prefix)) {
          handlers.planSettingsChanged(message);
        }
      });
      await subscriber.psubscribe(vitalsPattern, sessionPattern, planPattern);
      await subscriber.subscribe(
        priceKeys.channel(prefix),
        priceKeys.forecastChannel(prefix),
        planKeys.settingsChannel(prefix),
      );
    },
    async chargers() {
      const entries = await client().hgetall(liveKeys.chargers(prefix)).catch(failed);
      const statuses: ChargerStatus[] = [];
      for (const text of Object.values(entries)) {
        const status = parse('status', chargerStatusSchema, text);
        if (status) statuses.push(status);
      }
      return statuses.sort((a, b) => a.charger_id.localeCompare(b.charger_id));
    },
    vitals: (chargerId) => getJson('vitals', liveVitalsSchema, liveKeys.vitals(prefix, chargerId)),
    session: (chargerId) => getJson('session', liveSessionSchema, sessionKeys.live(prefix, chargerId)),
    price: () => getJson('price', currentPriceSchema, priceKeys.current(prefix)),
    forecast: () => getJson('forecast', priceForecastSchema, priceKeys.forecast(prefix)),
    plan: (chargerId) => getJson('plan', planStateSchema, planKeys.state(prefix, chargerId)),
    planSettings: (chargerId) => getJson('plan_settings', planSettingsSchema, planKeys.settings(prefix, chargerId)),
    async savePlanSettings(chargerId, settings) {
      return savePlanSettings(client(), prefix, chargerId, settings).catch(failed);
    },
    async retainedTopics() {
      return client().smembers(homeAssistantKeys.retainedTopics(prefix)).catch(failed);
    },
    async addRetainedTopics(topics) {
      if (topics.length === 0) return;
      await client()
        .sadd(homeAssistantKeys.retainedTopics(prefix), ...topics)
        .catch(failed);
    },
    async removeRetainedTopics(topics) {
      if (topics.length === 0) return;
      await client()
        .srem(homeAssistantKeys.retainedTopics(prefix), ...topics)
        .catch(failed);
    },
    stats: () => ({ malformed: { ...malformed } }),
    async stop() {
      await Promise.all(
        [redis, subscriber].map((connection) => connection?.quit().catch(() => connection.disconnect())),
      );
      redis = undefined;
      subscriber = undefined;
    },
  };
}
