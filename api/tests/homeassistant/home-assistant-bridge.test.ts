import { InfluxDB, Point } from '@influxdata/influxdb-client';
import { createRedisLiveState } from '@twc/collector/collector/redis-live-state';
import { createRedisSessionStore } from '@twc/collector/collector/session-store';
import { createRedisPriceState } from '@twc/collector/comed-poller/redis-price-state';
import { silentLogger } from '@twc/runtime/logger';
import { createTestBucket, servers, uniqueKeyPrefix, uniqueTopicRoot } from '@twc/testenv/vitest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HomeAssistantConfig } from '../../src/homeassistant/config.js';
import { homeAssistantKeys } from '../../src/homeassistant/redis-bridge-source.js';
import { createHomeAssistantBridgeService, type HomeAssistantBridgeService } from '../../src/homeassistant/service.js';
import {
  bridgeConfig,
  currentPrice,
  expectedForecastConfigs,
  expectedPlanConfigs,
  liveSession,
  liveVitals,
  SESSION_START_MS,
  status,
} from './fixtures.js';
import { eventually, MqttRecorder } from './mqtt-recorder.js';
import { TcpProxy } from './tcp-proxy.js';

const GARAGE = 'PGT22130001';
const BARN = 'PGT22130002';
const SUPPORT_URL = 'https://example.org/twc-dashboard';
const BIRTH_DEBOUNCE_MS = 300;

const keyPrefix = uniqueKeyPrefix('ha-bridge');
const discoveryPrefix = uniqueTopicRoot('ha-discovery');
const topicRoot = uniqueTopicRoot('ha-root');
const logger = silentLogger();

let bucket: string;
let redis: Redis;
let recorder: MqttRecorder;
let bridge: HomeAssistantBridgeService | undefined;
const live = () => createRedisLiveState({ url: servers().redis.url, keyPrefix, logger });
const liveState = { current: undefined as ReturnType<typeof live> | undefined };

function config(env: Record<string, string> = {}): HomeAssistantConfig {
  return bridgeConfig({
    REDIS_KEY_PREFIX: keyPrefix,
    HA_DISCOVERY_PREFIX: discoveryPrefix,
    HA_TOPIC_ROOT: topicRoot,
    INFLUXDB_URL: servers().influx.url,
    INFLUXDB_TOKEN: servers().influx.token,
    INFLUXDB_ORG: servers().influx.org,
    INFLUXDB_BUCKET_RAW: bucket,
    ...env,
  });
}

function startBridge(env: Record<string, string> = {}): HomeAssistantBridgeService {
  return createHomeAssistantBridgeService(config(env), logger, {
    origin: { support_url: SUPPORT_URL },
    refreshMs: 200,
    reconnectMs: 200,
    birthDebounceMs: BIRTH_DEBOUNCE_MS,
  });
}

// What Home Assistant must receive, written out field by field.
const origin = { name: 'twc-dashboard', sw_version: '0.1.0', support_url: SUPPORT_URL };
const bridgeAvailability = `${topicRoot}/bridge/availability`;

function garageDevice(serial: string, name: string) {
  return {
    identifiers: [`twc_${serial}`],
    name,
    manufacturer: 'Tesla',
    model: 'Wall Connector Gen 3',
    serial_number: serial,
    sw_version: '24.44.1+g2c8b3a1',
  };
}

