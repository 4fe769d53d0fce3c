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
  // The last status of each charger: every vitals sample writes it again with its time as
  // last_seen, so last_seen is never older than the latest vitals, and a Redis that restarted
  // empty has every charger's status back with the next sample (seconds), not at the next
  // transition or version poll (minutes).
  const statuses = new Map<string, ChargerStatus>();

  return {
    ready: (timeoutMs) => connection.ready(timeoutMs),
    publishVitals(sample) {
      const body = JSON.stringify(sample);
      const known = statuses.get(sample.charger_id);
      const status = known && { ...known, last_seen: sample.time };
      if (status) statuses.set(sample.charger_id, status);
      void connection.run((redis) => {
        const batch = redis
          .multi()
          .set(liveKeys.vitals(prefix, sample.charger_id), body, 'EX', ttl)
          .publish(liveKeys.vitalsChannel(prefix, sample.charger_id), body);
        if (status) batch.hset(liveKeys.chargers(prefix), sample.charger_id, JSON.stringify(status));
        return batch.exec();
      });
    },
    publishStatus(status) {
      statuses.set(status.charger_id, status);
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
      for (const id of stale) statuses.delete(id);
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
