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
import { createRedisConnection } from '@twc/runtime/redis-connection';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { z } from 'zod';

/**
 * What the API reads from Redis (the collector and the price poller write
 * it). Every read answers undefined when Redis is down or holds something
 * unreadable, so routes fall back to InfluxDB: the API keeps serving,
 * degraded. An outage is logged once when it starts and once when it ends.
 */
export interface LiveStore {
  /** The connection, shared with the rate limiter. */
  readonly client: Redis;
  readonly keyPrefix: string;
  chargers(): Promise<ChargerStatus[] | undefined>;
  /** A charger's status, from a copy of the charger list at most a couple of seconds old. */
  chargerStatus(chargerId: string): Promise<ChargerStatus | undefined>;
  /**
   * The charger id (its serial) of `idOrName`: itself when it is an id, the id of the charger
   * configured under that name (CHARGERS) when it is a name; itself when neither (or Redis is away).
   */
  chargerIdOf(idOrName: string): Promise<string>;
  /** One charger's latest vitals, status and session, read in a single round trip. */
  chargerLive(
    chargerId: string,
  ): Promise<{ vitals?: LiveVitals; status?: ChargerStatus; session?: LiveSession } | undefined>;
  session(chargerId: string): Promise<LiveSession | undefined>;
  price(): Promise<CurrentPrice | undefined>;
  /** The comed-poller's forecast of the hours ahead. */
  forecast(): Promise<PriceForecast | undefined>;
  /** A charger's smart-charging settings and the planner's state; undefined when Redis cannot answer. */
  plan(chargerId: string): Promise<{ settings?: PlanSettings; state?: PlanState } | undefined>;
  /** Saves a charger's settings and tells the planner; false when Redis cannot take them. */
  writePlanSettings(chargerId: string, settings: PlanSettings): Promise<boolean>;
  /** Connects; resolves (degraded) even when Redis is down, ioredis keeps trying. */
  connect(): Promise<void>;
  ping(): Promise<boolean>;
  stats(): { failures: number; available: boolean };
  /** Redis answers (connected and not stalled): an absent value is absent, not unknown. */
  available(): boolean;
  /** A command of the API's own (the rate limiter's count), with the same timeout and outage handling. */
  run<T>(command: (redis: Redis) => Promise<T>): Promise<T | undefined>;
  close(): Promise<void>;
}

/** How long a request waits for Redis before answering without it (from InfluxDB, degraded). */
export const REDIS_COMMAND_TIMEOUT_MS = 500;