function expectedChargerConfigs(serial: string, name: string): Record<string, Record<string, unknown>> {
  const device = garageDevice(serial, name);
  const both = [{ topic: bridgeAvailability }, { topic: `${topicRoot}/${serial}/availability` }];
  const common = (key: string, availability = both) => ({
    unique_id: `twc_${serial}_${key}`,
    state_topic: `${topicRoot}/${serial}/${key}`,
    availability,
    availability_mode: 'all',
    device,
    origin,
  });
  return {
    [`${discoveryPrefix}/sensor/twc_${serial}_power/config`]: {
      name: 'Power',
      ...common('power'),
      device_class: 'power',
      state_class: 'measurement',
      unit_of_measurement: 'W',
    },
    [`${discoveryPrefix}/sensor/twc_${serial}_session_energy/config`]: {
      name: 'Session energy',
      ...common('session_energy'),
      device_class: 'energy',
      state_class: 'total_increasing',
      unit_of_measurement: 'Wh',
    },
    [`${discoveryPrefix}/sensor/twc_${serial}_lifetime_energy/config`]: {
      name: 'Lifetime energy',
      ...common('lifetime_energy'),
      device_class: 'energy',
      state_class: 'total_increasing',
      unit_of_measurement: 'Wh',
    },
    [`${discoveryPrefix}/sensor/twc_${serial}_session_cost/config`]: {
      name: 'Session cost',
      ...common('session_cost'),
      device_class: 'monetary',
      state_class: 'total',
      unit_of_measurement: 'USD',
      value_template: '{{ value_json.cost_usd }}',
      last_reset_value_template: '{{ value_json.last_reset }}',
    },
    [`${discoveryPrefix}/sensor/twc_${serial}_state/config`]: {
      name: 'State',
      ...common('state'),
      device_class: 'enum',
      options: [
        'booting',
        'not_connected',
        'connected',
        'ready',
        'negotiating',
        'handshake',
        'charging_finished',
        'waiting_for_car',
        'charging_reduced_power',
        'charging',
      ],
    },
    [`${discoveryPrefix}/sensor/twc_${serial}_handle_temperature/config`]: {
      name: 'Handle temperature',
      ...common('handle_temperature'),
      device_class: 'temperature',
      state_class: 'measurement',
      unit_of_measurement: '°C',
    },
    [`${discoveryPrefix}/sensor/twc_${serial}_grid_voltage/config`]: {
      name: 'Grid voltage',
      ...common('grid_voltage'),
      device_class: 'voltage',
      state_class: 'measurement',
      unit_of_measurement: 'V',
    },
    [`${discoveryPrefix}/sensor/twc_${serial}_current/config`]: {
      name: 'Current',
      ...common('current'),
      device_class: 'current',
      state_class: 'measurement',
      unit_of_measurement: 'A',
    },
    [`${discoveryPrefix}/sensor/twc_${serial}_wifi_signal/config`]: {
      name: 'Wi-Fi signal',
      ...common('wifi_signal'),
      state_class: 'measurement',
      unit_of_measurement: '%',
      entity_category: 'diagnostic',
    },
    [`${discoveryPrefix}/binary_sensor/twc_${serial}_vehicle_connected/config`]: {
      name: 'Vehicle connected',
      ...common('vehicle_connected'),
      device_class: 'plug',
    },
    [`${discoveryPrefix}/binary_sensor/twc_${serial}_charging/config`]: {
      name: 'Charging',
      ...common('charging'),
      device_class: 'battery_charging',
    },
    [`${discoveryPrefix}/binary_sensor/twc_${serial}_online/config`]: {
      name: 'Online',
      ...common('online', [{ topic: bridgeAvailability }]),
      device_class: 'connectivity',
      entity_category: 'diagnostic',
    },
    // Smart charging, on the same device (smart-charging.test.ts follows their states and commands).
    ...expectedPlanConfigs(discoveryPrefix, topicRoot, origin, serial, device),
  };
}

