import { createRedisLiveState } from '@twc/collector/collector/redis-live-state';
import { silentLogger } from '@twc/runtime/logger';
import { freePort } from '@twc/testenv';
import { servers, uniqueKeyPrefix, uniqueTopicRoot } from '@twc/testenv/vitest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHomeAssistantBridgeService, type HomeAssistantBridgeService } from '../../src/homeassistant/service.js';
import { bridgeConfig, liveVitals, status } from './fixtures.js';
import { eventually, MqttRecorder } from './mqtt-recorder.js';

const SERIAL = 'PGT22130008';
const keyPrefix = uniqueKeyPrefix('ha-service');
const logger = silentLogger();
const live = createRedisLiveState({ url: servers().redis.url, keyPrefix, logger });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  await live.ready(5000);
  live.publishStatus(status(SERIAL, 'garage'));
  live.publishVitals(liveVitals(SERIAL, 'garage', new Date()));
});

afterAll(async () => {
  await live.stop();
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function service(env: Record<string, string>, birthDebounceMs?: number): HomeAssistantBridgeService {
  const bridge = createHomeAssistantBridgeService(bridgeConfig({ REDIS_KEY_PREFIX: keyPrefix, ...env }), logger, {
    refreshMs: 200,
    reconnectMs: 200,
    birthDebounceMs,
  });
  cleanups.push(() => bridge.stop());
  return bridge;
}

async function health(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('the homeassistant-bridge service', () => {
  it('answers GET /health with 200 and its counters while connected to the broker', async () => {
    const port = await freePort();
    const topicRoot = uniqueTopicRoot('ha-service-health');
    const bridge = service({ HEALTH_PORT: String(port), HA_TOPIC_ROOT: topicRoot, HA_DISCOVERY_PREFIX: topicRoot });
    await bridge.start();
    await eventually(async () => bridge.stats().connected);
    expect(await health(port)).toEqual({
      status: 200,
      body: {
        status: 'ok',
        connected: true,
        connects: 1,
        birthRepublishes: 0,
        birthAnnouncements: 0,
        availabilityRepublishes: 0,
        malformedPayloads: 0,
        commandsApplied: 0,
        commandsRejected: 0,
        commandsFailed: 0,
        mqttErrors: 0,
      },
    });
    await bridge.stop();
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });

  it('answers 503 while the broker cannot be reached', async () => {
    const port = await freePort();
    const bridge = service({ HEALTH_PORT: String(port), MQTT_URL: `mqtt://127.0.0.1:${await freePort()}` });
    await bridge.start();
    await sleep(500);
    const answer = await health(port);
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ status: 'unhealthy', connected: false, connects: 0 });
  });

  it('publishes everything once for a flood of Home Assistant announcements, as for one', async () => {
    const topicRoot = uniqueTopicRoot('ha-service-flood');
    const discoveryPrefix = uniqueTopicRoot('ha-service-flood-discovery');
    const bridge = service({ HA_TOPIC_ROOT: topicRoot, HA_DISCOVERY_PREFIX: discoveryPrefix }, 1000);
    const recorder = await MqttRecorder.connect(servers().mqtt.url, [`${discoveryPrefix}/#`, `${topicRoot}/#`]);
    cleanups.push(() => recorder.stop());
    await bridge.start();
    await recorder.waitForPayload(`${topicRoot}/${SERIAL}/power`, '7346');
    const fromBridge = () => recorder.messages.filter((message) => !message.topic.endsWith('/status'));
    // Past the start-up publication: from here on only announcements make the bridge publish.
    await sleep(500);

    recorder.clear();
    await recorder.publish(`${discoveryPrefix}/status`, 'online');
    await eventually(async () => bridge.stats().birthRepublishes === 1);
    await sleep(500);
    const one = fromBridge().length;
    // Every config and state, once.
    expect(one).toBeGreaterThanOrEqual(10 + 3 + 2 + 8);
    expect(new Set(fromBridge().map((message) => message.topic)).size).toBe(one);

    recorder.clear();
    await Promise.all(
      Array.from({ length: 300 }, () =>
        recorder.client.publishAsync(`${discoveryPrefix}/status`, 'online', { qos: 1 }),
      ),
    );
    await eventually(async () => bridge.stats().birthAnnouncements === 301);
    await eventually(async () => bridge.stats().birthRepublishes === 2);
    await sleep(1500);
    expect(bridge.stats()).toMatchObject({ birthAnnouncements: 301, birthRepublishes: 2 });
    expect(fromBridge()).toHaveLength(one);
  });
});
