import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { ApiConfig } from '../../config.js';
import type { LiveStore } from '../app/redis.js';

/** One window's count: INCR, and the window's expiry set by the first request of it. */
const COUNT_SCRIPT = `local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {current, redis.call('PTTL', KEYS[1])}`;

/** Clients counted in memory at once while Redis is away. */
const LOCAL_CLIENTS_MAX = 10_000;

interface Count {
  current: number;
  ttl: number;
}

/** Counts per window in this process: what the limiter uses while Redis does not answer. */
function createLocalCounts() {
  const windows = new Map<string, { current: number; startMs: number; windowMs: number }>();
  return (key: string, windowMs: number): Count => {
    const nowMs = Date.now();
    let entry = windows.get(key);
    if (!entry || nowMs - entry.startMs >= entry.windowMs) {
      if (!entry && windows.size >= LOCAL_CLIENTS_MAX) {
        for (const [name, value] of windows) if (nowMs - value.startMs >= value.windowMs) windows.delete(name);
        if (windows.size >= LOCAL_CLIENTS_MAX) windows.delete(windows.keys().next().value as string);
      }
      entry = { current: 0, startMs: nowMs, windowMs };
      windows.set(key, entry);
    }
    entry.current++;
    return { current: entry.current, ttl: entry.windowMs - (nowMs - entry.startMs) };
  };
}

/**
 * The limiter's store: the count in Redis, so every replica shares it; when
 * Redis is down or stalled (the live store's command timeout, then a pause),
 * a count in memory, so no request waits on Redis and limits still hold,
 * per replica.
 */
function storeOf(live: LiveStore, nameSpace: string) {
  const local = createLocalCounts();
  return class RedisOrMemoryStore {
    constructor(
      _options?: unknown,
      private readonly prefix = nameSpace,
    ) {}
    incr(key: string, done: (error: Error | null, count: Count) => void, windowMs: number): void {
      const name = this.prefix + key;
      void live
        .run((redis) => redis.eval(COUNT_SCRIPT, 1, name, windowMs) as Promise<[number, number]>)
        .then((counted) => {
          done(null, counted ? { current: counted[0], ttl: counted[1] } : local(name, windowMs));
        });
    }
    /** A route with limits of its own counts apart (the plugin passes its routeInfo). */
    child(routeOptions: object) {
      const route = (routeOptions as { routeInfo?: { method: string; url: string } }).routeInfo;
      return new RedisOrMemoryStore(undefined, `${this.prefix}${route?.method ?? ''}${route?.url ?? ''}-`);
    }
  };
}

/**
 * Requests per client and window, counted in Redis so every API replica
 * shares the count (in memory while Redis is away: requests never wait for
 * it). A client is its credential once auth verified it (several people
 * behind one NAT are not one client), its address otherwise: a made-up
 * credential must not buy a fresh count. Registered after auth, whose hook
 * sets the verified client.
 */
export async function registerRateLimit(
  app: FastifyInstance,
  settings: ApiConfig['rateLimit'],
  live: LiveStore,
): Promise<void> {
  if (!settings.enabled) return;
  await app.register(rateLimit, {
    global: true,
    max: settings.max,
    timeWindow: settings.windowMs,
    store: storeOf(live, `${live.keyPrefix}ratelimit:`),
    keyGenerator: (request) => request.verifiedClient ?? `ip:${request.ip}`,
  });
}
