import { silentLogger } from '@twc/runtime/logger';
import { servers, uniqueTopicRoot } from '@twc/testenv/vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type BridgeMqttClient, createBridgeMqttClient, matchesFilter } from '../../src/homeassistant/mqtt-client.js';
import { MqttRecorder } from './mqtt-recorder.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setup(
  options: {
    birthDebounceMs?: number;
    availabilityDebounceMs?: number;
    birthResyncWindowMs?: number;
    birthResyncsPerWindow?: number;
  } = {},
) {
  const root = uniqueTopicRoot('ha-mqtt');
  const topics = { availability: `${root}/bridge/availability`, birth: `${root}/discovery/status` };
  const client = createBridgeMqttClient({
    mqtt: {
      url: servers().mqtt.url,
      username: undefined,
      password: undefined,
      ca: undefined,
      rejectUnauthorized: true,
    },
    availabilityTopic: topics.availability,
    birthTopic: topics.birth,
    logger: silentLogger(),
    reconnectMs: 200,
    ...options,
  });
  const events = { connected: 0, homeAssistantOnline: 0 };
  cleanups.push(() => client.stop());
  return { root, topics, client, events };
}

async function recorderOn(filters: string[]): Promise<MqttRecorder> {
  const recorder = await MqttRecorder.connect(servers().mqtt.url, filters);
  cleanups.push(() => recorder.stop());
  return recorder;
}

/** Another client on the broker: another bridge instance, Home Assistant, or anyone allowed to publish. */
async function otherClient(): Promise<MqttClient> {
  const other = await mqtt.connectAsync(servers().mqtt.url, { reconnectPeriod: 0 });
  cleanups.push(() => other.endAsync());
  return other;
}

async function started(client: BridgeMqttClient, events: { connected: number; homeAssistantOnline: number }) {
  client.start({
    connected: () => {
      events.connected++;
    },
    homeAssistantOnline: () => {
      events.homeAssistantOnline++;
    },
  });
  const deadline = Date.now() + 10_000;
  while (!client.connected()) {
    if (Date.now() > deadline) throw new Error('not connected');
    await sleep(20);
  }
}

/** The retained message on `topic`, as a client connecting now gets it. */
async function retainedPayload(topic: string): Promise<string | undefined> {
  const late = await MqttRecorder.connect(servers().mqtt.url, [topic]);
  try {
    return (await late.waitFor(() => late.latest(topic), 5000, `the retained ${topic}`)).payload;
  } finally {
    await late.stop();
  }
}