function expectedPriceConfigs(): Record<string, Record<string, unknown>> {
  const device = {
    identifiers: ['twc_comed_price'],
    name: 'ComEd Hourly Pricing',
    manufacturer: 'ComEd',
    model: 'Hourly Pricing',
  };
  const price = (key: string, name: string) => ({
    name,
    unique_id: `twc_comed_price_${key}`,
    state_topic: `${topicRoot}/price/${key}`,
    state_class: 'measurement',
    unit_of_measurement: 'USD/kWh',
    availability: [{ topic: bridgeAvailability }, { topic: `${topicRoot}/price/availability` }],
    availability_mode: 'all',
    device,
    origin,
  });
  return {
    [`${discoveryPrefix}/sensor/twc_comed_price_five_minute_price/config`]: price(
      'five_minute_price',
      '5-minute price',
    ),
    [`${discoveryPrefix}/sensor/twc_comed_price_hour_average_price/config`]: price(
      'hour_average_price',
      'Hour average price',
    ),
    [`${discoveryPrefix}/sensor/twc_comed_price_all_in_price/config`]: price('all_in_price', 'All-in price'),
    // The forecast's entities, on the same device (forecast.test.ts follows their states).
    ...expectedForecastConfigs(discoveryPrefix, topicRoot, origin),
  };
}

function configsOn(topics: string[]) {
  return recorder.waitFor(
    () => {
      const latest = topics.map((topic) => recorder.latest(topic));
      return latest.every((message) => message !== undefined && message.payload !== '') ? latest : undefined;
    },
    10_000,
    'discovery configs',
  );
}

beforeAll(async () => {
  bucket = await createTestBucket('ha-bridge');
  const { influx } = servers();
  const writer = new InfluxDB({ url: influx.url, token: influx.token }).getWriteApi(influx.org, bucket, 'ms');
  writer.writePoints([
    new Point('twc_lifetime')
      .tag('charger_id', GARAGE)
      .tag('charger_name', 'garage')
      .floatField('energy_wh', 386204)
      .intField('charge_starts', 175)
      .timestamp(Date.now() - 60_000),
    new Point('twc_wifi')
      .tag('charger_id', GARAGE)
      .tag('charger_name', 'garage')
      .intField('wifi_signal_strength', 44)
      .intField('wifi_rssi', -68)
      .timestamp(Date.now() - 60_000),
  ]);
  await writer.close();

  redis = new Redis(servers().redis.url);
  liveState.current = live();
  await liveState.current.ready(5000);
  liveState.current.publishStatus(status(GARAGE, 'garage'));
  liveState.current.publishVitals(liveVitals(GARAGE, 'garage', new Date()));
  const sessions = createRedisSessionStore({ url: servers().redis.url, keyPrefix, logger });
  await sessions.ready(5000);
  await sessions.publish(liveSession(GARAGE, 'garage', new Date()));
  await sessions.stop();
  const prices = createRedisPriceState({ url: servers().redis.url, keyPrefix, logger });
  await prices.ready(5000);
  await prices.save(currentPrice(new Date()), true);
  await prices.stop();
  await eventually(async () => (await redis.hget(`${keyPrefix}chargers`, GARAGE)) !== null);

  recorder = await MqttRecorder.connect(servers().mqtt.url, [`${discoveryPrefix}/#`, `${topicRoot}/#`]);
  bridge = startBridge();
  await bridge.start();
});

afterAll(async () => {
  await bridge?.stop();
  await liveState.current?.stop();
  await recorder?.stop();
  redis?.disconnect();
});

