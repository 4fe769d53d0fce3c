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
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';

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
  /** One charger's latest vitals, status and session, read in a single round trip. */
  chargerLive(
    chargerId: string,
  ): Promise<{ vitals?: LiveVitals; status?: ChargerStatus; session?: LiveSession } | undefined>;
  session(chargerId: string): Promise<LiveSession | undefined>;
  price(): Promise<CurrentPrice | undefined>;
  /** Connects; resolves (degraded) even when Redis is down, ioredis keeps trying. */
  connect(): Promise<void>;
  ping(): Promise<boolean>;
  stats(): { failures: number; available: boolean };
  close(): Promise<void>;
}

export function createLiveStore(options: { url: string; keyPrefix: string; logger: Logger }): LiveStore {
  const { keyPrefix: prefix, logger } = options;
  let failures = 0;
  let down = false;
  const client = new Redis(options.url, {
    lazyConnect: true,
    // While Redis is down a read fails at once and the route falls back to
    // InfluxDB, instead of waiting in ioredis' offline queue.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    // Commands issued in the same tick share one write and one round trip.
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 5000),
  });
  client.on('error', () => {
    // Surfaces through failed reads, logged once below.
  });
  client.on('ready', () => {
    if (down) logger.info({ failures }, 'Redis reachable again; live data restored');
    down = false;
  });

  function failed(error: unknown): undefined {
    failures++;
    if (!down) {
      down = true;
      logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'Redis unavailable; serving from InfluxDB (degraded)',
      );
    }
    return undefined;
  }

  // The collector writes charger statuses without publishing them; their
  // online flag changes over many seconds, so one read serves every request
  // for a couple of seconds.
  const STATUS_MEMO_MS = 2000;
  let statusMemo: { atMs: number; statuses: Promise<ChargerStatus[] | undefined> } | undefined;

  function parse<T>(text: string | null, key: string): T | undefined {
    if (text === null) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch {
      logger.warn({ key }, 'unreadable JSON in Redis; ignored');
      return undefined;
    }
  }

  async function get<T>(key: string): Promise<T | undefined> {
    try {
      return parse<T>(await client.get(key), key);
    } catch (error) {
      return failed(error);
    }
  }

  async function chargers(): Promise<ChargerStatus[] | undefined> {
    try {
      const hash = await client.hgetall(liveKeys.chargers(prefix));
      return Object.entries(hash)
        .map(([id, text]) => parse<ChargerStatus>(text, `${liveKeys.chargers(prefix)} ${id}`))
        .filter((status): status is ChargerStatus => status !== undefined);
    } catch (error) {
      return failed(error);
    }
  }

  return {
    client,
    keyPrefix: prefix,
    chargers,
    async chargerStatus(chargerId) {
      if (!statusMemo || Date.now() - statusMemo.atMs > STATUS_MEMO_MS) {
        statusMemo = { atMs: Date.now(), statuses: chargers() };
      }
      return (await statusMemo.statuses)?.find((status) => status.charger_id === chargerId);
    },
    async chargerLive(chargerId) {
      try {
        const [vitals, status, session] = await Promise.all([
          client.get(liveKeys.vitals(prefix, chargerId)),
          client.hget(liveKeys.chargers(prefix), chargerId),
          client.get(sessionKeys.live(prefix, chargerId)),
        ]);
        return {
          vitals: parse<LiveVitals>(vitals, liveKeys.vitals(prefix, chargerId)),
          status: parse<ChargerStatus>(status, `${liveKeys.chargers(prefix)} ${chargerId}`),
          session: parse<LiveSession>(session, sessionKeys.live(prefix, chargerId)),
        };
      } catch (error) {
        return failed(error);
      }
    },
    session: (chargerId) => get<LiveSession>(sessionKeys.live(prefix, chargerId)),
    price: () => get<CurrentPrice>(priceKeys.current(prefix)),
    async connect() {
      try {
        await client.connect();
      } catch (error) {
        failed(error);
      }
    },
    async ping() {
      try {
        return (await client.ping()) === 'PONG';
      } catch (error) {
        failed(error);
        return false;
      }
    },
    stats() {
      return { failures, available: client.status === 'ready' };
    },
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
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
