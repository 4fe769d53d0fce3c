import type { NormalizedVitals } from '../charger/normalize.js';
import type { Logger } from '../logger.js';
import { createRedisConnection } from '../redis-connection.js';

/**
 * Redis keys and channels shared by the services. The collector writes,
 * the API and the Home Assistant bridge read and subscribe.
 *   <prefix>charger:<id>:vitals   latest normalized vitals of a charger (JSON)
 *   <prefix>chargers              hash: charger id -> status (JSON)
 *   <prefix>vitals:<id>           pub/sub channel, one message per vitals sample
 */
export const liveKeys = {
  vitals: (prefix: string, chargerId: string) => `${prefix}charger:${chargerId}:vitals`,
  chargers: (prefix: string) => `${prefix}chargers`,
  vitalsChannel: (prefix: string, chargerId: string) => `${prefix}vitals:${chargerId}`,
  vitalsChannelPattern: (prefix: string) => `${prefix}vitals:*`,
};

export interface LiveVitals {
  charger_id: string;
  charger_name: string;
  time: string;
  vitals: NormalizedVitals;
}

export interface ChargerStatus {
  charger_id: string;
  charger_name: string;
  host: string;
  serial_number: string;
  firmware_version: string | null;
  part_number: string | null;
  online: boolean;
  consecutive_failures: number;
  last_error: string | null;
  last_seen: string | null;
  updated: string;
}

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
          try {
            return !keep.has((JSON.parse(body) as ChargerStatus).charger_name);
          } catch {
            return true;
          }
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