describe('the bridge MQTT client', () => {
  it('says online on connecting and offline on stopping, retained at qos 1, and publishes retained at qos 1', async () => {
    const { root, topics, client, events } = setup();
    const recorder = await recorderOn([`${root}/#`]);
    await started(client, events);
    await recorder.waitForPayload(topics.availability, 'online');
    expect(events.connected).toBe(1);
    expect(await client.publish(`${root}/power`, '7346')).toBe(true);
    await recorder.waitForPayload(`${root}/power`, '7346');
    await client.stop();
    await recorder.waitForPayload(topics.availability, 'offline');
    expect(recorder.messages.map(({ topic, payload, retain, qos }) => ({ topic, payload, retain, qos }))).toEqual([
      { topic: topics.availability, payload: 'online', retain: true, qos: 1 },
      { topic: `${root}/power`, payload: '7346', retain: true, qos: 1 },
      { topic: topics.availability, payload: 'offline', retain: true, qos: 1 },
    ]);
    // Stopped, it answers nothing: its own offline stands.
    await sleep(400);
    expect(await retainedPayload(topics.availability)).toBe('offline');
    expect(await client.publish(`${root}/power`, '1')).toBe(false);
  });

  it('answers an offline another client left on its availability with online, once for a burst', async () => {
    const { topics, client, events } = setup({ availabilityDebounceMs: 200 });
    const recorder = await recorderOn([topics.availability]);
    await started(client, events);
    await recorder.waitForPayload(topics.availability, 'online');
    const other = await otherClient();
    await Promise.all(
      Array.from({ length: 20 }, () => other.publishAsync(topics.availability, 'offline', { qos: 1, retain: true })),
    );
    await recorder.waitFor(
      () => recorder.on(topics.availability).at(-1)?.payload === 'online' && recorder.messages.length > 1,
    );
    // Nothing more follows: no exchange of online and offline with anyone.
    await sleep(600);
    expect(recorder.on(topics.availability).map((message) => message.payload)).toEqual([
      'online',
      ...Array.from({ length: 20 }, () => 'offline'),
      'online',
    ]);
    expect(client.stats().availabilityRepublishes).toBe(1);
    expect(await retainedPayload(topics.availability)).toBe('online');
  });

  it('lets a newer online stand without answering again', async () => {
    const { topics, client, events } = setup({ availabilityDebounceMs: 300 });
    const recorder = await recorderOn([topics.availability]);
    await started(client, events);
    await recorder.waitForPayload(topics.availability, 'online');
    const other = await otherClient();
    await other.publishAsync(topics.availability, 'offline', { qos: 1, retain: true });
    await other.publishAsync(topics.availability, 'online', { qos: 1, retain: true });
    await sleep(700);
    expect(recorder.on(topics.availability).map((message) => message.payload)).toEqual(['online', 'offline', 'online']);
    expect(client.stats().availabilityRepublishes).toBe(0);
  });

  it('makes one re-publication of a burst of Home Assistant announcements, and another for a later one', async () => {
    const { topics, client, events } = setup({ birthDebounceMs: 500 });
    await started(client, events);
    const homeAssistant = await otherClient();
    await Promise.all(
      Array.from({ length: 300 }, () => homeAssistant.publishAsync(topics.birth, 'online', { qos: 1 })),
    );
    await homeAssistant.publishAsync(topics.birth, 'offline', { qos: 1 });
    const deadline = Date.now() + 10_000;
    while (client.stats().birthAnnouncements < 300 && Date.now() < deadline) await sleep(20);
    await sleep(800);
    expect(client.stats().birthAnnouncements).toBe(300);
    expect(events.homeAssistantOnline).toBe(1);

    await homeAssistant.publishAsync(topics.birth, 'online', { qos: 1 });
    await sleep(800);
    expect(events.homeAssistantOnline).toBe(2);
    expect(client.stats().birthAnnouncements).toBe(301);
  });

  it('announcements spaced past the debounce make at most a few re-publications a window, then one at its end', async () => {
    const { topics, client, events } = setup({
      birthDebounceMs: 100,
      birthResyncWindowMs: 2500,
      birthResyncsPerWindow: 3,
    });
    await started(client, events);
    const homeAssistant = await otherClient();
    // One every 250 ms for 2 s: without a budget, eight re-publications (about 55 messages each).
    for (let i = 0; i < 8; i++) {
      await homeAssistant.publishAsync(topics.birth, 'online', { qos: 1 });
      await sleep(250);
    }
    expect(client.stats().birthAnnouncements).toBe(8);
    expect(events.homeAssistantOnline).toBe(3);
    // The announcements past the budget are not lost: one re-publication when the window ends.
    await sleep(1500);
    expect(events.homeAssistantOnline).toBe(4);
    await sleep(500);
    expect(events.homeAssistantOnline).toBe(4);
  });
});

describe('command topic filter', () => {
  it('matches one level per +, and nothing longer or shorter', () => {
    expect(matchesFilter('twc/+/+/set', 'twc/PGT1/charge_now/set')).toBe(true);
    expect(matchesFilter('t/a/b/+/+/set', 't/a/b/PGT1/smart_charging/set')).toBe(true);
    expect(matchesFilter('twc/+/+/set', 'twc/PGT1/charge_now')).toBe(false);
    expect(matchesFilter('twc/+/+/set', 'twc/PGT1/x/charge_now/set')).toBe(false);
    expect(matchesFilter('twc/+/+/set', 'other/PGT1/charge_now/set')).toBe(false);
  });
});