export function createLiveStore(options: { url: string; keyPrefix: string; logger: Logger }): LiveStore {
  const { keyPrefix: prefix, logger } = options;
  const connection = createRedisConnection({
    url: options.url,
    logger,
    purpose: 'live data',
    messages: {
      down: 'Redis unavailable; serving from InfluxDB (degraded)',
      up: 'Redis reachable again; live data restored',
    },
    // While Redis is down a read fails at once and the route falls back to InfluxDB; while it is
    // stalled (paused, swapping) a read gives up after REDIS_COMMAND_TIMEOUT_MS and takes the same path.
    client: { autoPipelining: true, connectTimeoutMs: 2000, commandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS },
  });
  let unreadableLogged = false;

  /** A payload parsed with its writer's schema; anything else is left out, logged once. */
  function parse<T>(schema: z.ZodType<T>, text: string | null | undefined, key: string): T | undefined {
    if (text === null || text === undefined) return undefined;
    const value = parseRedisPayload(schema, text);
    if (value === undefined && !unreadableLogged) {
      unreadableLogged = true;
      logger.warn({ key }, 'a Redis value is not what its writer writes; ignored (logged once)');
    }
    return value;
  }

  // The collector writes charger statuses without publishing them; their
  // online flag changes over many seconds, so one read serves every request
  // for a couple of seconds.
  const STATUS_MEMO_MS = 2000;
  let statusMemo: { atMs: number; statuses: Promise<ChargerStatus[] | undefined> } | undefined;

  async function chargers(): Promise<ChargerStatus[] | undefined> {
    const hash = await connection.run((redis) => redis.hgetall(liveKeys.chargers(prefix)));
    if (hash === undefined) return undefined;
    return Object.entries(hash)
      .map(([id, text]) => parse(chargerStatusSchema, text, `${liveKeys.chargers(prefix)} ${id}`))
      .filter((status): status is ChargerStatus => status !== undefined);
  }

  return {
    client: connection.redis,
    keyPrefix: prefix,
    chargers,
    async chargerStatus(chargerId) {
      if (!statusMemo || Date.now() - statusMemo.atMs > STATUS_MEMO_MS) {
        statusMemo = { atMs: Date.now(), statuses: chargers() };
      }
      return (await statusMemo.statuses)?.find((status) => status.charger_id === chargerId);
    },
    async chargerIdOf(idOrName) {
      if (!statusMemo || Date.now() - statusMemo.atMs > STATUS_MEMO_MS) {
        statusMemo = { atMs: Date.now(), statuses: chargers() };
      }
      const statuses = (await statusMemo.statuses) ?? [];
      // An id wins over a name: the serial stays canonical.
      if (statuses.some((status) => status.charger_id === idOrName)) return idOrName;
      return statuses.find((status) => status.charger_name === idOrName)?.charger_id ?? idOrName;
    },
    async chargerLive(chargerId) {
      const read = await connection.run((redis) =>
        Promise.all([
          redis.get(liveKeys.vitals(prefix, chargerId)),
          redis.hget(liveKeys.chargers(prefix), chargerId),
          redis.get(sessionKeys.live(prefix, chargerId)),
        ]),
      );
      if (read === undefined) return undefined;
      const [vitals, status, session] = read;
      return {
        vitals: parse(liveVitalsSchema, vitals, liveKeys.vitals(prefix, chargerId)),
        status: parse(chargerStatusSchema, status, `${liveKeys.chargers(prefix)} ${chargerId}`),
        session: parse(liveSessionSchema, session, sessionKeys.live(prefix, chargerId)),
      };
    },
    async session(chargerId) {
      const key = sessionKeys.live(prefix, chargerId);
      return parse(liveSessionSchema, await connection.run((redis) => redis.get(key)), key);
    },
    async price() {
      const key = priceKeys.current(prefix);
      return parse(currentPriceSchema, await connection.run((redis) => redis.get(key)), key);
    },
    async forecast() {
      const key = priceKeys.forecast(prefix);
      return parse(priceForecastSchema, await connection.run((redis) => redis.get(key)), key);
    },
    async plan(chargerId) {
      const settingsKey = planKeys.settings(prefix, chargerId);
      const stateKey = planKeys.state(prefix, chargerId);
      const read = await connection.run((redis) => redis.mget(settingsKey, stateKey));
      if (read === undefined) return undefined;
      return {
        settings: parse(planSettingsSchema, read[0], settingsKey),
        state: parse(planStateSchema, read[1], stateKey),
      };
    },
    async writePlanSettings(chargerId, settings) {
      return (await connection.run((redis) => savePlanSettings(redis, prefix, chargerId, settings))) === true;
    },
    async connect() {
      await connection.ready(2000);
    },
    async ping() {
      return (await connection.run((redis) => redis.ping())) === 'PONG';
    },
    stats() {
      const { failedCommands, connected } = connection.stats();
      return { failures: failedCommands, available: connected };
    },
    available: () => connection.available(),
    run: (command) => connection.run(command),
    close: () => connection.close(),
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    live: LiveStore;
  }
}

export function registerLiveStore(app: FastifyInstance, store: LiveStore): void {
  app.decorate('live', store);
  app.addHook('onClose', async () => {
    await store.close();
  });
}