describe('Home Assistant discovery', () => {
  it('publishes one retained qos-1 config per entity, exactly', async () => {
    const expected = { ...expectedChargerConfigs(GARAGE, 'garage'), ...expectedPriceConfigs() };
    const messages = await configsOn(Object.keys(expected));
    for (const message of messages) {
      expect(message).toMatchObject({ retain: true, qos: 1 });
      expect({ topic: message?.topic, payload: JSON.parse(message?.payload ?? '') }).toEqual({
        topic: message?.topic,
        payload: expected[message?.topic ?? ''],
      });
    }
    // Nothing else under the discovery prefix but the configs above.
    const configTopics = new Set(
      recorder.messages.filter((message) => message.topic.endsWith('/config')).map((message) => message.topic),
    );
    expect([...configTopics].sort()).toEqual(Object.keys(expected).sort());
  });

  it('gives every energy entity what the Energy dashboard requires', async () => {
    const configs = recorder.messages
      .filter((message) => message.topic.endsWith('/config') && message.payload !== '')
      .map((message) => JSON.parse(message.payload) as Record<string, unknown>);
    const energy = configs.filter((config) => config.device_class === 'energy');
    expect(energy.map((config) => config.unique_id).sort()).toEqual([
      `twc_${GARAGE}_lifetime_energy`,
      `twc_${GARAGE}_session_energy`,
    ]);
    for (const config of energy) {
      expect(config).toMatchObject({ state_class: 'total_increasing', unit_of_measurement: 'Wh' });
    }
    const priceDevice = configs.filter((config) => String(config.unique_id).startsWith('twc_comed_price_'));
    const timestamps = ['twc_comed_price_cheapest_window_end', 'twc_comed_price_cheapest_window_start'];
    const prices = priceDevice.filter((config) => !timestamps.includes(String(config.unique_id)));
    expect(prices.map((config) => config.unique_id).sort()).toEqual([
      'twc_comed_price_all_in_price',
      'twc_comed_price_day_ahead_price',
      'twc_comed_price_five_minute_price',
      'twc_comed_price_hour_average_price',
      'twc_comed_price_tonight_average_price',
    ]);
    for (const config of prices) {
      // The Energy dashboard accepts a price entity whose unit ends in /kWh.
      expect(String(config.unit_of_measurement)).toMatch(/^USD\/kWh$/);
      expect(config.device_class).toBeUndefined();
    }
    // The window's ends are instants: no unit, no state class.
    for (const id of timestamps) {
      const config = priceDevice.find((candidate) => candidate.unique_id === id);
      expect(config).toMatchObject({ device_class: 'timestamp' });
      expect(config).not.toHaveProperty('unit_of_measurement');
      expect(config).not.toHaveProperty('state_class');
    }
  });

  it('publishes the current states, retained', async () => {
    const expected: Record<string, string> = {
      [`${topicRoot}/bridge/availability`]: 'online',
      [`${topicRoot}/${GARAGE}/availability`]: 'online',
      [`${topicRoot}/${GARAGE}/power`]: '7346',
      [`${topicRoot}/${GARAGE}/session_energy`]: '683.8',
      [`${topicRoot}/${GARAGE}/lifetime_energy`]: '386204',
      [`${topicRoot}/${GARAGE}/session_cost`]: JSON.stringify({
        cost_usd: 0.1012,
        last_reset: new Date(SESSION_START_MS).toISOString(),
      }),
      [`${topicRoot}/${GARAGE}/state`]: 'charging',
      [`${topicRoot}/${GARAGE}/handle_temperature`]: '15.5',
      [`${topicRoot}/${GARAGE}/grid_voltage`]: '238.5',
      [`${topicRoot}/${GARAGE}/current`]: '30.8',
      [`${topicRoot}/${GARAGE}/wifi_signal`]: '44',
      [`${topicRoot}/${GARAGE}/vehicle_connected`]: 'ON',
      [`${topicRoot}/${GARAGE}/charging`]: 'ON',
      [`${topicRoot}/${GARAGE}/online`]: 'ON',
      [`${topicRoot}/price/availability`]: 'online',
      [`${topicRoot}/price/five_minute_price`]: '0.039',
      [`${topicRoot}/price/hour_average_price`]: '0.042',
      // (4.2 hour average + 7.9 delivery + 2 other) x 1.05 tax = 14.805 cents
      [`${topicRoot}/price/all_in_price`]: '0.14805',
      // No forecast in Redis: its entities are unavailable.
      [`${topicRoot}/price/forecast/availability`]: 'offline',
    };
    const seen = await recorder.waitFor(
      () => {
        const latest = Object.keys(expected).map((topic) => recorder.latest(topic));
        return latest.every((message) => message !== undefined) ? latest : undefined;
      },
      10_000,
      'states',
    );
    expect(Object.fromEntries(seen.map((message) => [message?.topic, message?.payload]))).toEqual(expected);
    for (const message of seen) expect(message).toMatchObject({ retain: true, qos: 1 });
  });

  it('publishes discovery and states again when Home Assistant announces itself', async () => {
    const expected = { ...expectedChargerConfigs(GARAGE, 'garage'), ...expectedPriceConfigs() };
    await configsOn(Object.keys(expected));
    recorder.clear();
    await recorder.publish(`${discoveryPrefix}/status`, 'online');
    const messages = await configsOn(Object.keys(expected));
    for (const message of messages) {
      expect(JSON.parse(message?.payload ?? '')).toEqual(expected[message?.topic ?? '']);
    }
    await recorder.waitForPayload(`${topicRoot}/${GARAGE}/power`, '7346');
    await recorder.waitForPayload(`${topicRoot}/price/all_in_price`, '0.14805');
    expect(bridge?.stats().birthRepublishes).toBeGreaterThanOrEqual(1);
  });

  it('ignores a status message other than online', async () => {
    const before = bridge?.stats().birthRepublishes;
    const announcementsBefore = bridge?.stats().birthAnnouncements;
    recorder.clear();
    await recorder.publish(`${discoveryPrefix}/status`, 'offline');
    // A round trip through the broker: once this arrives, the bridge has seen the offline message too.
    await recorder.publish(`${topicRoot}/probe`, 'x');
    await recorder.waitForPayload(`${topicRoot}/probe`, 'x');
    // Past the debounce window, in which an announcement would have led to a re-publication.
    await new Promise((resolve) => setTimeout(resolve, BIRTH_DEBOUNCE_MS + 200));
    expect(bridge?.stats().birthRepublishes).toBe(before);
    expect(bridge?.stats().birthAnnouncements).toBe(announcementsBefore);
  });

  it('marks a charger unavailable when it goes offline, keeping its online entity available', async () => {
    recorder.clear();
    liveState.current?.publishStatus(status(GARAGE, 'garage', { online: false }));
    await recorder.waitForPayload(`${topicRoot}/${GARAGE}/availability`, 'offline');
    await recorder.waitForPayload(`${topicRoot}/${GARAGE}/online`, 'OFF');
    liveState.current?.publishStatus(status(GARAGE, 'garage'));
    await recorder.waitForPayload(`${topicRoot}/${GARAGE}/availability`, 'online');
    await recorder.waitForPayload(`${topicRoot}/${GARAGE}/online`, 'ON');
  });

  it('adds a new charger, then clears all its retained topics when it leaves the configuration', async () => {
    recorder.clear();
    liveState.current?.publishStatus(status(BARN, 'barn'));
    liveState.current?.publishVitals(liveVitals(BARN, 'barn', new Date()));
    const barnConfigs = expectedChargerConfigs(BARN, 'barn');
    const messages = await configsOn(Object.keys(barnConfigs));
    for (const message of messages) {
      expect(JSON.parse(message?.payload ?? '')).toEqual(barnConfigs[message?.topic ?? '']);
    }
    await recorder.waitForPayload(`${topicRoot}/${BARN}/power`, '7346');
    const barnTopics = (await redis.smembers(homeAssistantKeys.retainedTopics(keyPrefix))).filter((topic) =>
      topic.includes(BARN),
    );
    expect(barnTopics.length).toBeGreaterThanOrEqual(Object.keys(barnConfigs).length);

    recorder.clear();
    await redis.hdel(`${keyPrefix}chargers`, BARN);
    for (const topic of barnTopics) await recorder.waitForPayload(topic, '');
    for (const topic of barnTopics) expect(recorder.latest(topic)).toMatchObject({ payload: '', retain: true, qos: 1 });
    await eventually(async () => {
      const left = await redis.smembers(homeAssistantKeys.retainedTopics(keyPrefix));
      return left.every((topic) => !topic.includes(BARN)) && left.some((topic) => topic.includes(GARAGE));
    });
    // The garage is untouched.
    expect(recorder.messages.filter((message) => message.topic.includes(GARAGE) && message.payload === '')).toEqual([]);
  });

  it('clears a charger removed while the bridge was stopped, on its next start', async () => {
    const third = 'PGT22130003';
    liveState.current?.publishStatus(status(third, 'shed'));
    const thirdConfigs = Object.keys(expectedChargerConfigs(third, 'shed'));
    await configsOn(thirdConfigs);
    await bridge?.stop();

    await redis.hdel(`${keyPrefix}chargers`, third);
    // Home Assistant's view, from the broker's retained messages alone.
    const late = await MqttRecorder.connect(servers().mqtt.url, [`${discoveryPrefix}/#`]);
    try {
      await late.waitFor(() => thirdConfigs.every((topic) => late.latest(topic)?.payload), 5000, 'retained configs');
      bridge = startBridge();
      await bridge.start();
      for (const topic of thirdConfigs) await late.waitForPayload(topic, '');
    } finally {
      await late.stop();
    }
    const retainedNow = await MqttRecorder.connect(servers().mqtt.url, [`${discoveryPrefix}/#`]);
    try {
      await retainedNow.waitFor(
        () => retainedNow.latest(`${discoveryPrefix}/sensor/twc_${GARAGE}_power/config`),
        5000,
        'the garage config',
      );
      expect(retainedNow.messages.filter((message) => message.topic.includes(third))).toEqual([]);
    } finally {
      await retainedNow.stop();
    }
  });

  it('publishes a bridge availability of offline on stop, and the configs are gone when discovery is turned off', async () => {
    recorder.clear();
    await bridge?.stop();
    await recorder.waitForPayload(bridgeAvailability, 'offline');
    bridge = startBridge({ HA_DISCOVERY: 'false' });
    await bridge.start();
    const expected = Object.keys({ ...expectedChargerConfigs(GARAGE, 'garage'), ...expectedPriceConfigs() });
    for (const topic of expected) await recorder.waitForPayload(topic, '');
    // States keep flowing for manual YAML set-ups.
    await recorder.waitForPayload(bridgeAvailability, 'online');
    liveState.current?.publishVitals(liveVitals(GARAGE, 'garage', new Date(), { power_w: 1234 }));
    await recorder.waitForPayload(`${topicRoot}/${GARAGE}/power`, '1234');
    await bridge.stop();
    bridge = startBridge();
    await bridge.start();
    await configsOn(expected);
  });

  it('survives malformed payloads in Redis: logged once, counted, others still published', async () => {
    const before = bridge?.stats().malformedPayloads ?? 0;
    await redis.publish(`${keyPrefix}vitals:${GARAGE}`, '{"charger_id": "x", nan}');
    await redis.publish(`${keyPrefix}price`, '[]');
    liveState.current?.publishVitals(liveVitals(GARAGE, 'garage', new Date(), { power_w: 4321 }));
    await recorder.waitForPayload(`${topicRoot}/${GARAGE}/power`, '4321');
    await eventually(async () => (bridge?.stats().malformedPayloads ?? 0) >= before + 2);
  });

  it("reads Redis with the writer's schema: a sample short of a field the collector always writes is not shown", async () => {
    const before = bridge?.stats().malformedPayloads ?? 0;
    recorder.clear();
    const sample = liveVitals(GARAGE, 'garage', new Date(), { power_w: 9999 });
    const { phase_mode: _left, ...vitals } = sample.vitals;
    await redis.publish(`${keyPrefix}vitals:${GARAGE}`, JSON.stringify({ ...sample, vitals }));
    const { host: _host, ...hostless } = status('PGT22130009', 'shed');
    await redis.hset(`${keyPrefix}chargers`, 'PGT22130009', JSON.stringify(hostless));
    // The same channel afterwards: once this is out, the short sample has been dealt with.
    liveState.current?.publishVitals(liveVitals(GARAGE, 'garage', new Date(Date.now() + 1), { power_w: 4322 }));
    await recorder.waitForPayload(`${topicRoot}/${GARAGE}/power`, '4322');
    await eventually(async () => (bridge?.stats().malformedPayloads ?? 0) >= before + 2);
    expect(recorder.on(`${topicRoot}/${GARAGE}/power`).map((message) => message.payload)).toEqual(['4322']);
    // A refresh later, the charger whose status lacks its host has appeared nowhere.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(recorder.messages.filter((message) => message.topic.includes('PGT22130009'))).toEqual([]);
    await redis.hdel(`${keyPrefix}chargers`, 'PGT22130009');
  });
});

