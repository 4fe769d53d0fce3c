/**
 * The Home Assistant bridge: mirrors the live state the collector and the
 * price poller keep in Redis onto MQTT, with Home Assistant's discovery
 * configs so the entities appear by themselves.
 *
 * This module only drives: it feeds what the adapters it is given report
 * (Redis, InfluxDB, the broker) to the pure cores (live-mirror.ts: which
 * value stands and what Home Assistant should see; publish-plan.ts: what of
 * it goes out, what is cleared), carries out their decisions, and schedules
 * the periodic refresh and the held-back state publications.
 *
 * Availability: the bridge's own topic is its MQTT last will (mqtt-client.ts
 * keeps it `online` while the bridge runs); each charger's entities also
 * follow the charger's online state, the price entities the freshness of the
 * price feed, the forecast entities the freshness of the forecast, the
 * planner's entities the freshness of its state (judged here, by the clock,
 * at every publication and at every periodic refresh).
 *
 * Commands: a message on a charger's command topic (a Home Assistant
 * control) is checked (plan-commands.ts), applied to the settings read from
 * Redis (the defaults when none are saved) and saved and announced as the
 * API saves them, one at a time. A malformed one is logged once, counted
 * and ignored. Whoever may publish on the broker is trusted as the broker
 * is (docs/HOME_ASSISTANT.md).
 *
 * Everything is published again, forced, on every (re)connection to the
 * broker (a restarted broker without persistence has lost the retained
 * configs) and when Home Assistant announces itself.
 */
import type { PlanSettings } from '@twc/core/contracts/redis';
import { changedSettings, defaultPlanSettings } from '@twc/core/planning/plan-settings';
import type { Logger } from '@twc/runtime/logger';
import type { HomeAssistantConfig } from './config.js';
import { parseCommandTopic } from './discovery.js';
import type { LatestReadings } from './influx-latest-readings.js';
import {
  allMessages,
  type BridgeView,
  chargerMessages,
  EMPTY_MIRROR,
  forecastMessages,
  type LiveMirror,
  planMessages,
  priceMessages,
  wantedTopics,
  withForecast,
  withPlan,
  withPlanSettings,
  withPrice,
  withReadings,
  withRefresh,
  withSession,
  withVitals,
} from './live-mirror.js';
import type { BridgeMqttClient } from './mqtt-client.js';
import { planCommand } from './plan-commands.js';
import {
  confirmCleared,
  type DesiredMessage,
  type Plan,
  type Published,
  planFlush,
  planPublish,
  publishedFromLedger,
} from './publish-plan.js';
import type { BridgeSource } from './redis-bridge-source.js';

export interface HomeAssistantBridgeOptions {
  config: Pick<HomeAssistantConfig, 'stateMinIntervalMs' | 'readingsRefreshMs'>;
  /** Redis: the live state, and the ledger of retained topics. */
  source: BridgeSource;
  /** InfluxDB: lifetime energy and Wi-Fi signal, when configured. */
  readings: LatestReadings | undefined;
  mqtt: BridgeMqttClient;
  logger: Logger;
  now?: () => number;
  /** How often the charger list (and everything else, in case a message was missed) is read again. */
  refreshMs?: number;
}

export interface HomeAssistantBridge {
  start(view: BridgeView): Promise<void>;
  stop(): Promise<void>;
  stats(): BridgeStats;
}

export interface BridgeStats {
  connected: boolean;
  /** Connections to the broker, the first one included. */
  connects: number;
  /** Discovery and state re-publications after Home Assistant announced itself. */
  birthRepublishes: number;
  /** Home Assistant's `online` announcements seen (several within a moment make one re-publication). */
  birthAnnouncements: number;
  /** Times the bridge said `online` again after another client left `offline` on its availability topic. */
  availabilityRepublishes: number;
  malformedPayloads: number;
  /** Commands from Home Assistant saved to the settings. */
  commandsApplied: number;
  /** Commands refused: an unknown topic or charger, a payload the entity cannot send, a retained message. */
  commandsRejected: number;
  /** Commands that could not be saved (Redis unavailable). */
  commandsFailed: number;
  mqttErrors: number;
}

