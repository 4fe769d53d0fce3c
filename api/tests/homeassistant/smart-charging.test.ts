/**
 * Smart charging in Home Assistant on the real broker and the real Redis:
 * the controls' configs as Home Assistant validates them, a command on each
 * command topic saved to the settings and announced as the API saves them
 * (and read back by the planner's own store), malformed commands counted and
 * ignored, and the planner's state, written with the planner's own code,
 * followed and made unavailable once stale, on a clock the test moves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedisLiveState } from '@twc/collector/collector/redis-live-state';
import { createPlanStore, type PlanStore } from '@twc/collector/planner/plan-store';
import { type PlanSettings, planKeys, planSettingsSchema } from '@twc/core/contracts/redis';
import { changedSettings, defaultPlanSettings } from '@twc/core/planning/plan-settings';
import { savePlanSettings } from '@twc/runtime/plan-settings-write';
import { servers, uniqueKeyPrefix, uniqueTopicRoot } from '@twc/testenv/vitest';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHomeAssistantBridgeService, type HomeAssistantBridgeService } from '../../src/homeassistant/service.js';
import { bridgeConfig, expectedPlanConfigs, FORECAST_NOW_MS, planState, status } from './fixtures.js';
import { eventually, MqttRecorder } from './mqtt-recorder.js';
import { TcpProxy } from './tcp-proxy.js';

const GARAGE = 'PGT22130001';
const MINUTE = 60_000;
const keyPrefix = uniqueKeyPrefix('ha-plan');
const discoveryPrefix = uniqueTopicRoot('ha-plan-discovery');
const topicRoot = uniqueTopicRoot('ha-plan-root');
const origin = { name: 'twc-dashboard', sw_version: '0.1.0' };
const device = {
  identifiers: [`twc_${GARAGE}`],
  name: 'garage',
  manufacturer: 'Tesla',
  model: 'Wall Connector Gen 3',
  serial_number: GARAGE,
  sw_version: '24.44.1+g2c8b3a1',
};

const state = (key: string) => `${topicRoot}/${GARAGE}/${key}`;
const command = (key: string) => `${topicRoot}/${GARAGE}/${key}/set`;
const planAvailability = `${topicRoot}/${GARAGE}/plan/availability`;

/** The bridge's clock, moved by the tests. */
let nowMs = FORECAST_NOW_MS;
const logLines: { msg?: string }[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line)) });
const quiet = pino({ level: 'silent' });

let redis: Redis;
let announcements: Redis;
const announced: string[] = [];
let collector: ReturnType<typeof createRedisLiveState>;
let planner: PlanStore;
let stateDir: string;
let recorder: MqttRecorder;
let bridge: HomeAssistantBridgeService;

function startBridge(env: Record<string, string> = {}): HomeAssistantBridgeService {
  return createHomeAssistantBridgeService(
    bridgeConfig({
      REDIS_KEY_PREFIX: keyPrefix,
      HA_DISCOVERY_PREFIX: discoveryPrefix,
      HA_TOPIC_ROOT: topicRoot,
      ...env,
    }),
    logger,
    { now: () => nowMs, refreshMs: 200, reconnectMs: 200 },
  );
}

async function savedSettings(): Promise<PlanSettings | undefined> {
  const text = await redis.get(planKeys.settings(keyPrefix, GARAGE));
  return text === null ? undefined : planSettingsSchema.parse(JSON.parse(text));
}

beforeAll(async () => {
  redis = new Redis(servers().redis.url);
  announcements = new Redis(servers().redis.url);
  announcements.on('message', (_channel: string, message: string) => announced.push(message));
  await announcements.subscribe(planKeys.settingsChannel(keyPrefix));
  collector = createRedisLiveState({ url: servers().redis.url, keyPrefix, logger: quiet });
  expect(await collector.ready(5000)).toBe(true);
  collector.publishStatus(status(GARAGE, 'garage'));
  await eventually(async () => (await redis.hget(`${keyPrefix}chargers`, GARAGE)) !== null);
  stateDir = mkdtempSync(join(tmpdir(), 'twc-ha-plan-'));
  planner = createPlanStore({ url: servers().redis.url, keyPrefix, stateDir, logger: quiet });
  await planner.start(() => {});
  recorder = await MqttRecorder.connect(servers().mqtt.url, [`${discoveryPrefix}/#`, `${topicRoot}/#`]);
  bridge = startBridge();
  await bridge.start();
});

