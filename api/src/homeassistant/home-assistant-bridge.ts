/**
 * The Home Assistant bridge: mirrors the live state the collector and the
 * price poller keep in Redis onto MQTT, with Home Assistant's discovery
 * configs so the entities appear by themselves.
 *
 * Availability: the bridge's own topic is its MQTT last will (retained
 * `offline` when the connection dies without a clean disconnect); each
 * charger's entities also follow the charger's online state, the price
 * entities the freshness of the price feed.
 *
 * Home Assistant announces `online` on `<prefix>/status` when it (re)starts;
 * everything is then published again, as on every (re)connection to the
 * broker (a restarted broker without persistence has lost the retained
 * configs).
 */
import { readFile } from 'node:fs/promises';
import type { ChargerStatus, CurrentPrice, LiveSession, LiveVitals } from '@twc/core/contracts/redis';
import type { Tariff } from '@twc/core/prices/pricing';
import type { Logger } from '@twc/runtime/logger';
import { loadTariff } from '@twc/runtime/tariff-file';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { HomeAssistantConfig } from './config.js';
import {
  birthTopic,
  bridgeAvailabilityTopic,
  type ChargerReadings,
  chargerAvailabilityTopic,
  chargerDiscovery,
  chargerRetainedTopics,
  chargerStates,
  chargerStateTopic,
  type DiscoveryOptions,
  OFFLINE,
  ONLINE,
  type Origin,
  priceAvailability,
  priceAvailabilityTopic,
  priceDiscovery,
  priceRetainedTopics,
  priceStates,
  priceStateTopic,
  topicsToClear,
} from './discovery.js';
import { createInfluxLatestReadings, type LatestReadings } from './influx-latest-readings.js';
import { type BridgeSource, createRedisBridgeSource } from './redis-bridge-source.js';
import { EMPTY_SLOT, flushDue, forceState, offerState, type ThrottleSlot } from './state-throttle.js';

export interface HomeAssistantBridgeOptions {
  config: HomeAssistantConfig;
  logger: Logger;
  now?: () => number;
  /** Overrides of the discovery `origin` block; name and version default to this package's. */
  origin?: Partial<Origin>;
  /** How often the charger list (and everything else, in case a message was missed) is read again. */
  refreshMs?: number;
  /** Milliseconds between reconnection attempts to the broker. */
  reconnectMs?: number;
}

export interface HomeAssistantBridge {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): BridgeStats;
}

export interface BridgeStats {
  connected: boolean;
  /** Connections to the broker, the first one included. */
  connects: number;
  /** Discovery and state re-publications after Home Assistant announced itself. */
  birthRepublishes: number;
  malformedPayloads: number;
  mqttErrors: number;
}

const QOS = 1 as const;

/**
 * Whether `next` is at least as recent as `current`. A value read by the
 * periodic refresh may answer after a newer one arrived by pub/sub on the
 * other connection: the older one must not win.
 */
function notOlder(current: string | undefined, next: string): boolean {
  return current === undefined || Date.parse(next) >= Date.parse(current);
}

