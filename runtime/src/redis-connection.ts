import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

export interface RedisClientOptions {
  /** A client that only subscribes: its commands may wait for a reconnection (ioredis re-subscribes by itself). */
  subscriber?: boolean;
  /** Commands issued in the same tick share one write and one round trip (the API's reads). */
  autoPipelining?: boolean;
  connectTimeoutMs?: number;
  /**
   * A command unanswered this long fails (ioredis' commandTimeout): a stalled
   * Redis (paused, swapping) keeps its connection open and answers nothing,
   * which no reconnection notices. For request paths.
   */
  commandTimeoutMs?: number;
}

/**
 * The one way the services make an ioredis client: it connects when first
 * asked to (constructing opens no socket), reconnects forever at most every
 * 5 s (Redis may restart while we run), and its errors surface through the
 * commands that fail, never as an unhandled event.
 */
export function createRedisClient(url: string, options: RedisClientOptions = {}): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 5000),
    ...(options.subscriber
      ? { maxRetriesPerRequest: null }
      : // A command while Redis is away fails at once instead of waiting in ioredis' offline queue.
        { enableOfflineQueue: false, maxRetriesPerRequest: 0 }),
    ...(options.autoPipelining ? { enableAutoPipelining: true } : {}),
    ...(options.connectTimeoutMs ? { connectTimeout: options.connectTimeoutMs } : {}),
    ...(options.commandTimeoutMs ? { commandTimeout: options.commandTimeoutMs } : {}),
  });
  redis.on('error', () => {});
  return redis;
}

export interface RedisConnection {
  readonly redis: Redis;
  /** Starts connecting (idempotent); never throws: an absent Redis is an outage, logged once. */
  connect(): void;
  /** Connects, and resolves true once connected, false after `timeoutMs` without a connection. */
  ready(timeoutMs: number): Promise<boolean>;
  /**
   * Runs `command` when Redis is connected; otherwise, or when it fails,
   * counts a failure and returns undefined. Never waits for a reconnection:
   * a Redis outage must not slow collection, requests or shutdown.
   */
  run<T>(command: (redis: Redis) => Promise<T>): Promise<T | undefined>;
  stats(): { failedCommands: number; connected: boolean };
  /** Connected, and not paused after a command that timed out: a command now would be tried. */
  available(): boolean;
  close(): Promise<void>;
}

/** After a command times out, commands fail at once for this long, then one is tried again. */
export const STALL_PAUSE_MS = 1000;

function isTimeout(error: unknown): boolean {
  // ioredis rejects with a plain Error "Command timed out" (no code).
  return error instanceof Error && /timed out/i.test(error.message);
}

/**
 * One Redis connection of a service, for state that is useful but not
 * essential (live values, checkpoints, the current price, the API's live
 * reads). Commands fail fast while Redis is away, the outage is logged once
 * when it starts and once when it ends, and reconnection goes on in the
 * background.
 */
export function createRedisConnection(options: {
  url: string;
  logger: Logger;
  /** What pauses while Redis is away, for the log lines: "live state", "session checkpoints". */
  purpose: string;
  /** Other log lines than "Redis unavailable; <purpose> paused" / "Redis reachable again; <purpose> resumes". */
  messages?: { down: string; up: string };
  client?: Omit<RedisClientOptions, 'subscriber'>;
}): RedisConnection {
  const { logger, purpose } = options;
  const messages = options.messages ?? {
    down: `Redis unavailable; ${purpose} paused`,
    up: `Redis reachable again; ${purpose} resumes`,
  };
  let failedCommands = 0;
  let down = false;
  let pausedUntilMs = 0;
  const redis = createRedisClient(options.url, options.client);
  function up(): void {
    if (down) logger.info({ failedCommands }, messages.up);
    down = false;
    pausedUntilMs = 0;
  }
  redis.on('ready', up);

  function failed(error: unknown): undefined {
    failedCommands++;
    if (!down) {
      down = true;
      logger.warn({ err: error instanceof Error ? error.message : String(error) }, messages.down);
    }
    return undefined;
  }

  function connect(): void {
    if (redis.status !== 'wait') return;
    // A failed first connect is retried by the retry strategy; the outage shows through failed commands.
    redis.connect().catch(() => {});
  }

  return {
    redis,
    connect,
    ready(timeoutMs) {
      connect();
      if (redis.status === 'ready') return Promise.resolve(true);
      return new Promise((resolve) => {
        const onReady = () => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          redis.off('ready', onReady);
          resolve(false);
        }, timeoutMs);
        redis.once('ready', onReady);
      });
    },
    async run(command) {
      connect();
      if (redis.status !== 'ready') return failed(new Error(`not connected (${redis.status})`));
      // A stalled Redis answers nothing: rather than each caller waiting out the command timeout,
      // commands fail at once for a moment, then one tries again.
      if (Date.now() < pausedUntilMs) return failed(new Error('Redis did not answer in time'));
      try {
        const result = await command(redis);
        up();
        return result;
      } catch (error) {
        if (isTimeout(error)) pausedUntilMs = Date.now() + STALL_PAUSE_MS;
        return failed(error);
      }
    },
    stats: () => ({ failedCommands, connected: redis.status === 'ready' && Date.now() >= pausedUntilMs }),
    available: () => redis.status === 'ready' && Date.now() >= pausedUntilMs,
    async close() {
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}
