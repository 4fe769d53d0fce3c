/**
 * The planner service: one charger loop (charger-loop.ts) per charger the
 * collector knows, stepped every PLANNER_STEP_S and at once when a charger's
 * settings change; plans and control state to Redis, plan hours and control
 * events to InfluxDB. Stopping it starts the cars it stopped.
 */
import type { ControlEvent, PlanState } from '@twc/core/contracts/redis';
import type { ChargePlan } from '@twc/core/planning/charge-plan';
import type { Tariff } from '@twc/core/prices/pricing';
import { type HealthServer, startHealthServer } from '@twc/runtime/health-server';
import type { InfluxWriter } from '@twc/runtime/influx-writer';
import type { Logger } from '@twc/runtime/logger';
import { type ChargerLoop, createChargerLoop, type LoopStep } from './charger-loop.js';
import type { PlannerConfig } from './config.js';
import type { ChargeController } from './controller.js';
import { controlPoint, planPoints } from './plan-points.js';
import type { PlanStore } from './plan-store.js';

export interface PlannerService {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Steps every charger now (tests, and a settings change). */
  stepAll(): Promise<void>;
  stats(): PlannerStats;
}

export interface PlannerStats {
  chargers: number;
  steps: number;
  commands: number;
  failedCommands: number;
  lastStepAt: string | null;
}

interface Entry {
  name: string;
  loop: ChargerLoop;
  controller: ChargeController;
  lastPublished: string;
  plan: ChargePlan | undefined;
}

export function createPlannerService(options: {
  config: PlannerConfig;
  tariff: Tariff;
  store: PlanStore;
  writer: InfluxWriter;
  /** The controller of a charger, by its configured name; `none` when it has none. */
  controllerFor: (chargerName: string) => ChargeController;
  logger: Logger;
  now?: () => number;
}): PlannerService {
  const { config, store, writer, logger } = options;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const stats = { steps: 0, commands: 0, failedCommands: 0, lastStepAtMs: null as number | null };
  let timer: NodeJS.Timeout | undefined;
  let health: HealthServer | undefined;
  let stepping: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  async function entryFor(chargerId: string, chargerName: string): Promise<Entry> {
    const known = entries.get(chargerId);
    if (known) return known;
    const controller = options.controllerFor(chargerName);
    const restored = await store.restoredState(chargerId);
    const loop = createChargerLoop({
      chargerId,
      chargerName,
      controller,
      tariff: options.tariff,
      timeZone: config.timeZone,
      defaultPowerKw: config.defaultPowerKw,
      capacityKwh: config.capacityKwh,
      efficiency: config.efficiency,
      replanMs: config.replanMs,
      carReadMs: config.carReadMs,
      vitalsStaleMs: config.vitalsStaleMs,
      forecastStaleMs: config.forecastStaleMs,
      restored,
      now,
      control: {
        minIntervalMs: 2 * 60_000,
        retryBaseMs: 60_000,
        retryMaxMs: 15 * 60_000,
        maxFailures: config.maxFailures,
        settleMs: 3 * 60_000,
      },
    });
    const entry: Entry = { name: chargerName, loop, controller, lastPublished: '', plan: undefined };
    entries.set(chargerId, entry);
    logger.info({ chargerId, chargerName, controller: controller.kind }, 'planning for charger');
    return entry;
  }

  function record(entry: Entry, step: LoopStep, chargerId: string): void {
    for (const { outcome, reason } of step.outcomes) {
      stats.commands += 1;
      if (!outcome.ok) stats.failedCommands += 1;
      const event: ControlEvent = {
        charger_id: chargerId,
        time: new Date(now()).toISOString(),
        command: outcome.command,
        ok: outcome.ok,
        failure: outcome.failure,
        detail: outcome.detail,
        reason,
        calls: outcome.calls,
        woke: outcome.woke,
        duration_ms: outcome.durationMs,
      };
      const log = outcome.ok ? logger.info.bind(logger) : logger.warn.bind(logger);
      log(
        { chargerId, command: outcome.command, reason, failure: outcome.failure, detail: outcome.detail },
        'car command',
      );
      writer.write(config.influx.sessionsBucket, 'durable', [controlPoint(event, entry.name, entry.controller.kind)]);
      void store.publishEvent(event);
    }
    if (step.replanned) {
      writer.write(
        config.influx.sessionsBucket,
        'durable',
        planPoints({ id: chargerId, name: entry.name }, step.replanned, entry.plan),
      );
      entry.plan = step.replanned;
    }
  }

  /** What changed for a reader: everything but the time it was written. */
  const fingerprint = (state: PlanState) => JSON.stringify({ ...state, updated: '' });

  async function stepCharger(chargerId: string, chargerName: string): Promise<void> {
    const entry = await entryFor(chargerId, chargerName);
    const inputs = await store.inputs(chargerId, now());
    if (!inputs) return;
    const step = await entry.loop.step(inputs);
    record(entry, step, chargerId);
    if (step.settingsUpdate) await store.writeSettings(chargerId, step.settingsUpdate);
    const print = fingerprint(step.state);
    // Unchanged states are rewritten each minute or so, so readers can tell a live planner from a stopped one.
    if (print !== step.state.updated && (print !== entry.lastPublished || stats.steps % 2 === 0)) {
      await store.writeState(step.state);
      entry.lastPublished = print;
    }
  }

  async function runStep(): Promise<void> {
    const chargers = await store.chargers();
    if (!chargers) return; // Redis away: nothing can be observed; cars keep doing what they do.
    for (const charger of chargers) {
      try {
        await stepCharger(charger.charger_id, charger.charger_name);
      } catch (error) {
        logger.error({ err: error, chargerId: charger.charger_id }, 'planning step failed');
      }
    }
    stats.steps += 1;
    stats.lastStepAtMs = now();
  }

  /** One step at a time; a request while one runs makes one more after it. */
  function stepAll(): Promise<void> {
    if (stepping) {
      again = true;
      return stepping;
    }
    stepping = (async () => {
      do {
        again = false;
        await runStep();
      } while (again && !stopped);
    })().finally(() => {
      stepping = undefined;
    });
    return stepping;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      void stepAll().finally(schedule);
    }, config.stepMs);
  }

  return {
    stepAll,
    async start() {
      await store.start(() => {
        void stepAll();
      });
      writer.start();
      await stepAll();
      schedule();
      if (config.healthPort > 0) {
        health = await startHealthServer(
          config.healthPort,
          () => ({ ...this.stats(), writer: writer.stats() }),
          () => stats.lastStepAtMs !== null && now() - stats.lastStepAtMs < 3 * config.stepMs,
        );
      }
      logger.info({ stepS: config.stepMs / 1000 }, 'planner started');
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await stepping;
      // Never leave a car stopped by us behind: it charges until a planner is back.
      for (const [chargerId, entry] of entries) {
        const released = await entry.loop.release();
        if (released) {
          const { outcome, state } = released;
          logger.info({ chargerId, ok: outcome.ok, detail: outcome.detail }, 'started the car on shutdown');
          if (state) await store.writeState(state);
        }
        await entry.controller.close();
      }
      await health?.close();
      await writer.close();
      await store.stop();
      logger.info('planner stopped');
    },
    stats() {
      return {
        chargers: entries.size,
        steps: stats.steps,
        commands: stats.commands,
        failedCommands: stats.failedCommands,
        lastStepAt: stats.lastStepAtMs === null ? null : new Date(stats.lastStepAtMs).toISOString(),
      };
    },
  };
}
