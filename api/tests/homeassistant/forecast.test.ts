/**
 * The forecast's entities on the real broker, from the price poller's
 * forecast in the real Redis (written with the poller's own code), on a clock
 * the test moves: staleness is judged by the bridge, by the clock.
 */
import { createRedisPriceState, type PriceState } from '@twc/collector/comed-poller/redis-price-state';
import { priceKeys } from '@twc/core/contracts/redis';
import { TARIFF_DEFAULTS } from '@twc/core/prices/tariff';
import { servers, uniqueKeyPrefix, uniqueTopicRoot } from '@twc/testenv/vitest';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { birthTopic, bridgeAvailabilityTopic } from '../../src/homeassistant/discovery.js';
import { createHomeAssistantBridge } from '../../src/homeassistant/home-assistant-bridge.js';
import { createBridgeMqttClient } from '../../src/homeassistant/mqtt-client.js';
import { type BridgeSource, createRedisBridgeSource } from '../../src/homeassistant/redis-bridge-source.js';
import { createHomeAssistantBridgeService, type HomeAssistantBridgeService } from '../../src/homeassistant/service.js';
import { bridgeConfig, currentPrice, expectedForecastConfigs, FORECAST_NOW_MS, priceForecast } from './fixtures.js';
import { eventually, MqttRecorder } from './mqtt-recorder.js';

const MINUTE = 60_000;
const keyPrefix = uniqueKeyPrefix('ha-forecast');
const discoveryPrefix = uniqueTopicRoot('ha-forecast-discovery');
const topicRoot = uniqueTopicRoot('ha-forecast-root');
const origin = { name: 'twc-dashboard', sw_version: '0.1.0' };

const availability = `${topicRoot}/price/forecast/availability`;
const state = (key: string) => `${topicRoot}/price/${key}`;
const attributes = `${topicRoot}/price/tonight_average_price/attributes`;

/** The bridge's clock, moved by the tests. */
let nowMs = FORECAST_NOW_MS;
const logLines: Record<string, unknown>[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line)) });

let redis: Redis;
let poller: PriceState;
let recorder: MqttRecorder;
let bridge: HomeAssistantBridgeService;

beforeAll(async () => {
  redis = new Redis(servers().redis.url);
  poller = createRedisPriceState({ url: servers().redis.url, keyPrefix, logger: pino({ level: 'silent' }) });
  expect(await poller.ready(5000)).toBe(true);
  // In Redis before the bridge starts: read at start-up.
  expect(await poller.saveForecast(priceForecast(FORECAST_NOW_MS - 2 * MINUTE))).toBe(true);
  recorder = await MqttRecorder.connect(servers().mqtt.url, [`${discoveryPrefix}/#`, `${topicRoot}/#`]);
  bridge = createHomeAssistantBridgeService(
    bridgeConfig({ REDIS_KEY_PREFIX: keyPrefix, HA_DISCOVERY_PREFIX: discoveryPrefix, HA_TOPIC_ROOT: topicRoot }),
    logger,
    { now: () => nowMs, refreshMs: 200, reconnectMs: 200 },
  );
  await bridge.start();
});

afterAll(async () => {
  await bridge?.stop();
  await poller?.stop();
  await recorder?.stop();
  redis?.disconnect();
});

