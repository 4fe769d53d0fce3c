/**
 * What the Home Assistant bridge reads from Redis: the collector's charger
 * statuses, vitals and sessions and the price poller's current price (the
 * bridge never calls a charger or ComEd), plus the bridge's own record of
 * the retained MQTT topics it has published, so a charger removed while the
 * bridge was down still has its topics cleared.
 */
import {
  type ChargerStatus,
  type CurrentPrice,
  type LiveSession,
  type LiveVitals,
  liveKeys,
  priceKeys,
  sessionKeys,
} from '@twc/core/contracts/redis';
import type { Logger } from '@twc/runtime/logger';
import { Redis } from 'ioredis';
import { z } from 'zod';

export const homeAssistantKeys = {
  /** Set of every retained MQTT topic the bridge has published and not cleared yet. */
  retainedTopics: (prefix: string) => `${prefix}ha:retained-topics`,
};

// Only the fields the bridge uses are checked; the rest passes through.
const nullableNumber = z.number().nullable();
const statusSchema = z.looseObject({
  charger_id: z.string().min(1),
  charger_name: z.string(),
  serial_number: z.string().min(1),
  firmware_version: z.string().nullable(),
  online: z.boolean(),
});
const vitalsSchema = z.looseObject({
  charger_id: z.string().min(1),
  time: z.string(),
  vitals: z.looseObject({
    power_w: z.number(),
    vehicle_connected: z.boolean(),
    charging: z.boolean(),
    evse_state_name: z.string(),
    handle_temp_c: nullableNumber,
    grid_v: nullableNumber,
    vehicle_current_a: nullableNumber,
  }),
});
const sessionSchema = z.looseObject({
  charger_id: z.string().min(1),
  session: z.looseObject({ startTimeMs: z.number(), energyWh: z.number() }),
  cost: z.looseObject({ totalCostUsd: z.number() }),
  updated: z.string(),
});
const priceSchema = z.looseObject({
  five_minute: z.looseObject({ price_cents_kwh: z.number() }).nullable(),
  hour_average: z.looseObject({ price_cents_kwh: z.number() }).nullable(),
  stale: z.boolean(),
  updated: z.string(),
});

export type PayloadKind = 'status' | 'vitals' | 'session' | 'price';

export interface LiveHandlers {
  vitals(sample: LiveVitals): void;
  session(live: LiveSession): void;
  price(price: CurrentPrice): void;
}

export interface BridgeSource {
  /** Subscribes to the collector's and the price poller's channels. */
  subscribe(handlers: LiveHandlers): Promise<void>;
  /** Every charger in the statuses hash; throws when Redis cannot answer (an outage is not an empty list). */
  chargers(): Promise<ChargerStatus[]>;
  vitals(chargerId: string): Promise<LiveVitals | undefined>;
  session(chargerId: string): Promise<LiveSession | undefined>;
  price(): Promise<CurrentPrice | undefined>;
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
  const malformed: Record<PayloadKind, number> = { status: 0, vitals: 0, session: 0, price: 0 };
  const redisOptions = {
    // Commands fail fast while Redis is down; the bridge's refresh loop tries again.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 5000),
  };
  let redis: Redis | undefined;
  let subscriber: Redis | undefined;
  let down = false;

  function client(): Redis {
    if (!redis) {
      redis = new Redis(options.url, redisOptions);
      redis.on('error', () => {
        // Surfaces through failed commands, logged once per outage by `failed`.
      });
      redis.on('ready', () => {
        if (down) log.info('Redis reachable again');
        down = false;
      });
    }
    return redis;
  }

  function failed(error: unknown): never {
    if (!down) log.warn({ err: (error as Error).message }, 'Redis unavailable; Home Assistant states paused');
    down = true;
    throw error;
  }

  function parse<T>(kind: PayloadKind, schema: z.ZodType, text: string): T | undefined {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    const result = schema.safeParse(value);
    if (result.success) return result.data as T;
    malformed[kind]++;
    if (malformed[kind] === 1) {
      log.warn(
        { kind, sample: text.slice(0, 200) },
        'malformed payload in Redis ignored; further ones are only counted',
      );
    }
    return undefined;
  }

  async function getJson<T>(kind: PayloadKind, schema: z.ZodType, key: string): Promise<T | undefined> {
    const text = await client().get(key).catch(failed);
    return text === null ? undefined : parse<T>(kind, schema, text);
  }

  return {
    async subscribe(handlers) {
      subscriber = new Redis(options.url, { ...redisOptions, maxRetriesPerRequest: null });
      subscriber.on('error', () => {});
      const vitalsPattern = `${globLiteral(prefix)}vitals:*`;
      const sessionPattern = `${globLiteral(prefix)}session:*`;
      subscriber.on('pmessage', (pattern: string, _channel: string, message: string) => {
        if (pattern === vitalsPattern) {
          const sample = parse<LiveVitals>('vitals', vitalsSchema, message);
          if (sample) handlers.vitals(sample);
        } else if (pattern === sessionPattern) {
          const live = parse<LiveSession>('session', sessionSchema, message);
          if (live) handlers.session(live);
        }
      });
      subscriber.on('message', (channel: string, message: string) => {
        if (channel !== priceKeys.channel(prefix)) return;
        const price = parse<CurrentPrice>('price', priceSchema, message);
        if (price) handlers.price(price);
      });
      await subscriber.psubscribe(vitalsPattern, sessionPattern);
      await subscriber.subscribe(priceKeys.channel(prefix));
    },
    async chargers() {
      const entries = await client().hgetall(liveKeys.chargers(prefix)).catch(failed);
      const statuses: ChargerStatus[] = [];
      for (const text of Object.values(entries)) {
        const status = parse<ChargerStatus>('status', statusSchema, text);
        if (status) statuses.push(status);
      }
      return statuses.sort((a, b) => a.charger_id.localeCompare(b.charger_id));
    },
    vitals: (chargerId) => getJson<LiveVitals>('vitals', vitalsSchema, liveKeys.vitals(prefix, chargerId)),
    session: (chargerId) => getJson<LiveSession>('session', sessionSchema, sessionKeys.live(prefix, chargerId)),
    price: () => getJson<CurrentPrice>('price', priceSchema, priceKeys.current(prefix)),
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
