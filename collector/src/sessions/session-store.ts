import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { SessionCost } from './cost.js';
import type { ChargingSession, SessionMachineState } from './session-machine.js';

/**
 * Sessions in Redis:
 *   <prefix>session-state:<chargerId>   the machine state (JSON), checkpointed at every sample
 *   <prefix>charger:<chargerId>:session the current (or last closed) session with its cost so far (JSON)
 *   <prefix>session:<chargerId>         pub/sub channel, one LiveSession per sample of an open session and at close
 */
export const sessionKeys = {
  state: (prefix: string, chargerId: string) => `${prefix}session-state:${chargerId}`,
  live: (prefix: string, chargerId: string) => `${prefix}charger:${chargerId}:session`,
  channel: (prefix: string, chargerId: string) => `${prefix}session:${chargerId}`,
  channelPattern: (prefix: string) => `${prefix}session:*`,
};

export interface LiveSession {
  charger_id: string;
  charger_name: string;
  open: boolean;
  session: ChargingSession;
  cost: Omit<SessionCost, 'hours'>;
  updated: string;
}

export interface SessionStore {
  /** The checkpointed state; undefined when Redis has none (or is down). */
  loadState(chargerId: string): Promise<SessionMachineState | undefined>;
  saveState(state: SessionMachineState): Promise<void>;
  publish(live: LiveSession): Promise<void>;
  stop(): Promise<void>;
}

export function createRedisSessionStore(options: { url: string; keyPrefix: string; logger: Logger }): SessionStore {
  const { keyPrefix: prefix, logger } = options;
  let down = false;
  const redis = new Redis(options.url, {
    // Commands wait for the first connection, but while Redis is down they
    // fail after one reconnect attempt instead of piling up in memory.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 5000),
  });
  redis.on('error', () => {});
  redis.on('ready', () => {
    if (down) logger.info('Redis reachable again; session checkpoints resume');
    down = false;
  });
  function failed(error: unknown): void {
    if (!down) {
      logger.warn({ err: (error as Error).message }, 'Redis unavailable; session checkpoints paused');
    }
    down = true;
  }
  return {
    async loadState(chargerId) {
      try {
        const text = await redis.get(sessionKeys.state(prefix, chargerId));
        return text === null ? undefined : (JSON.parse(text) as SessionMachineState);
      } catch (error) {
        failed(error);
        return undefined;
      }
    },
    async saveState(state) {
      await redis.set(sessionKeys.state(prefix, state.chargerId), JSON.stringify(state)).catch(failed);
    },
    async publish(live) {
      const body = JSON.stringify(live);
      await redis
        .multi()
        .set(sessionKeys.live(prefix, live.charger_id), body)
        .publish(sessionKeys.channel(prefix, live.charger_id), body)
        .exec()
        .catch(failed);
    },
    async stop() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
