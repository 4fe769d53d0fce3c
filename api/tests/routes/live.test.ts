import type { AddressInfo } from 'node:net';
import { type ControlEvent, planKeys } from '@twc/core/contracts/redis';
import { servers } from '@twc/testenv/vitest';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from '../../src/app.js';
import {
  CHARGER_ID,
  CHARGER_NAME,
  chargerStatus,
  createTestStack,
  currentPrice,
  eventually,
  forecastFixture,
  liveSessionOf,
  pricesBetween,
  simulateCharge,
  type TestStack,
} from '../seed.js';

const START = Date.UTC(2026, 5, 1, 3, 0, 0);
let stack: TestStack;
const apps: FastifyInstance[] = [];
const sockets: WebSocket[] = [];

beforeAll(async () => {
  stack = await createTestStack('api-live');
});
afterAll(async () => {
  for (const socket of sockets) socket.terminate();
  await Promise.all(apps.map((app) => app.close()));
  await stack.close();
});

async function listen(env: Record<string, string> = {}): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApp({ config: stack.config(env) });
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws/live` };
}

interface Received {
  socket: WebSocket;
  messages: { type: string; charger_id?: string | null; data?: unknown; subscription?: string }[];
}

async function connect(url: string): Promise<Received> {
  const socket = new WebSocket(url);
  sockets.push(socket);
  const received: Received = { socket, messages: [] };
  socket.on('message', (raw) => received.messages.push(JSON.parse(String(raw))));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  await eventually(() => expect(received.messages[0]?.type).toBe('subscribed'));
  return received;
}

const charge = () =>
  simulateCharge({
    startMs: START,
    chargeMs: 600_000,
    close: false,
    prices: pricesBetween(START - 3_600_000, START + 3_600_000),
  });

describe('WS /ws/live', () => {
  it('delivers vitals, session and price updates published through the collector adapters', async () => {
    const { url } = await listen();
    const client = await connect(`${url}?charger=${CHARGER_ID}`);
    expect(client.messages[0]).toEqual({ type: 'subscribed', subscription: CHARGER_ID });
    const open = charge();
    stack.live.publishVitals(open.lastLive);
    await stack.sessions.publish(liveSessionOf(open));
    const price = currentPrice({ timeMs: START, priceCentsPerKwh: 3.3 }, undefined, START);
    await stack.price.save(price, true);
    await eventually(() => expect(client.messages).toHaveLength(4));
    expect(client.messages.slice(1)).toEqual([
      { type: 'vitals', charger_id: CHARGER_ID, data: open.lastLive },
      { type: 'session', charger_id: CHARGER_ID, data: JSON.parse(JSON.stringify(liveSessionOf(open))) },
      { type: 'price', charger_id: null, data: price },
    ]);
  });

  it("takes the charger's configured name as its subscription, and subscribes to its id", async () => {
    stack.live.publishStatus(chargerStatus());
    const { url } = await listen();
    const redis = new Redis(servers().redis.url);
    try {
      await eventually(async () => expect(await redis.hexists(`${stack.keyPrefix}chargers`, CHARGER_ID)).toBe(1));
    } finally {
      redis.disconnect();
    }
    const client = await connect(`${url}?charger=${CHARGER_NAME}`);
    expect(client.messages[0]).toEqual({ type: 'subscribed', subscription: CHARGER_ID });
  });

  it('sends every client the forecast of the next 24 hours when the comed-poller recomputes it', async () => {
    const { url } = await listen();
    const client = await connect(`${url}?charger=${CHARGER_ID}`);
    const forecast = forecastFixture(Date.now());
    expect(await stack.price.saveForecast(forecast)).toBe(true);
    await eventually(() => expect(client.messages).toHaveLength(2));
    const message = client.messages[1] as { type: string; charger_id: null; data: typeof forecast };
    expect(message.type).toBe('forecast');
    expect(message.charger_id).toBeNull();
    expect(message.data).toEqual({ ...forecast, hours: forecast.hours.slice(0, 24) });
  });

  it("sends a charger's plan and its car commands to that charger's clients", async () => {
    const { url } = await listen();
    const mine = await connect(`${url}?charger=${CHARGER_ID}`);
    const other = await connect(`${url}?charger=OTHER`);
    const redis = new Redis(servers().redis.url);
    try {
      const event: ControlEvent = {
        charger_id: CHARGER_ID,
        time: new Date(START).toISOString(),
        command: 'charge_stop',
        ok: false,
        failure: 'asleep',
        detail: 'vehicle unavailable',
        reason: 'plan_stop',
        calls: 3,
        woke: true,
        duration_ms: 30_000,
      };
      await redis.publish(planKeys.eventChannel(stack.keyPrefix), JSON.stringify(event));
      await redis.publish(planKeys.eventChannel(stack.keyPrefix), '{"not": "an event"}');
      await eventually(() => expect(mine.messages.map((m) => m.type)).toEqual(['subscribed', 'control_event']));
      expect(mine.messages[1]).toEqual({ type: 'control_event', charger_id: CHARGER_ID, data: event });
      await stack.price.save(currentPrice({ timeMs: START, priceCentsPerKwh: 2 }, undefined, START), true);
      await eventually(() => expect(other.messages.map((m) => m.type)).toEqual(['subscribed', 'price']));
    } finally {
      redis.disconnect();
    }
  });

  it('sends a charger only to clients subscribed to it or to all, and takes a subscribe message', async () => {
    const { url } = await listen();
    const all = await connect(url);
    const other = await connect(`${url}?charger=OTHER`);
    const switching = await connect(`${url}?charger=OTHER`);
    switching.socket.send(JSON.stringify({ subscribe: CHARGER_ID }));
    await eventually(() => expect(switching.messages.at(-1)).toEqual({ type: 'subscribed', subscription: CHARGER_ID }));
    stack.live.publishVitals(charge().lastLive);
    await eventually(() => expect(all.messages.map((m) => m.type)).toEqual(['subscribed', 'vitals']));
    await eventually(() =>
      expect(switching.messages.map((m) => m.type)).toEqual(['subscribed', 'subscribed', 'vitals']),
    );
    // A later price reaches `other`: by then the vitals would have too, had it been sent.
    await stack.price.save(currentPrice({ timeMs: START, priceCentsPerKwh: 1 }, undefined, START), true);
    await eventually(() => expect(other.messages.map((m) => m.type)).toEqual(['subscribed', 'price']));
    switching.socket.send('not json');
    await eventually(() => expect(switching.messages.at(-1)?.type).toBe('error'));
  });

  it('drops messages to a client that does not read, cuts it off, and keeps serving the others', async () => {
    // Heartbeats 2 s apart: on a loaded machine the slow client must still be sent to before a missed
    // pong alone cuts it off, or nothing is ever dropped for it.
    const { app, url } = await listen({ WS_MAX_BUFFERED_KB: '64', WS_HEARTBEAT_S: '2' });
    const fast = await connect(url);
    const slow = await connect(url);
    // The slow client stops reading: its socket buffers fill, and it answers no ping.
    (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const open = charge();
    // A large message within the contract: a long session's energy by interval (the hub forwards what the
    // writer's schema holds, so padding in a field of no schema would be stripped before it is sent).
    const session = liveSessionOf(open);
    const energyByInterval = Array.from({ length: 6000 }, (_, i) => ({
      startMs: START + i * 300_000,
      energyWh: 123.456789,
    }));
    const big = { ...session, session: { ...session.session, energyByInterval } };
    const count = 60;
    const publisher = stack.sessions;
    for (let i = 0; i < count; i++) await publisher.publish({ ...big, updated: String(i) } as never);
    await eventually(() => expect(fast.messages.filter((m) => m.type === 'session')).toHaveLength(count), 10_000);
    await eventually(() => expect(app.hub.stats().terminated).toBeGreaterThanOrEqual(1), 10_000);
    expect(app.hub.stats().dropped).toBeGreaterThan(0);
    expect(fast.socket.readyState).toBe(WebSocket.OPEN);
    expect(app.hub.stats().clients).toBe(1);
  });
});