afterAll(async () => {
  await bridge?.stop();
  await planner?.stop();
  await collector?.stop();
  await recorder?.stop();
  redis?.disconnect();
  announcements?.disconnect();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('smart charging in Home Assistant', () => {
  it('announces the controls and the plan entities on the charger device, retained, exactly', async () => {
    const expected = expectedPlanConfigs(discoveryPrefix, topicRoot, origin, GARAGE, device);
    const configs = await recorder.waitFor(
      () => {
        const latest = Object.keys(expected).map((topic) => recorder.latest(topic));
        return latest.every((message) => message?.payload) ? latest : undefined;
      },
      10_000,
      'smart-charging configs',
    );
    for (const message of configs) {
      expect(message).toMatchObject({ retain: true, qos: 1 });
      expect(JSON.parse(message?.payload ?? '')).toEqual(expected[message?.topic ?? '']);
    }
  });

  it("gives every control and sensor what Home Assistant's MQTT platforms require", () => {
    const configs = recorder.messages
      .filter((message) => message.topic.startsWith(`${discoveryPrefix}/`) && message.payload !== '')
      .map((message) => ({ component: message.topic.split('/').at(-3), config: JSON.parse(message.payload) }));
    const byComponent = (component: string) =>
      configs.filter((entry) => entry.component === component).map((entry) => entry.config);
    for (const component of ['switch', 'number', 'select', 'button']) {
      expect(byComponent(component).length, component).toBeGreaterThan(0);
      for (const config of byComponent(component)) {
        // The command topic is the state topic's `/set`, and carries no wildcard.
        expect(config.command_topic).toBe(
          `${topicRoot}/${GARAGE}/${String(config.unique_id).slice(`twc_${GARAGE}_`.length)}/set`,
        );
        expect(config.command_topic).not.toMatch(/[#+]/);
      }
    }
    for (const config of byComponent('switch')) expect(config.payload_on).not.toBe(config.payload_off);
    for (const config of byComponent('number')) {
      expect(config.min).toBeLessThan(config.max);
      expect(config.step).toBeGreaterThan(0);
      expect(['auto', 'box', 'slider']).toContain(config.mode);
    }
    for (const config of byComponent('select')) {
      expect(config.options.length).toBeGreaterThan(0);
      expect(new Set(config.options).size).toBe(config.options.length);
      for (const option of config.options) expect(typeof option).toBe('string');
    }
    // A button takes no state.
    for (const config of byComponent('button')) expect(config).not.toHaveProperty('state_topic');
    for (const config of byComponent('sensor')) {
      // monetary: an ISO 4217 unit and state_class total or none; timestamp: no unit, no state class.
      if (config.device_class === 'monetary') {
        expect(config.unit_of_measurement).toMatch(/^[A-Z]{3}$/);
        expect([undefined, 'total']).toContain(config.state_class);
      }
      if (config.device_class === 'timestamp') {
        expect(config).not.toHaveProperty('unit_of_measurement');
        expect(config).not.toHaveProperty('state_class');
      }
    }
  });

  it('shows the default settings while none are saved, and the plan unavailable before the planner wrote', async () => {
    const expected: Record<string, string> = {
      [planAvailability]: 'offline',
      [state('smart_charging')]: 'ON',
      [state('charge_target')]: '30',
      [state('target_unit')]: 'kWh',
      [state('ready_by_weekdays')]: '07:00',
      [state('ready_by_weekends')]: 'off',
    };
    for (const [topic, payload] of Object.entries(expected)) {
      await recorder.waitForPayload(topic, payload);
      expect(recorder.latest(topic)).toMatchObject({ payload, retain: true, qos: 1 });
    }
    expect(recorder.latest(state('charge_now'))).toBeUndefined();
    expect(await savedSettings()).toBeUndefined();
  });

  it('follows the state the planner publishes on plan:<id>', async () => {
    recorder.clear();
    await planner.writeState(planState(GARAGE, nowMs - 30_000));
    const expected: Record<string, string> = {
      [planAvailability]: 'online',
      [state('smart_charging_status')]: 'planned',
      [state('charging_allowed')]: 'OFF',
      [state('planned_start')]: '2026-01-15T22:00:00.000Z',
      [state('planned_end')]: '2026-01-16T03:00:00.000Z',
      [state('planned_cost')]: '3.46',
      [state('plan_saving')]: '1.44',
    };
    for (const [topic, payload] of Object.entries(expected)) {
      await recorder.waitForPayload(topic, payload);
      expect(recorder.latest(topic)).toMatchObject({ payload, retain: true, qos: 1 });
    }
    // The car is in the first run's hours: the planner allows charging, Home Assistant's automation follows.
    nowMs += MINUTE;
    await planner.writeState(planState(GARAGE, nowMs, { status: 'planned', charging_allowed: true }));
    await recorder.waitForPayload(state('charging_allowed'), 'ON');
    // An older state, announced late, does not undo it.
    await redis.publish(
      planKeys.stateChannel(keyPrefix, GARAGE),
      JSON.stringify(planState(GARAGE, nowMs - MINUTE, { charging_allowed: false })),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(recorder.latest(state('charging_allowed'))?.payload).toBe('ON');
  });

  it("makes the plan entities unavailable once the planner's state is older than 3 minutes, by the bridge's clock", async () => {
    recorder.clear();
    nowMs += 3 * MINUTE + 1000;
    await recorder.waitForPayload(planAvailability, 'offline');
    // The last values stay retained for when it is back; only the availability changed.
    expect(recorder.on(state('charging_allowed'))).toEqual([]);
    // The planner writes again: available again.
    await planner.writeState(planState(GARAGE, nowMs));
    await recorder.waitForPayload(planAvailability, 'online');
  });

  it('saves a command on each topic to the settings in Redis and announces it, as the API does', async () => {
    const steps: [string, string, string, (settings: PlanSettings) => unknown][] = [
      ['smart_charging', 'OFF', 'OFF', (settings) => settings.smart_charging === false],
      ['charge_target', '45', '45', (settings) => settings.target.value === 45 && settings.target.unit === 'kwh'],
      ['target_unit', '%', '%', (settings) => settings.target.unit === 'percent' && settings.target.value === 45],
      [
        'ready_by_weekdays',
        '06:30',
        '06:30',
        (settings) => JSON.stringify(settings.ready_by) === JSON.stringify([null, ...Array(5).fill('06:30'), null]),
      ],
      [
        'ready_by_weekends',
        '09:00',
        '09:00',
        (settings) =>
          settings.ready_by[0] === '09:00' && settings.ready_by[6] === '09:00' && settings.ready_by[3] === '06:30',
      ],
      ['charge_now', 'PRESS', '', (settings) => settings.charge_now === true],
      ['resume_plan', 'PRESS', '', (settings) => settings.charge_now === false],
      ['smart_charging', 'ON', 'ON', (settings) => settings.smart_charging === true],
    ];
    const applied = bridge.stats().commandsApplied;
    for (const [index, [key, payload, shown, check]] of steps.entries()) {
      announced.length = 0;
      nowMs += 1000;
      await recorder.publish(command(key), payload);
      const settings = await eventually(async () => {
        const saved = await savedSettings();
        return saved && saved.updated === new Date(nowMs).toISOString() ? saved : undefined;
      });
      expect(check(settings), `${key}=${payload}: ${JSON.stringify(settings)}`).toBe(true);
      await eventually(async () => announced.includes(GARAGE));
      if (shown !== '') await recorder.waitForPayload(state(key), shown);
      expect(bridge.stats().commandsApplied).toBe(applied + index + 1);
    }
    // The planner reads what the bridge wrote, with its own store.
    const inputs = await planner.inputs(GARAGE, nowMs);
    expect(inputs?.settings).toMatchObject({ smart_charging: true, target: { unit: 'percent', value: 45 } });
    // The other settings kept their values.
    expect(inputs?.settings).toMatchObject({ buffer_min: 30, max_runs: 3, departure_override: null });
  });

  it('follows settings saved elsewhere (the API), announced on plan-settings', async () => {
    const current = (await savedSettings()) ?? defaultPlanSettings(nowMs);
    await savePlanSettings(
      redis,
      keyPrefix,
      GARAGE,
      changedSettings(current, { target: { unit: 'kwh', value: 62 } }, nowMs),
    );
    await recorder.waitForPayload(state('target_unit'), 'kWh');
    await recorder.waitForPayload(state('charge_target'), '62');
  });

  it('counts and ignores malformed commands, logged once, and goes on applying good ones', async () => {
    const before = await savedSettings();
    const rejected = bridge.stats().commandsRejected;
    const logged = () => logLines.filter((line) => line.msg?.startsWith('malformed command')).length;
    const loggedBefore = logged();
    for (const [topic, payload] of [
      [command('smart_charging'), 'maybe'],
      [command('charge_target'), '500'],
      [command('charge_target'), '{"value": 40}'],
      [command('ready_by_weekdays'), '07:15'],
      [command('charge_now'), ''],
    ]) {
      await recorder.publish(topic as string, payload as string);
    }
    await eventually(async () => bridge.stats().commandsRejected >= rejected + 5);
    expect(bridge.stats().commandsRejected).toBe(rejected + 5);
    expect(logged() - loggedBefore).toBe(1);
    expect(await savedSettings()).toEqual(before);
    // A topic naming no charger, or no control, is refused as well.
    await recorder.publish(`${topicRoot}/PGT00000000/charge_now/set`, 'PRESS');
    await recorder.publish(`${topicRoot}/${GARAGE}/planned_cost/set`, '1');
    await eventually(async () => bridge.stats().commandsRejected >= rejected + 7);
    expect(await savedSettings()).toEqual(before);
    // The bridge is still listening.
    nowMs += 1000;
    await recorder.publish(command('charge_target'), '50');
    await eventually(async () => (await savedSettings())?.target.value === 50);
    expect(bridge.stats().commandsFailed).toBe(0);
  });

  it('leaves a retained command alone when it (re)subscribes: an old press is not pressed again', async () => {
    await bridge.stop();
    const before = await savedSettings();
    expect(before?.charge_now).toBe(false);
    // Someone published with the retain flag; the broker delivers it to every new subscriber.
    await recorder.client.publishAsync(command('charge_now'), 'PRESS', { qos: 1, retain: true });
    try {
      bridge = startBridge();
      await bridge.start();
      await eventually(async () => bridge.stats().commandsRejected >= 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await savedSettings())?.charge_now).toBe(false);
      expect(bridge.stats().commandsApplied).toBe(0);
    } finally {
      await recorder.client.publishAsync(command('charge_now'), '', { qos: 1, retain: true });
    }
  });

  it('answers each command at once, whatever the state rate limit', async () => {
    await bridge.stop();
    bridge = startBridge({ HA_STATE_MIN_INTERVAL_S: '60' });
    await bridge.start();
    await recorder.waitFor(() => bridge.stats().connected, 5000, 'connected');
    recorder.clear();
    for (const payload of ['OFF', 'ON', 'OFF']) {
      nowMs += 1000;
      await recorder.publish(command('smart_charging'), payload);
      // Within the minute a reading would wait: the control shows what it was set to.
      await recorder.waitForPayload(state('smart_charging'), payload, 3000);
      recorder.clear();
    }
  });
});

describe('a command while Redis is unreachable', () => {
  it('is counted as failed and dropped, and the bridge stays up', async () => {
    const target = new URL(servers().redis.url);
    const proxy = await TcpProxy.start(target.hostname, Number(target.port));
    const prefix = uniqueKeyPrefix('ha-plan-down');
    const root = uniqueTopicRoot('ha-plan-down');
    const live = createRedisLiveState({ url: servers().redis.url, keyPrefix: prefix, logger: quiet });
    expect(await live.ready(5000)).toBe(true);
    live.publishStatus(status(GARAGE, 'garage'));
    await eventually(async () => (await redis.hget(`${prefix}chargers`, GARAGE)) !== null);
    const down = createHomeAssistantBridgeService(
      bridgeConfig({
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        REDIS_KEY_PREFIX: prefix,
        HA_TOPIC_ROOT: root,
        HA_DISCOVERY: 'false',
      }),
      quiet,
      { now: () => nowMs, refreshMs: 200, reconnectMs: 200 },
    );
    try {
      await down.start();
      await recorder.client.subscribeAsync(`${root}/#`, { qos: 1 });
      await recorder.waitForPayload(`${root}/${GARAGE}/smart_charging`, 'ON');
      await proxy.stop();
      await recorder.publish(`${root}/${GARAGE}/smart_charging/set`, 'OFF');
      await eventually(async () => down.stats().commandsFailed === 1);
      expect(down.stats()).toMatchObject({ connected: true, commandsApplied: 0, commandsFailed: 1 });
      expect(await redis.get(planKeys.settings(prefix, GARAGE))).toBeNull();
    } finally {
      await down.stop();
      await live.stop();
      await recorder.client.unsubscribeAsync(`${root}/#`);
    }
  });
});
