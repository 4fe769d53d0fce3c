/**
 * An upgrade of the bridge: a new instance comes up while the old one is
 * still running, then the old one goes away, cleanly (it says offline on its
 * way out) or not (the broker publishes its last will). Either way Home
 * Assistant must end with every entity available, on the real broker.
 */
import { createRedisLiveState } from '@twc/collector/collector/redis-live-state';
import { createRedisPriceState } from '@twc/collector/comed-poller/redis-price-state';
import { silentLogger } from '@twc/runtime/logger';
import { servers, uniqueKeyPrefix, uniqueTopicRoot } from '@twc/testenv/vitest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHomeAssistantBridgeService, type HomeAssistantBridgeService } from '../../src/homeassistant/service.js';
import { bridgeConfig, currentPrice, liveVitals, status } from './fixtures.js';
import { MqttRecorder } from './mqtt-recorder.js';
import { TcpProxy } from './tcp-proxy.js';

const SERIAL = 'PGT22130007';
const keyPrefix = uniqueKeyPrefix('ha-handover');
const logger = silentLogger();
const live = createRedisLiveState({ url: servers().redis.url, keyPrefix, logger });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  await live.ready(5000);
  live.publishStatus(status(SERIAL, 'garage'));
  live.publishVitals(liveVitals(SERIAL, 'garage', new Date()));
  const prices = createRedisPriceState({ url: servers().redis.url, keyPrefix, logger });
  await prices.ready(5000);
  await prices.save(currentPrice(new Date()), true);
  await prices.stop();
});

afterAll(async () => {
  await live.stop();
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function instance(topicRoot: string, env: Record<string, string> = {}): HomeAssistantBridgeService {
  const bridge = createHomeAssistantBridgeService(
    bridgeConfig({
      REDIS_KEY_PREFIX: keyPrefix,
      HA_DISCOVERY_PREFIX: `${topicRoot}-discovery`,
      HA_TOPIC_ROOT: topicRoot,
      ...env,
    }),
    logger,
    { refreshMs: 200, reconnectMs: 200, availabilityDebounceMs: 100 },
  );
  cleanups.push(() => bridge.stop());
  return bridge;
}

async function recorderOn(filters: string[]): Promise<MqttRecorder> {
  const recorder = await MqttRecorder.connect(servers().mqtt.url, filters);
  cleanups.push(() => recorder.stop());
  return recorder;
}

/** What Home Assistant reads on subscribing now: the retained payload of each topic. */
async function retained(topics: string[]): Promise<Record<string, string>> {
  const late = await MqttRecorder.connect(servers().mqtt.url, topics);
  try {
    const seen = await late.waitFor(
      () => {
        const latest = topics.map((topic) => late.latest(topic));
        return latest.every((message) => message !== undefined) ? latest : undefined;
      },
      5000,
      'retained availability',
    );
    return Object.fromEntries(seen.map((message) => [message?.topic, message?.payload]));
  } finally {
    await late.stop();
  }
}

function availabilityTopics(topicRoot: string): string[] {
  return [`${topicRoot}/bridge/availability`, `${topicRoot}/${SERIAL}/availability`, `${topicRoot}/price/availability`];
}

const allOnline = (topicRoot: string) =>
  Object.fromEntries(availabilityTopics(topicRoot).map((topic) => [topic, 'online']));

describe('an upgrade of the bridge', () => {
  it('leaves every entity available when the old instance stops after the new one came up', async () => {
    const topicRoot = uniqueTopicRoot('ha-handover');
    const bridgeAvailability = `${topicRoot}/bridge/availability`;
    const recorder = await recorderOn([`${topicRoot}/#`]);
    const old = instance(topicRoot);
    await old.start();
    await recorder.waitForPayload(`${topicRoot}/${SERIAL}/power`, '7346');
    expect(await retained(availabilityTopics(topicRoot))).toEqual(allOnline(topicRoot));

    const next = instance(topicRoot);
    await next.start();
    // The new instance is up and said online...
    await recorder.waitFor(() => recorder.on(bridgeAvailability).length === 2, 10_000, 'the new online');
    // ...then the old one goes, saying offline after it.
    await old.stop();
    await recorder.waitFor(
      () => recorder.on(bridgeAvailability).length === 4,
      10_000,
      'the new instance answering the old one',
    );
    await sleep(500);
    expect(recorder.on(bridgeAvailability).map((message) => message.payload)).toEqual([
      'online',
      'online',
      'offline',
      'online',
    ]);
    expect(recorder.latest(bridgeAvailability)).toMatchObject({ retain: true, qos: 1 });
    expect(await retained(availabilityTopics(topicRoot))).toEqual(allOnline(topicRoot));
    expect(next.stats()).toMatchObject({ connected: true, availabilityRepublishes: 1 });

    // The new instance still works: a new value gets out.
    live.publishVitals(liveVitals(SERIAL, 'garage', new Date(), { power_w: 5120 }));
    await recorder.waitForPayload(`${topicRoot}/${SERIAL}/power`, '5120');
  });

  it("leaves every entity available when the old instance's connection dies after the new one came up (its last will)", async () => {
    const topicRoot = uniqueTopicRoot('ha-handover-will');
    const bridgeAvailability = `${topicRoot}/bridge/availability`;
    const target = new URL(servers().mqtt.url);
    const proxy = await TcpProxy.start(target.hostname, Number(target.port));
    cleanups.push(() => proxy.stop());
    const recorder = await recorderOn([bridgeAvailability]);
    const old = instance(topicRoot, { MQTT_URL: proxy.url });
    await old.start();
    await recorder.waitForPayload(bridgeAvailability, 'online');

    const next = instance(topicRoot);
    await next.start();
    await recorder.waitFor(() => recorder.on(bridgeAvailability).length === 2, 10_000, 'the new online');
    // The old pod is gone without a word, and for good: the broker says offline for it.
    await proxy.stop();
    await recorder.waitFor(() => recorder.on(bridgeAvailability).length === 4, 10_000, 'the answer to the will');
    await sleep(500);
    expect(recorder.on(bridgeAvailability).map((message) => message.payload)).toEqual([
      'online',
      'online',
      'offline',
      'online',
    ]);
    expect(await retained(availabilityTopics(topicRoot))).toEqual(allOnline(topicRoot));
  });

  it('still reports the bridge offline once the last instance stops', async () => {
    const topicRoot = uniqueTopicRoot('ha-handover-last');
    const only = instance(topicRoot);
    await only.start();
    const recorder = await recorderOn([`${topicRoot}/bridge/availability`]);
    await recorder.waitForPayload(`${topicRoot}/bridge/availability`, 'online');
    await only.stop();
    await sleep(300);
    expect((await retained([`${topicRoot}/bridge/availability`]))[`${topicRoot}/bridge/availability`]).toBe('offline');
  });
});
