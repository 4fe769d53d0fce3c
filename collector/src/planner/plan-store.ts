/**
 * What the planner reads from Redis (the collector's vitals and sessions,
 * the comed-poller's forecast, the user's settings written by the API and
 * the Home Assistant bridge) and what it writes there (each charger's plan
 * and control state, the settings when "charge now" ends with an unplug, a
 * control event per command). Payloads are parsed with their writers'
 * schemas; one that does not match counts as absent.
 *
 * The settings are the one thing in Redis nobody can rebuild, so the planner
 * keeps a copy of each charger's on disk and puts it back when Redis lost it.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ChargerStatus,
  type ControlEvent,
  chargerStatusSchema,
  liveKeys,
  liveSessionSchema,
  liveVitalsSchema,
  type PlanSettings,
  type PlanState,
  parseRedisPayload,
  planKeys,
  planSettingsSchema,
  planStateSchema,
  priceForecastSchema,
  priceKeys,
  sessionKeys,
} from '@twc/core/contracts/redis';
import { defaultPlanSettings } from '@twc/core/planning/plan-settings';
import type { Logger } from '@twc/runtime/logger';
import { savePlanSettings } from '@twc/runtime/plan-settings-write';
import { createRedisClient, createRedisConnection } from '@twc/runtime/redis-connection';
import { z } from 'zod';
import type { LoopInputs } from './charger-loop.js';

export interface PlanStore {
  start(onSettingsChanged: (chargerId: string) => void): Promise<void>;
  /** Every charger the collector knows; undefined when Redis cannot answer. */
  chargers(): Promise<ChargerStatus[] | undefined>;
  inputs(chargerId: string, nowMs: number): Promise<LoopInputs | undefined>;
  restoredState(chargerId: string): Promise<PlanState | undefined>;
  writeState(state: PlanState): Promise<void>;
  writeSettings(chargerId: string, settings: PlanSettings): Promise<void>;
  publishEvent(event: ControlEvent): Promise<void>;
  stop(): Promise<void>;
}

const settingsFileSchema = z.record(z.string(), planSettingsSchema);

export function createPlanStore(options: {
  url: string;
  keyPrefix: string;
  stateDir: string;
  logger: Logger;
}): PlanStore {
  const prefix = options.keyPrefix;
  const log = options.logger.child({ module: 'plan-store' });
  const connection = createRedisConnection({ url: options.url, logger: log, purpose: 'smart charging' });
  const subscriber = createRedisClient(options.url, { subscriber: true });
  const file = join(options.stateDir, 'plan-settings.json');
  let onDisk: Record<string, PlanSettings> = {};

  function readDisk(): void {
    try {
      const parsed = settingsFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (parsed.success) onDisk = parsed.data;
      else log.warn({ file }, 'plan settings file is not valid; starting from Redis and defaults');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        log.warn({ err: error, file }, 'cannot read plan settings');
    }
  }

  function writeDisk(chargerId: string, settings: PlanSettings): void {
    if (JSON.stringify(onDisk[chargerId]) === JSON.stringify(settings)) return;
    onDisk = { ...onDisk, [chargerId]: settings };
    try {
      mkdirSync(options.stateDir, { recursive: true });
      const temporary = `${file}.tmp`;
      writeFileSync(temporary, JSON.stringify(onDisk, null, 2), { mode: 0o600 });
      renameSync(temporary, file);
    } catch (error) {
      log.warn({ err: error, file }, 'cannot save plan settings');
    }
  }

  async function settingsOf(chargerId: string, nowMs: number): Promise<PlanSettings | undefined> {
    const key = planKeys.settings(prefix, chargerId);
    const text = await connection.run((redis) => redis.get(key));
    if (text === undefined) return onDisk[chargerId]; // Redis away: the last known settings.
    const parsed = parseRedisPayload(planSettingsSchema, text);
    if (parsed) {
      writeDisk(chargerId, parsed);
      return parsed;
    }
    // Absent (a fresh or emptied Redis) or broken: the copy on disk, else the defaults.
    const settings = onDisk[chargerId] ?? defaultPlanSettings(nowMs);
    if (text !== null) log.warn({ chargerId }, 'plan settings in Redis are not valid; using the last saved ones');
    await connection.run((redis) => redis.set(key, JSON.stringify(settings)));
    writeDisk(chargerId, settings);
    return settings;
  }

  return {
    async start(onSettingsChanged) {
      readDisk();
      connection.connect();
      await connection.ready(5000);
      subscriber.on('message', (_channel: string, message: string) => onSettingsChanged(message));
      subscriber.subscribe(planKeys.settingsChannel(prefix)).catch((error: unknown) => {
        log.warn({ err: error }, 'cannot subscribe to settings changes; they are picked up every step');
      });
    },
    async chargers() {
      const hash = await connection.run((redis) => redis.hgetall(liveKeys.chargers(prefix)));
      if (hash === undefined) return undefined;
      return Object.values(hash)
        .map((text) => parseRedisPayload(chargerStatusSchema, text))
        .filter((status): status is ChargerStatus => status !== undefined);
    },
    async inputs(chargerId, nowMs) {
      const values = await connection.run((redis) =>
        redis.mget(liveKeys.vitals(prefix, chargerId), sessionKeys.live(prefix, chargerId), priceKeys.forecast(prefix)),
      );
      const settings = await settingsOf(chargerId, nowMs);
      if (!settings) return undefined;
      const [vitals, session, forecast] = values ?? [null, null, null];
      return {
        vitals: parseRedisPayload(liveVitalsSchema, vitals),
        session: parseRedisPayload(liveSessionSchema, session),
        forecast: parseRedisPayload(priceForecastSchema, forecast),
        settings,
      };
    },
    async restoredState(chargerId) {
      const text = await connection.run((redis) => redis.get(planKeys.state(prefix, chargerId)));
      return parseRedisPayload(planStateSchema, text);
    },
    async writeState(state) {
      const text = JSON.stringify(state);
      await connection.run((redis) =>
        redis
          .multi()
          .set(planKeys.state(prefix, state.charger_id), text)
          .publish(planKeys.stateChannel(prefix, state.charger_id), text)
          .exec(),
      );
    },
    async writeSettings(chargerId, settings) {
      writeDisk(chargerId, settings);
      await connection.run((redis) => savePlanSettings(redis, prefix, chargerId, settings));
    },
    async publishEvent(event) {
      await connection.run((redis) => redis.publish(planKeys.eventChannel(prefix), JSON.stringify(event)));
    },
    async stop() {
      subscriber.disconnect();
      await connection.close();
    },
  };
}