describe('the forecast in Home Assistant', () => {
  it('announces the forecast entities on the price device, retained', async () => {
    const expected = expectedForecastConfigs(discoveryPrefix, topicRoot, origin);
    const configs = await recorder.waitFor(
      () => {
        const latest = Object.keys(expected).map((topic) => recorder.latest(topic));
        return latest.every((message) => message?.payload) ? latest : undefined;
      },
      10_000,
      'forecast configs',
    );
    for (const message of configs) {
      expect(message).toMatchObject({ retain: true, qos: 1 });
      expect(JSON.parse(message?.payload ?? '')).toEqual(expected[message?.topic ?? '']);
    }
  });

  it('shows the forecast read at start-up: states, attributes, available', async () => {
    const expected: Record<string, string> = {
      [availability]: 'online',
      // The hour ending 18:00 Central is running; its day-ahead price was 2.9 cents.
      [state('day_ahead_price')]: '0.029',
      [state('cheapest_window_start')]: '2026-01-16T01:00:00.000Z',
      [state('cheapest_window_end')]: '2026-01-16T05:00:00.000Z',
      [state('tonight_average_price')]: '0.0265',
    };
    for (const [topic, payload] of Object.entries(expected)) {
      await recorder.waitForPayload(topic, payload);
      expect(recorder.latest(topic)).toMatchObject({ payload, retain: true, qos: 1 });
    }
    const shown = JSON.parse((await recorder.waitFor(() => recorder.latest(attributes))).payload);
    expect(shown).toMatchObject({
      from: '2026-01-16T00:00:00.000Z',
      until: '2026-01-16T13:00:00.000Z',
      window: {
        start: '2026-01-16T01:00:00.000Z',
        end: '2026-01-16T05:00:00.000Z',
        hours: 4,
        avg_price: 0.0225,
        sources: ['day_ahead'],
      },
    });
    expect(shown.hours).toHaveLength(24);
    expect(shown.hours[0]).toEqual({
      hour_ending: '2026-01-16T00:00:00.000Z',
      price: 0.031,
      source: 'running',
      low: 0.026,
      high: 0.036,
    });
    expect(shown.hours.at(-1)).toEqual({
      hour_ending: '2026-01-16T23:00:00.000Z',
      price: 0.043,
      source: 'forecast',
      low: 0.018,
      high: 0.078,
    });
    expect(recorder.latest(attributes)).toMatchObject({ retain: true, qos: 1 });
  });

  it('takes a new forecast as the poller announces it, and an older one read later does not undo it', async () => {
    // Announced only, not stored: only the subscription can bring it. The key keeps the older one.
    const announced = priceForecast(nowMs - MINUTE, {
      tonight: {
        from: '2026-01-16T00:00:00.000Z',
        until: '2026-01-16T13:00:00.000Z',
        avg_price_cents_kwh: 2.4,
        window: {
          start: '2026-01-16T08:00:00.000Z',
          end: '2026-01-16T12:00:00.000Z',
          hours: 4,
          avg_price_cents_kwh: 1.9,
          sources: ['day_ahead', 'forecast'],
        },
      },
    });
    await redis.publish(priceKeys.forecastChannel(keyPrefix), JSON.stringify(announced));
    await recorder.waitForPayload(state('cheapest_window_start'), '2026-01-16T08:00:00.000Z');
    await recorder.waitForPayload(state('cheapest_window_end'), '2026-01-16T12:00:00.000Z');
    await recorder.waitForPayload(state('tonight_average_price'), '0.024');
    // A few refreshes later (every 200 ms), the older forecast in the key has not come back.
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(recorder.latest(state('cheapest_window_start'))?.payload).toBe('2026-01-16T08:00:00.000Z');
    expect(JSON.parse(recorder.latest(attributes)?.payload ?? '{}').window.sources).toEqual(['day_ahead', 'forecast']);
  });

  it('makes the forecast unavailable once it is stale, by the clock alone, and available again on a fresh one', async () => {
    recorder.clear();
    // 18:05 Central: nothing recomputed since 17:39, and the feed behind it is half an hour old.
    nowMs = FORECAST_NOW_MS + 25 * MINUTE;
    await recorder.waitForPayload(availability, 'offline');
    // The hour under way is now the one ending 19:00 Central: its day-ahead price is 2.1 cents.
    await recorder.waitForPayload(state('day_ahead_price'), '0.021');
    const curve = JSON.parse(recorder.latest(attributes)?.payload ?? '{}');
    expect(curve.hours[0].hour_ending).toBe('2026-01-16T01:00:00.000Z');
    expect(curve.hours).toHaveLength(24);

    // The poller is back: a forecast computed now, written and announced with its code.
    expect(await poller.saveForecast(priceForecast(nowMs - 30_000))).toBe(true);
    await recorder.waitForPayload(availability, 'online');
    // Its current hour (the one ending 19:00 Central) is running, at a day-ahead price of 2.9 cents.
    await recorder.waitForPayload(state('day_ahead_price'), '0.029');
    await recorder.waitForPayload(state('cheapest_window_start'), '2026-01-16T01:00:00.000Z');
  });

  it('ignores a malformed forecast: logged once, counted, the forecast shown stays', async () => {
    const before = bridge.stats().malformedPayloads;
    recorder.clear();
    const { tonight: _tonight, ...withoutTonight } = priceForecast(nowMs);
    await redis.publish(priceKeys.forecastChannel(keyPrefix), JSON.stringify(withoutTonight));
    await redis.publish(priceKeys.forecastChannel(keyPrefix), '{"computed_at": nan}');
    await eventually(async () => bridge.stats().malformedPayloads >= before + 2);
    const warnings = logLines.filter((line) => line.kind === 'forecast' && String(line.msg).startsWith('malformed'));
    expect(warnings).toHaveLength(1);
    // The same channel afterwards: once this is out, the malformed ones have been dealt with.
    const fresh = priceForecast(nowMs, { tonight: { ...priceForecast(nowMs).tonight, avg_price_cents_kwh: 3.3 } });
    await redis.publish(priceKeys.forecastChannel(keyPrefix), JSON.stringify(fresh));
    await recorder.waitForPayload(state('tonight_average_price'), '0.033');
    expect(recorder.on(availability).map((message) => message.payload)).not.toContain('offline');
    expect(recorder.on(state('cheapest_window_start')).map((message) => message.payload)).not.toContain('None');
  });

  it('makes the price entities unavailable once the feed is 15 minutes old, by the clock alone', async () => {
    const priceAvailability = `${topicRoot}/price/availability`;
    expect(await poller.save(currentPrice(new Date(nowMs)), true)).toBe(true);
    await recorder.waitForPayload(priceAvailability, 'online');
    recorder.clear();
    // The poller stops writing; its last flag said "fresh". Sixteen minutes on, the bridge's clock says stale.
    nowMs += 16 * MINUTE;
    await recorder.waitForPayload(priceAvailability, 'offline');
    // Prices again: available again.
    expect(await poller.save(currentPrice(new Date(nowMs)), true)).toBe(true);
    await recorder.waitForPayload(priceAvailability, 'online');
  });

  it('leaves the forecast entities unavailable with the bridge when it stops', async () => {
    recorder.clear();
    await bridge.stop();
    await recorder.waitForPayload(`${topicRoot}/bridge/availability`, 'offline');
    // Every forecast entity's availability includes the bridge's, with availability_mode all.
    for (const config of Object.values(expectedForecastConfigs(discoveryPrefix, topicRoot, origin))) {
      expect(config.availability).toContainEqual({ topic: `${topicRoot}/bridge/availability` });
      expect(config.availability_mode).toBe('all');
    }
  });
});