export function createHomeAssistantBridge(options: HomeAssistantBridgeOptions): HomeAssistantBridge {
  const { config, source, readings, mqtt } = options;
  const now = options.now ?? Date.now;
  const refreshMs = options.refreshMs ?? 10_000;
  const log = options.logger.child({ module: 'home-assistant-bridge' });

  let view: BridgeView | undefined;
  let mirror: LiveMirror = EMPTY_MIRROR;
  /** Undefined until the ledger has been read from Redis. */
  let published: Published | undefined;
  let running = false;
  let refreshTimer: NodeJS.Timeout | undefined;
  let readingsTimer: NodeJS.Timeout | undefined;
  const wakeTimers = new Map<string, NodeJS.Timeout>();
  let birthRepublishes = 0;
  let readingsDown = false;
  const commands = { applied: 0, rejected: 0, failed: 0 };

  // One task at a time: a sync, a re-publication and a removal never interleave.
  let chain: Promise<void> = Promise.resolve();
  function enqueue(task: () => Promise<void>): Promise<void> {
    chain = chain.then(task).catch((error: unknown) => {
      log.debug({ err: (error as Error).message }, 'bridge task failed; retried at the next refresh');
    });
    return chain;
  }

  /** Carries out a plan: the ledger first (a failure leaves everything as it was), then the broker. */
  async function apply(plan: Plan): Promise<void> {
    if (plan.record.length > 0) await source.addRetainedTopics(plan.record);
    published = plan.published;
    for (const topic of plan.clear) {
      // An empty retained payload deletes the retained message; on a discovery topic it removes the entity.
      void mqtt.publish(topic, '').then((acknowledged) => {
        if (!acknowledged) return;
        void enqueue(async () => {
          await source.removeRetainedTopics([topic]);
          if (published) published = confirmCleared(published, topic);
        });
      });
    }
    if (plan.clear.length > 0) log.info({ topics: plan.clear.length }, 'cleared the topics of removed chargers');
    for (const message of plan.send) void mqtt.publish(message.topic, message.payload);
    for (const [topic, atMs] of plan.wakes) scheduleWake(topic, atMs);
  }

  function scheduleWake(topic: string, atMs: number): void {
    if (wakeTimers.has(topic)) return;
    const timer = setTimeout(
      () => {
        wakeTimers.delete(topic);
        void enqueue(async () => {
          if (!published || !mqtt.connected()) return;
          await apply(planFlush(published, topic, now(), config.stateMinIntervalMs));
        });
      },
      Math.max(0, atMs - now()),
    );
    wakeTimers.set(topic, timer);
  }

  /**
   * Publishes what changed among `messages` (states throttled), or all of them
   * at once when `force`: the answer to a command, which Home Assistant's
   * control waits for to show the new value.
   */
  async function publishSome(messages: (current: BridgeView) => DesiredMessage[], force = false): Promise<void> {
    if (!view || !published || !mqtt.connected()) return;
    const plan = planPublish(published, messages(view), {
      force,
      nowMs: now(),
      minIntervalMs: config.stateMinIntervalMs,
    });
    await apply(plan);
  }

  /**
   * Brings the broker in line with the whole mirror: clears the topics of
   * chargers that are gone, publishes what is new or changed (everything
   * when `force`).
   */
  async function sync(force: boolean): Promise<void> {
    if (!view || !mqtt.connected()) return;
    published ??= publishedFromLedger(await source.retainedTopics());
    const nowMs = now();
    const plan = planPublish(published, allMessages(mirror, view, nowMs), {
      force,
      nowMs,
      minIntervalMs: config.stateMinIntervalMs,
      wanted: wantedTopics(mirror, view),
    });
    await apply(plan);
  }

  /** Reads everything from Redis again; a message missed while Redis or the broker was away is caught up here. */
  async function refresh(): Promise<void> {
    const statuses = await source.chargers();
    const vitals = [];
    const sessions = [];
    const plans = [];
    const planSettings = new Map<string, PlanSettings | undefined>();
    for (const status of statuses) {
      const [latestVitals, latestSession, plan, settings] = await Promise.all([
        source.vitals(status.charger_id),
        source.session(status.charger_id),
        source.plan(status.charger_id),
        source.planSettings(status.charger_id),
      ]);
      if (latestVitals) vitals.push(latestVitals);
      if (latestSession) sessions.push(latestSession);
      if (plan) plans.push(plan);
      planSettings.set(status.charger_id, settings);
    }
    const [price, forecast] = await Promise.all([source.price(), source.forecast()]);
    mirror = withRefresh(mirror, { chargers: statuses, vitals, sessions, price, forecast, plans, planSettings });
  }

  /**
   * What moves with the clock alone, as of now: whether the price and the
   * forecast are stale, and the forecast's current hour.
   */
  function publishForecast(): Promise<void> {
    return publishSome((current) => [
      ...priceMessages(mirror, current, now()),
      ...forecastMessages(mirror, current, now()),
      ...[...mirror.chargers.keys()].flatMap((chargerId) => planMessages(mirror, current, chargerId, now())),
    ]);
  }

  function publishPlan(chargerId: string): void {
    void enqueue(() => publishSome((current) => planMessages(mirror, current, chargerId, now())));
  }

  /** Counts a refused or failed command, and logs the first of its kind. */
  function commandFailed(kind: 'rejected' | 'failed', fields: Record<string, unknown>, message: string): void {
    commands[kind]++;
    if (commands[kind] === 1) log.warn(fields, `${message}; further ones are only counted`);
  }

  async function applyCommand(topic: string, payload: string): Promise<void> {
    const target = view ? parseCommandTopic(view.discovery, mirror.chargers.keys(), topic) : undefined;
    if (!target) {
      commandFailed('rejected', { topic }, 'command on a topic naming no charger or control ignored');
      return;
    }
    let saved: PlanSettings | undefined;
    try {
      saved = await source.planSettings(target.chargerId);
    } catch {
      commandFailed('failed', { topic }, 'command not applied: Redis unavailable');
      return;
    }
    const nowMs = now();
    const current = saved ?? defaultPlanSettings(nowMs);
    const outcome = planCommand(target.key, payload, current);
    if (!outcome.ok) {
      commandFailed(
        'rejected',
        { topic, payload: payload.slice(0, 100), why: outcome.why },
        'malformed command from Home Assistant ignored',
      );
      return;
    }
    const next = changedSettings(current, outcome.change, nowMs);
    const written = await source.savePlanSettings(target.chargerId, next).catch(() => false);
    if (!written) {
      commandFailed('failed', { topic }, 'command not applied: Redis unavailable');
      return;
    }
    commands.applied++;
    log.info(
      { chargerId: target.chargerId, command: target.key, payload },
      'smart-charging setting changed from Home Assistant',
    );
    mirror = withPlanSettings(mirror, target.chargerId, next);
    await publishSome((current) => planMessages(mirror, current, target.chargerId, now()), true);
  }

  async function refreshReadings(): Promise<void> {
    if (!readings) return;
    try {
      const latest = await readings.read();
      if (readingsDown) log.info('InfluxDB readable again');
      readingsDown = false;
      mirror = withReadings(mirror, latest);
    } catch (error) {
      if (!readingsDown) {
        log.warn({ err: (error as Error).message }, 'InfluxDB unavailable; lifetime energy and Wi-Fi signal paused');
      }
      readingsDown = true;
    }
  }

  function publishCharger(chargerId: string): void {
    if (!mirror.chargers.has(chargerId)) return;
    void enqueue(() => publishSome((current) => chargerMessages(mirror, current, chargerId)));
  }

  function scheduleRefresh(): void {
    refreshTimer = setTimeout(() => {
      void enqueue(async () => {
        await refresh();
        await sync(false);
      })
        // Judged again even when Redis could not be read: a price or forecast goes stale by the clock alone.
        .then(() => enqueue(publishForecast))
        .finally(() => {
          if (running) scheduleRefresh();
        });
    }, refreshMs);
  }

  function scheduleReadings(): void {
    readingsTimer = setTimeout(() => {
      void refreshReadings()
        .then(() =>
          enqueue(async () => {
            for (const chargerId of mirror.chargers.keys()) {
              await publishSome((current) => chargerMessages(mirror, current, chargerId));
            }
          }),
        )
        .finally(() => {
          if (running) scheduleReadings();
        });
    }, config.readingsRefreshMs);
  }

  return {
    async start(shown) {
      if (running) return;
      running = true;
      view = shown;
      const subscribed = source.start({
        vitals(sample) {
          const next = withVitals(mirror, sample);
          if (next === mirror) return;
          mirror = next;
          publishCharger(sample.charger_id);
        },
        session(live) {
          const next = withSession(mirror, live);
          if (next === mirror) return;
          mirror = next;
          publishCharger(live.charger_id);
        },
        price(latest) {
          const next = withPrice(mirror, latest);
          if (next === mirror) return;
          mirror = next;
          void enqueue(() => publishSome((current) => priceMessages(mirror, current, now())));
        },
        forecast(latest) {
          const next = withForecast(mirror, latest);
          if (next === mirror) return;
          mirror = next;
          void enqueue(publishForecast);
        },
        plan(state) {
          const next = withPlan(mirror, state);
          if (next === mirror) return;
          mirror = next;
          publishPlan(state.charger_id);
        },
        planSettingsChanged(chargerId) {
          // Read in turn with the commands: the settings a command saved are not overtaken by an older read.
          void enqueue(async () => {
            if (!mirror.chargers.has(chargerId)) return;
            mirror = withPlanSettings(mirror, chargerId, await source.planSettings(chargerId));
            await publishSome((current) => planMessages(mirror, current, chargerId, now()));
          });
        },
      });
      // While Redis is down the subscription waits for it (ioredis queues it); start-up goes on after a while
      // and the periodic refresh covers the gap.
      let waited: NodeJS.Timeout | undefined;
      await Promise.race([
        subscribed.catch((error: unknown) => {
          log.warn({ err: (error as Error).message }, 'cannot subscribe to Redis; relying on the periodic refresh');
        }),
        new Promise((resolve) => {
          waited = setTimeout(resolve, 5000);
        }),
      ]);
      clearTimeout(waited);
      await enqueue(refresh);
      await refreshReadings();
      mqtt.start({
        connected: () => void enqueue(() => sync(true)),
        command: (topic, payload) => void enqueue(() => applyCommand(topic, payload)),
        homeAssistantOnline: () => {
          birthRepublishes++;
          log.info('Home Assistant announced itself; publishing discovery and states again');
          void enqueue(() => sync(true));
        },
      });
      scheduleRefresh();
      if (readings) scheduleReadings();
    },
    async stop() {
      if (!running) return;
      running = false;
      clearTimeout(refreshTimer);
      clearTimeout(readingsTimer);
      for (const timer of wakeTimers.values()) clearTimeout(timer);
      wakeTimers.clear();
      await chain;
      await mqtt.stop();
      await source.stop();
    },
    stats() {
      const { connected, connects, birthAnnouncements, availabilityRepublishes, retainedCommands, mqttErrors } =
        mqtt.stats();
      const malformed = Object.values(source.stats().malformed).reduce((sum, count) => sum + count, 0);
      return {
        connected,
        connects,
        birthRepublishes,
        birthAnnouncements,
        availabilityRepublishes,
        malformedPayloads: malformed,
        commandsApplied: commands.applied,
        commandsRejected: commands.rejected + retainedCommands,
        commandsFailed: commands.failed,
        mqttErrors,
      };
    },
  };
}