async function packageVersion(): Promise<string> {
  try {
    const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function createHomeAssistantBridge(options: HomeAssistantBridgeOptions): HomeAssistantBridge {
  const { config } = options;
  const now = options.now ?? Date.now;
  const refreshMs = options.refreshMs ?? 10_000;
  const log = options.logger.child({ module: 'home-assistant-bridge' });
  const settings = { discoveryPrefix: config.discoveryPrefix, topicRoot: config.topicRoot };

  let discoveryOptions: DiscoveryOptions | undefined;
  let tariff: Tariff | undefined;
  let source: BridgeSource | undefined;
  let readingsSource: LatestReadings | undefined;
  let client: MqttClient | undefined;
  let refreshTimer: NodeJS.Timeout | undefined;
  let readingsTimer: NodeJS.Timeout | undefined;
  let stopped = true;

  const chargers = new Map<string, ChargerStatus>();
  const vitals = new Map<string, LiveVitals>();
  const sessions = new Map<string, LiveSession>();
  const readings = new Map<string, ChargerReadings>();
  let price: CurrentPrice | undefined;

  /** Retained topics known to be published (mirrors the Redis set). */
  const retained = new Set<string>();
  let retainedLoaded = false;
  /** False until the charger list has been read once: an unread list is not an empty one. */
  let chargersLoaded = false;
  /** The last payload of each discovery config and availability topic, to publish only changes. */
  const lastPublished = new Map<string, string>();
  const slots = new Map<string, ThrottleSlot>();
  const wakeTimers = new Map<string, NodeJS.Timeout>();
  const stats: Omit<BridgeStats, 'connected' | 'malformedPayloads'> = {
    connects: 0,
    birthRepublishes: 0,
    mqttErrors: 0,
  };
  let mqttDown = false;
  let readingsDown = false;

  // One task at a time: a sync, a re-publication and a removal never interleave.
  let chain: Promise<void> = Promise.resolve();
  function enqueue(task: () => Promise<void>): Promise<void> {
    chain = chain.then(task).catch((error: unknown) => {
      log.debug({ err: (error as Error).message }, 'bridge task failed; retried at the next refresh');
    });
    return chain;
  }

  const connected = () => client?.connected === true;

  function publish(topic: string, payload: string, onDone?: () => void): void {
    if (!client || !connected()) return;
    client.publish(topic, payload, { qos: QOS, retain: true }, (error) => {
      if (error) {
        stats.mqttErrors++;
        return;
      }
      onDone?.();
    });
  }

  /** Publishes a retained topic after recording it, so it can be cleared even after a crash. */
  async function publishRetained(topic: string, payload: string): Promise<void> {
    if (!connected()) return;
    if (!retained.has(topic)) {
      await source?.addRetainedTopics([topic]);
      retained.add(topic);
    }
    publish(topic, payload);
  }

  async function publishIfChanged(topic: string, payload: string, force: boolean): Promise<void> {
    if (!connected()) return;
    if (!force && lastPublished.get(topic) === payload) return;
    await publishRetained(topic, payload);
    lastPublished.set(topic, payload);
  }

  function scheduleWake(topic: string, atMs: number): void {
    if (wakeTimers.has(topic)) return;
    const timer = setTimeout(
      () => {
        wakeTimers.delete(topic);
        const step = flushDue(slots.get(topic) ?? EMPTY_SLOT, now(), config.stateMinIntervalMs);
        slots.set(topic, step.slot);
        if (step.send !== undefined) void enqueue(() => publishRetained(topic, step.send as string));
        if (step.wakeAtMs !== undefined) scheduleWake(topic, step.wakeAtMs);
      },
      Math.max(0, atMs - now()),
    );
    wakeTimers.set(topic, timer);
  }

  async function publishState(topic: string, payload: string, force: boolean): Promise<void> {
    if (!connected()) return;
    if (force) {
      slots.set(topic, forceState(payload, now()));
      await publishRetained(topic, payload);
      return;
    }
    const step = offerState(slots.get(topic) ?? EMPTY_SLOT, payload, now(), config.stateMinIntervalMs);
    slots.set(topic, step.slot);
    if (step.send !== undefined) await publishRetained(topic, step.send);
    if (step.wakeAtMs !== undefined) scheduleWake(topic, step.wakeAtMs);
  }

  async function publishCharger(chargerId: string, force: boolean): Promise<void> {
    const status = chargers.get(chargerId);
    if (!status || !discoveryOptions) return;
    await publishIfChanged(chargerAvailabilityTopic(settings, chargerId), status.online ? ONLINE : OFFLINE, force);
    const states = chargerStates(
      { status, vitals: vitals.get(chargerId), session: sessions.get(chargerId), readings: readings.get(chargerId) },
      discoveryOptions.withInfluxReadings,
    );
    for (const [key, payload] of states) {
      await publishState(chargerStateTopic(settings, chargerId, key), payload, force);
    }
  }

  async function publishPrice(force: boolean): Promise<void> {
    await publishIfChanged(priceAvailabilityTopic(settings), priceAvailability(price), force);
    if (!price || !tariff) return;
    for (const [key, payload] of priceStates(price, tariff)) {
      await publishState(priceStateTopic(settings, key), payload, force);
    }
  }

  /**
   * Brings the broker in line with the charger list: clears the topics of
   * chargers that are gone, (re)publishes discovery configs that are new or
   * changed (all of them when `force`), then the states.
   */
  async function sync(force: boolean): Promise<void> {
    if (!connected() || !discoveryOptions || !source) return;
    if (!retainedLoaded) {
      for (const topic of await source.retainedTopics()) retained.add(topic);
      retainedLoaded = true;
    }
    const wanted = new Set(priceRetainedTopics(discoveryOptions, config.discovery));
    for (const chargerId of chargers.keys()) {
      for (const topic of chargerRetainedTopics(discoveryOptions, chargerId, config.discovery)) wanted.add(topic);
    }
    const stale = chargersLoaded ? topicsToClear(retained, wanted) : [];
    for (const topic of stale) {
      // An empty retained payload deletes the retained message; on a discovery topic it removes the entity.
      publish(topic, '', () => {
        void source
          ?.removeRetainedTopics([topic])
          .then(() => retained.delete(topic))
          .catch(() => {});
      });
      lastPublished.delete(topic);
      slots.delete(topic);
    }
    if (stale.length > 0) log.info({ topics: stale.length }, 'cleared the topics of removed chargers');
    if (config.discovery) {
      for (const message of priceDiscovery(discoveryOptions)) {
        await publishIfChanged(message.topic, message.payload, force);
      }
      for (const status of chargers.values()) {
        for (const message of chargerDiscovery(discoveryOptions, status)) {
          await publishIfChanged(message.topic, message.payload, force);
        }
      }
    }
    await publishPrice(force);
    for (const chargerId of chargers.keys()) await publishCharger(chargerId, force);
  }

  function acceptVitals(sample: LiveVitals): boolean {
    if (!notOlder(vitals.get(sample.charger_id)?.time, sample.time)) return false;
    vitals.set(sample.charger_id, sample);
    return true;
  }

  function acceptSession(live: LiveSession): boolean {
    if (!notOlder(sessions.get(live.charger_id)?.updated, live.updated)) return false;
    sessions.set(live.charger_id, live);
    return true;
  }

  function acceptPrice(latest: CurrentPrice): boolean {
    if (!notOlder(price?.updated, latest.updated)) return false;
    price = latest;
    return true;
  }

  /** Reads everything from Redis again; a message missed while Redis or the broker was away is caught up here. */
  async function refresh(): Promise<void> {
    if (!source) return;
    const statuses = await source.chargers();
    chargersLoaded = true;
    chargers.clear();
    for (const status of statuses) chargers.set(status.charger_id, status);
    for (const chargerId of [...vitals.keys(), ...sessions.keys()]) {
      if (!chargers.has(chargerId)) {
        vitals.delete(chargerId);
        sessions.delete(chargerId);
      }
    }
    for (const chargerId of chargers.keys()) {
      const [latestVitals, latestSession] = await Promise.all([source.vitals(chargerId), source.session(chargerId)]);
      if (latestVitals) acceptVitals(latestVitals);
      if (latestSession) acceptSession(latestSession);
    }
    const latestPrice = await source.price();
    if (latestPrice) acceptPrice(latestPrice);
  }

  async function refreshReadings(): Promise<void> {
    if (!readingsSource) return;
    try {
      const latest = await readingsSource.read();
      if (readingsDown) log.info('InfluxDB readable again');
      readingsDown = false;
      readings.clear();
      for (const [chargerId, value] of latest) readings.set(chargerId, value);
    } catch (error) {
      if (!readingsDown) {
        log.warn({ err: (error as Error).message }, 'InfluxDB unavailable; lifetime energy and Wi-Fi signal paused');
      }
      readingsDown = true;
    }
  }

  function scheduleRefresh(): void {
    refreshTimer = setTimeout(() => {
      void enqueue(async () => {
        await refresh();
        await sync(false);
      }).finally(() => {
        if (!stopped) scheduleRefresh();
      });
    }, refreshMs);
  }

  function scheduleReadings(): void {
    readingsTimer = setTimeout(() => {
      void refreshReadings()
        .then(() =>
          enqueue(async () => {
            for (const chargerId of chargers.keys()) await publishCharger(chargerId, false);
          }),
        )
        .finally(() => {
          if (!stopped) scheduleReadings();
        });
    }, config.readingsRefreshMs);
  }

  function onConnect(): void {
    stats.connects++;
    if (mqttDown) log.info('MQTT broker reachable again');
    mqttDown = false;
    const mqttClient = client;
    if (!mqttClient) return;
    mqttClient.publish(bridgeAvailabilityTopic(settings), ONLINE, { qos: QOS, retain: true });
    mqttClient.subscribe(birthTopic(settings), { qos: QOS });
    void enqueue(() => sync(true));
  }

  function onMessage(topic: string, payload: Buffer): void {
    if (topic !== birthTopic(settings) || payload.toString() !== ONLINE) return;
    stats.birthRepublishes++;
    log.info('Home Assistant announced itself; publishing discovery and states again');
    void enqueue(() => sync(true));
  }

  function onTroubled(error?: Error): void {
    if (error) stats.mqttErrors++;
    if (!mqttDown && !stopped) {
      log.warn({ err: error?.message }, 'MQTT broker unreachable; reconnecting');
    }
    mqttDown = true;
  }

  return {
    async start() {
      if (!stopped) return;
      // A bad tariff fails the start with the setting named (TariffError).
      tariff = (await loadTariff(config.tariff)).tariff;
      stopped = false;
      const version = await packageVersion();
      const origin: Origin = { name: 'twc-dashboard', sw_version: version, ...options.origin };
      discoveryOptions = { ...settings, origin, withInfluxReadings: config.influx !== undefined };
      source = createRedisBridgeSource({ ...config.redis, logger: options.logger });
      if (config.influx) {
        readingsSource = createInfluxLatestReadings({
          url: config.influx.url,
          token: config.influx.token,
          org: config.influx.org,
          bucket: config.influx.rawBucket,
        });
      }
      const subscribed = source.subscribe({
        vitals(sample) {
          if (acceptVitals(sample) && chargers.has(sample.charger_id)) {
            void enqueue(() => publishCharger(sample.charger_id, false));
          }
        },
        session(live) {
          if (acceptSession(live) && chargers.has(live.charger_id)) {
            void enqueue(() => publishCharger(live.charger_id, false));
          }
        },
        price(latest) {
          if (acceptPrice(latest)) void enqueue(() => publishPrice(false));
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

      const mqttOptions: IClientOptions = {
        clientId: `twc-ha-bridge-${Math.random().toString(16).slice(2, 10)}`,
        reconnectPeriod: options.reconnectMs ?? 2000,
        connectTimeout: 10_000,
        will: { topic: bridgeAvailabilityTopic(settings), payload: Buffer.from(OFFLINE), qos: QOS, retain: true },
        rejectUnauthorized: config.mqtt.rejectUnauthorized,
      };
      if (config.mqtt.username !== undefined) mqttOptions.username = config.mqtt.username;
      if (config.mqtt.password !== undefined) mqttOptions.password = config.mqtt.password;
      if (config.mqtt.ca !== undefined) mqttOptions.ca = config.mqtt.ca;
      client = mqtt.connect(config.mqtt.url, mqttOptions);
      client.on('connect', onConnect);
      client.on('message', onMessage);
      client.on('error', onTroubled);
      client.on('offline', () => onTroubled());
      scheduleRefresh();
      if (readingsSource) scheduleReadings();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(refreshTimer);
      clearTimeout(readingsTimer);
      for (const timer of wakeTimers.values()) clearTimeout(timer);
      wakeTimers.clear();
      await chain;
      const mqttClient = client;
      client = undefined;
      if (mqttClient) {
        // A clean disconnect does not fire the last will: say offline first.
        if (mqttClient.connected) {
          await mqttClient
            .publishAsync(bridgeAvailabilityTopic(settings), OFFLINE, { qos: QOS, retain: true })
            .catch(() => {});
        }
        await mqttClient.endAsync().catch(() => mqttClient.end(true));
      }
      await source?.stop();
      source = undefined;
    },
    stats() {
      const malformed = source?.stats().malformed;
      return {
        ...stats,
        connected: connected(),
        malformedPayloads: malformed ? Object.values(malformed).reduce((sum, count) => sum + count, 0) : 0,
      };
    },
  };
}
