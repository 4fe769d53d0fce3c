import type { Logger } from '../logger.js';
import { FIVE_MINUTES_MS } from '../prices/comed-clock.js';
import { createRedisConnection } from '../redis-connection.js';
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

/**
 * A checkpoint as read from Redis. One written before the price clock was
 * corrected names its intervals by their end (`intervalEndMs`): the open
 * session carries on across the upgrade with its intervals renamed by their
 * stamp (start), the same energy in the same five minutes.
 */
export function checkpointFromJson(text: string): SessionMachineState {
  const state = JSON.parse(text) as SessionMachineState;
  const intervals = state.session?.energyByInterval as
    | ({ intervalEndMs?: number } & Record<string, number>)[]
    | undefined;
  if (state.session && intervals?.some((entry) => typeof entry.intervalEndMs === 'number')) {
    state.session.energyByInterval = intervals.map((entry) =>
      typeof entry.intervalEndMs === 'number'
        ? { startMs: entry.intervalEndMs - FIVE_MINUTES_MS, energyWh: entry.energyWh as number }
        : { startMs: entry.startMs as number, energyWh: entry.energyWh as number },
    );
  }
  return state;
}

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
