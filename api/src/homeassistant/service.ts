import { readFile } from 'node:fs/promises';
import { type HealthServer, startHealthServer } from '@twc/runtime/health-server';
import type { Logger } from '@twc/runtime/logger';
import { loadTariff } from '@twc/runtime/tariff-file';
import type { HomeAssistantConfig } from './config.js';
import { birthTopic, bridgeAvailabilityTopic, commandTopicFilter, type Origin } from './discovery.js';
import { type BridgeStats, createHomeAssistantBridge } from './home-assistant-bridge.js';
import { createInfluxLatestReadings } from './influx-latest-readings.js';
import { createBridgeMqttClient } from './mqtt-client.js';
import { createRedisBridgeSource } from './redis-bridge-source.js';

export interface HomeAssistantBridgeServiceOptions {
  now?: () => number;
  /** Overrides of the discovery `origin` block; name and version default to this package's. */
  origin?: Partial<Origin>;
  /** How often the charger list (and everything else, in case a message was missed) is read again. */
  refreshMs?: number;
  /** Milliseconds between reconnection attempts to the broker. */
  reconnectMs?: number;
  /** Home Assistant announcements within this window make one re-publication. */
  birthDebounceMs?: number;
  /** How long an `offline` left by another client on the bridge's availability stands before `online` again. */
  availabilityDebounceMs?: number;
}

export interface HomeAssistantBridgeService {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): BridgeStats;
}

async function packageVersion(): Promise<string> {
  try {
    const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Wires the Redis source, the InfluxDB readings and the broker connection
 * around the bridge, with a GET /health that is healthy while the broker is
 * connected. Nothing connects before `start()`.
 */
export function createHomeAssistantBridgeService(
  config: HomeAssistantConfig,
  logger: Logger,
  options: HomeAssistantBridgeServiceOptions = {},
): HomeAssistantBridgeService {
  const topics = { discoveryPrefix: config.discoveryPrefix, topicRoot: config.topicRoot };
  const source = createRedisBridgeSource({ ...config.redis, logger });
  const readings = config.influx
    ? createInfluxLatestReadings({
        url: config.influx.url,
        token: config.influx.token,
        org: config.influx.org,
        bucket: config.influx.rawBucket,
      })
    : undefined;
  const mqtt = createBridgeMqttClient({
    mqtt: config.mqtt,
    availabilityTopic: bridgeAvailabilityTopic(topics),
    birthTopic: birthTopic(topics),
    commandFilter: commandTopicFilter(topics),
    logger,
    reconnectMs: options.reconnectMs,
    birthDebounceMs: options.birthDebounceMs,
    availabilityDebounceMs: options.availabilityDebounceMs,
  });
  const bridge = createHomeAssistantBridge({
    config,
    source,
    readings,
    mqtt,
    logger,
    now: options.now,
    refreshMs: options.refreshMs,
  });
  let health: HealthServer | undefined;

  return {
    async start() {
      // A bad tariff fails the start with the setting named (TariffError).
      const { tariff } = await loadTariff(config.tariff);
      const origin: Origin = { name: 'twc-dashboard', sw_version: await packageVersion(), ...options.origin };
      await bridge.start({
        discovery: { ...topics, origin, withInfluxReadings: config.influx !== undefined },
        publishDiscovery: config.discovery,
        tariff,
      });
      if (config.healthPort > 0) {
        health = await startHealthServer(
          config.healthPort,
          () => ({ ...bridge.stats() }),
          () => mqtt.connected(),
        );
      }
      // The host only: a URL may carry a user and password.
      logger.info(
        { broker: new URL(config.mqtt.url).host, topicRoot: config.topicRoot },
        'homeassistant-bridge started',
      );
    },
    async stop() {
      await health?.close();
      health = undefined;
      await bridge.stop();
      logger.info('homeassistant-bridge stopped');
    },
    stats: () => bridge.stats(),
  };
}
