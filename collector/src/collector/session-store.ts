import { checkpointFromJson, type LiveSession, sessionKeys } from '@twc/core/contracts/redis';
import type { SessionMachineState } from '@twc/core/sessions/session-machine';
import type { Logger } from '@twc/runtime/logger';
import { createRedisConnection } from '@twc/runtime/redis-connection';

export interface SessionStore {
  /** Waits up to `timeoutMs` for the connection; false when Redis is not there. */
  ready(timeoutMs: number): Promise<boolean>;
  /** The checkpointed state; undefined when Redis has none (or is down). */
  loadState(chargerId: string): Promise<SessionMachineState | undefined>;
  saveState(state: SessionMachineState): Promise<void>;
  publish(live: LiveSession): Promise<void>;
  stop(): Promise<void>;
}

export function createRedisSessionStore(options: { url: string; keyPrefix: string; logger: Logger }): SessionStore {
  const { keyPrefix: prefix } = options;
  const connection = createRedisConnection({
    url: options.url,
    logger: options.logger,
    purpose: 'session checkpoints',
  });
  return {
    ready: (timeoutMs) => connection.ready(timeoutMs),
    async loadState(chargerId) {
      // At start-up the connection may still be opening: give it a moment before
      // concluding the checkpoint is lost and rebuilding from InfluxDB.
      await connection.ready(2000);
      const text = await connection.run((redis) => redis.get(sessionKeys.state(prefix, chargerId)));
      return typeof text === 'string' ? checkpointFromJson(text) : undefined;
    },
    async saveState(state) {
      await connection.run((redis) => redis.set(sessionKeys.state(prefix, state.chargerId), JSON.stringify(state)));
    },
    async publish(live) {
      const body = JSON.stringify(live);
      await connection.run((redis) =>
        redis
          .multi()
          .set(sessionKeys.live(prefix, live.charger_id), body)
          .publish(sessionKeys.channel(prefix, live.charger_id), body)
          .exec(),
      );
    },
    stop: () => connection.close(),
  };
}
