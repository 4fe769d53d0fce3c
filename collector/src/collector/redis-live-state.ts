import {
  type ChargerStatus,
  chargerStatusSchema,
  type LiveVitals,
  liveKeys,
  parseRedisPayload,
} from '@twc/core/contracts/redis';
import type { Logger } from '@twc/runtime/logger';
import { createRedisConnection } from '@twc/runtime/redis-connection';

export interface LiveState {
  /** Waits up to `timeoutMs` for the connection; false when Redis is not there. */
  ready(timeoutMs: number): Promise<boolean>;
  publishVitals(sample: LiveVitals): void;
  publishStatus(status: ChargerStatus): void;
  /**
   * Forgets chargers no longer configured, so the API stops listing them and
   * the Home Assistant bridge clears their entities. Returns the ids removed.
   */
  pruneChargers(configuredNames: readonly string[]): Promise<string[]>;
  stats(): { failedCommands: number; connected: boolean };
  stop(): Promise<void>;
}

/**
 * Live state in Redis. Redis being down never stops collection: commands fail
 * fast instead of queueing, failures are counted, and the outage is logged
 * once when it starts and once when it ends (redis-connection.ts).
 */
export function createRedisLiveState(options: {
  url: string;
  keyPrefix: string;
  logger: Logger;
  /** Seconds a charger's latest vitals stay readable after its last sample. */
  vitalsTtlS?: number;
}): LiveState {
  const { keyPrefix: prefix, logger } = options;
  const ttl = options.vitalsTtlS ?? 3600;
  const connection = createRedisConnection({ url: options.url, logger, purpose: 'live state' });

  return {
    ready: (timeoutMs) => connection.ready(timeoutMs),
    publishVitals(sample) {
      const body = JSON.stringify(sample);
      void connection.run((redis) =>
        redis
          .multi()
          .set(liveKeys.vitals(prefix, sample.charger_id), body, 'EX', ttl)
          .publish(liveKeys.vitalsChannel(prefix, sample.charger_id), body)
          .exec(),
      );
    },
    publishStatus(status) {
      void connection.run((redis) => redis.hset(liveKeys.chargers(prefix), status.charger_id, JSON.stringify(status)));
    },
    async pruneChargers(configuredNames) {
      const keep = new Set(configuredNames);
      const entries = await connection.run((redis) => redis.hgetall(liveKeys.chargers(prefix)));
      const stale = Object.entries(entries ?? {})
        .filter(([, body]) => {
          const status = parseRedisPayload(chargerStatusSchema, body);
          return status === undefined || !keep.has(status.charger_name);
        })
        .map(([id]) => id);
      if (stale.length > 0) {
        await connection.run((redis) =>
          redis
            .multi()
            .hdel(liveKeys.chargers(prefix), ...stale)
            .del(...stale.map((id) => liveKeys.vitals(prefix, id)))
            .exec(),
        );
        logger.info({ removed: stale }, 'chargers no longer configured removed from live state');
      }
      return stale;
    },
    stats: () => connection.stats(),
    stop: () => connection.close(),
  };
}
