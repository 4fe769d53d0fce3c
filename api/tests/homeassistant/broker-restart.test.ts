import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedisLiveState } from '@twc/collector/collector/redis-live-state';
import { silentLogger } from '@twc/runtime/logger';
import { freePort, type MosquittoServer, startMosquitto } from '@twc/testenv';
import { servers, uniqueKeyPrefix, uniqueTopicRoot } from '@twc/testenv/vitest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHomeAssistantBridgeService } from '../../src/homeassistant/service.js';
import { bridgeConfig, liveVitals, status } from './fixtures.js';
import { MqttRecorder } from './mqtt-recorder.js';

const SERIAL = 'PGT22139999';
const keyPrefix = uniqueKeyPrefix('ha-restart');
const discoveryPrefix = uniqueTopicRoot('ha-restart-discovery');
const topicRoot = uniqueTopicRoot('ha-restart-root');
const logger = silentLogger();

let dir: string;
let broker: MosquittoServer;
const live = createRedisLiveState({ url: servers().redis.url, keyPrefix, logger });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'twc-ha-broker-'));
  broker = await startMosquitto(dir, { port: await freePort() });
  await live.ready(5000);
  live.publishStatus(status(SERIAL, 'garage'));
  live.publishVitals(liveVitals(SERIAL, 'garage', new Date()));
});

afterAll(async () => {
  await live.stop();
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('survives a broker restart: reconnects and publishes discovery and states again', async () => {
  const bridge = createHomeAssistantBridgeService(
    bridgeConfig({
      MQTT_URL: broker.url,
      REDIS_KEY_PREFIX: keyPrefix,
      HA_DISCOVERY_PREFIX: discoveryPrefix,
      HA_TOPIC_ROOT: topicRoot,
    }),
    logger,
    { refreshMs: 200, reconnectMs: 200 },
  );
  const powerConfig = `${discoveryPrefix}/sensor/twc_${SERIAL}_power/config`;
  const power = `${topicRoot}/${SERIAL}/power`;
  const recorder = await MqttRecorder.connect(broker.url, [`${discoveryPrefix}/#`, `${topicRoot}/#`]);
  try {
    await bridge.start();
    await recorder.waitFor(() => recorder.latest(powerConfig), 10_000, 'the power config');
    await recorder.waitForPayload(power, '7346');
    const connectsBefore = bridge.stats().connects;

    // The broker keeps no persistence here: every retained message is lost with it.
    await broker.stop();
    await broker.restart();
    recorder.clear();

    const config = await recorder.waitFor(() => recorder.latest(powerConfig), 20_000, 'the power config again');
    expect(config).toMatchObject({ retain: true, qos: 1 });
    expect(JSON.parse(config.payload)).toMatchObject({ unique_id: `twc_${SERIAL}_power`, unit_of_measurement: 'W' });
    await recorder.waitForPayload(power, '7346', 10_000);
    await recorder.waitForPayload(`${topicRoot}/bridge/availability`, 'online', 10_000);
    expect(bridge.stats().connects).toBe(connectsBefore + 1);

    // Live updates flow again after the restart.
    live.publishVitals(liveVitals(SERIAL, 'garage', new Date(), { power_w: 5000 }));
    await recorder.waitForPayload(power, '5000', 10_000);
  } finally {
    await bridge.stop();
    await recorder.stop();
  }
});