describe('rate limiting', () => {
  it('publishes at most once per interval per entity, and the latest value wins', async () => {
    await bridge?.stop();
    bridge = startBridge({ HA_STATE_MIN_INTERVAL_S: '1' });
    await bridge.start();
    const power = `${topicRoot}/${GARAGE}/power`;
    await recorder.waitFor(() => recorder.latest(power), 5000, 'power');
    // Past the interval of the start-up publication.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    recorder.clear();
    const base = Date.now();
    liveState.current?.publishVitals(liveVitals(GARAGE, 'garage', new Date(base), { power_w: 1000 }));
    await recorder.waitForPayload(power, '1000', 5000);
    // Within the interval of that publication: both are held back, and only the latest goes out.
    liveState.current?.publishVitals(liveVitals(GARAGE, 'garage', new Date(base + 1), { power_w: 2000 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    liveState.current?.publishVitals(liveVitals(GARAGE, 'garage', new Date(base + 2), { power_w: 3000 }));
    const last = await recorder.waitForPayload(power, '3000', 5000);
    const sent = recorder.on(power);
    expect(sent.map((message) => message.payload)).toEqual(['1000', '3000']);
    // The held-back value waited for the interval instead of going out at once.
    expect(last.atMs - (sent[0]?.atMs ?? 0)).toBeGreaterThanOrEqual(900);
    // Nothing more follows: the latest value is already out.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(recorder.on(power).map((message) => message.payload)).toEqual(['1000', '3000']);
  });
});

describe('last will', () => {
  it('reports the bridge offline when its connection dies, and online again after reconnecting', async () => {
    const { mqtt } = servers();
    const target = new URL(mqtt.url);
    const proxy = await TcpProxy.start(target.hostname, Number(target.port));
    const root = uniqueTopicRoot('ha-will');
    const watcher = await MqttRecorder.connect(mqtt.url, [`${root}/bridge/#`]);
    const willBridge = createHomeAssistantBridgeService(
      config({
        MQTT_URL: proxy.url,
        HA_TOPIC_ROOT: root,
        HA_DISCOVERY: 'false',
        REDIS_KEY_PREFIX: uniqueKeyPrefix('ha-will'),
      }),
      logger,
      { refreshMs: 200, reconnectMs: 200 },
    );
    try {
      await willBridge.start();
      await watcher.waitForPayload(`${root}/bridge/availability`, 'online');
      watcher.clear();
      expect(proxy.killConnections()).toBeGreaterThan(0);
      const will = await watcher.waitForPayload(`${root}/bridge/availability`, 'offline');
      expect(will).toMatchObject({ retain: true, qos: 1 });
      await watcher.waitFor(
        () => watcher.on(`${root}/bridge/availability`).findLast((message) => message.payload === 'online'),
        10_000,
        'online again',
      );
      expect(willBridge.stats().connects).toBeGreaterThanOrEqual(2);
    } finally {
      await willBridge.stop();
      await watcher.stop();
      await proxy.stop();
    }
  });
});