describe('the forecast while Redis cannot be read', () => {
  it('still goes unavailable when it turns stale: the clock judges it, not a read', async () => {
    const root = uniqueTopicRoot('ha-forecast-redis-down');
    const topics = { discoveryPrefix: `${root}-discovery`, topicRoot: root };
    // Keys of its own: the ledger of retained topics is per prefix.
    const prefix = uniqueKeyPrefix('ha-forecast-redis-down');
    const config = bridgeConfig({ REDIS_KEY_PREFIX: prefix, HA_TOPIC_ROOT: root });
    const silent = pino({ level: 'silent' });
    const writer = createRedisPriceState({ url: servers().redis.url, keyPrefix: prefix, logger: silent });
    expect(await writer.ready(5000)).toBe(true);
    const redisSource = createRedisBridgeSource({ ...config.redis, logger: silent });
    let redisDown = false;
    const unreadable = () => Promise.reject(new Error('Redis unavailable'));
    // The real source, whose reads fail on demand (the subscription stays: nothing comes on it).
    const source: BridgeSource = {
      ...redisSource,
      chargers: () => (redisDown ? unreadable() : redisSource.chargers()),
      price: () => (redisDown ? unreadable() : redisSource.price()),
      forecast: () => (redisDown ? unreadable() : redisSource.forecast()),
    };
    let clockMs = FORECAST_NOW_MS;
    expect(await writer.saveForecast(priceForecast(clockMs - MINUTE))).toBe(true);
    const watcher = await MqttRecorder.connect(servers().mqtt.url, [`${root}/#`]);
    const lonely = createHomeAssistantBridge({
      config,
      source,
      readings: undefined,
      mqtt: createBridgeMqttClient({
        mqtt: config.mqtt,
        availabilityTopic: bridgeAvailabilityTopic(topics),
        birthTopic: birthTopic(topics),
        logger: silent,
        reconnectMs: 200,
      }),
      logger: silent,
      now: () => clockMs,
      refreshMs: 200,
    });
    try {
      await lonely.start({
        discovery: { ...topics, origin, withInfluxReadings: false },
        publishDiscovery: false,
        tariff: TARIFF_DEFAULTS,
      });
      await watcher.waitForPayload(`${root}/price/forecast/availability`, 'online');
      redisDown = true;
      clockMs += 20 * MINUTE;
      await watcher.waitForPayload(`${root}/price/forecast/availability`, 'offline');
    } finally {
      await lonely.stop();
      await watcher.stop();
      await writer.stop();
    }
  });
});
