import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

export interface RedisConnection {
  readonly redis: Redis;
  /** Resolves true once connected, false after `timeoutMs` without a connection. */
  ready(timeoutMs: number): Promise<boolean>;
  /**
   * Runs `command` when Redis is connected; otherwise, or when it fails,
   * counts a failure and returns undefined. Never waits for a reconnection:
   * a Redis outage must not slow collection or shutdown.
   */
  run<T>(command: (redis: Redis) => Promise<T>): Promise<T | undefined>;
  stats(): { failedCommands: number; connected: boolean };
  close(): Promise<void>;
}

/**
 * One Redis connection of a service, for state that is useful but not
 * essential (live values, checkpoints, the current price). Commands fail fast
 * while Redis is away instead of queueing, the outage is logged once when it
 * starts and once when it ends, and reconnection goes on in the background.
 */
export function createRedisConnection(options: {
  url: string;
  logger: Logger;
  /** What pauses while Redis is away, for the log lines: "live state", "session checkpoints". */
  purpose: string;
}): RedisConnection {
  const { logger, purpose } = options;
  let failedCommands = 0;
  let down = false;
  const redis = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Reconnect forever, at most every 5 s: Redis may restart while we run.
    retryStrategy: (attempt) => Math.min(attempt * 200, 5000),
  });
  // Connection errors surface as failed commands, logged once below.
  redis.on('error', () => {});
  redis.on('ready', () => {
    if (down) logger.info(`Redis reachable again; ${purpose} resumes`);
    down = false;
  });

  function failed(error: unknown): undefined {
    failedCommands++;
    if (!down) {
      down = true;
      logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        `Redis unavailable; ${purpose} paused`,
      );
    }
    return undefined;
  }

  return {
    redis,
    ready(timeoutMs) {
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
      if (redis.status !== 'ready') return failed(new Error(`not connected (${redis.status})`));
      try {
        return await command(redis);
      } catch (error) {
        return failed(error);
      }
    },
    stats: () => ({ failedCommands, connected: redis.status === 'ready' }),
    async close() {
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}
