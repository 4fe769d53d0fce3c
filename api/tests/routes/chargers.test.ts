import { liveKeys } from '@twc/core/contracts/redis';
import { freePort } from '@twc/testenv';
import { servers } from '@twc/testenv/vitest';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import {
  CHARGER_ID,
  CHARGER_NAME,
  type ChargeResult,
  chargerStatus,
  createTestStack,
  eventually,
  liveSessionOf,
  pricesBetween,
  simulateCharge,
  type TestStack,
} from '../seed.js';

const DAY_START = Date.UTC(2026, 0, 15, 0, 0, 0);
const NOW = Date.UTC(2026, 0, 16, 12, 0, 0);
let stack: TestStack;
let morning: ChargeResult;
let evening: ChargeResult;
let open: ChargeResult;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  stack = await createTestStack('api-chargers');
  const prices = pricesBetween(DAY_START - 86_400_000, NOW);
  await stack.prices(prices, NOW);
  morning = simulateCharge({ startMs: DAY_START + 2 * 3_600_000, chargeMs: 2 * 3_600_000, prices });
  evening = simulateCharge({ startMs: DAY_START + 20 * 3_600_000, chargeMs: 3_600_000, amps: 32, prices });
  open = simulateCharge({ startMs: NOW - 1_800_000, chargeMs: 1_790_000, close: false, prices });
  await stack.write([
    ...morning.vitals,
    ...morning.sessionPoints,
    ...evening.vitals,
    ...evening.sessionPoints,
    ...open.vitals,
    {
      measurement: 'twc_version',
      tags: { charger_id: CHARGER_ID, charger_name: CHARGER_NAME },
      fields: { firmware_version: '24.44.1+g1ee2ee3c4a2d6a', part_number: '1529455-02-D', serial_number: CHARGER_ID },
      timeMs: DAY_START,
    },
  ]);
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await stack.close();
});

async function app(env: Record<string, string> = {}): Promise<FastifyInstance> {
  const built = await buildApp({ config: stack.config(env), now: () => NOW });
  apps.push(built);
  return built;
}

async function get(api: FastifyInstance, url: string) {
  const response = await api.inject({ method: 'GET', url });
  return { status: response.statusCode, body: response.json() };
}

describe('chargers from InfluxDB (Redis empty)', () => {
  it('lists the chargers InfluxDB knows, with the time of their last sample', async () => {
    const { status, body } = await get(await app(), '/api/v1/chargers');
    expect(status).toBe(200);
    expect(body.chargers).toEqual([
      {
        id: CHARGER_ID,
        name: CHARGER_NAME,
        serial_number: CHARGER_ID,
        firmware_version: '24.44.1+g1ee2ee3c4a2d6a',
        online: true,
        last_seen: open.lastLive.time,
        source: 'influxdb',
      },
    ]);
  });

  it('gives the last stored vitals and their age when Redis has none', async () => {
    const { status, body } = await get(await app(), `/api/v1/chargers/${CHARGER_ID}/status`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      charger_id: CHARGER_ID,
      charger_name: CHARGER_NAME,
      source: 'influxdb',
      time: open.lastLive.time,
      age_s: (NOW - Date.parse(open.lastLive.time)) / 1000,
      session: null,
    });
    expect(body.vitals).toMatchObject({
      power_w: 9600,
      contactor_closed: true,
      charging: true,
      evse_state_name: 'charging',
    });
  });

  it('answers 404 for an unknown charger', async () => {
    const api = await app();
    expect(await get(api, '/api/v1/chargers/NOPE/status')).toEqual({
      status: 404,
      body: { statusCode: 404, error: 'Not Found', message: 'charger NOPE is unknown' },
    });
    expect((await get(api, '/api/v1/chargers/NOPE/sessions')).status).toBe(404);
  });

  it('keeps serving from InfluxDB while Redis is down', async () => {
    const api = await app({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    const chargers = await get(api, '/api/v1/chargers');
    expect(chargers.status).toBe(200);
    expect(chargers.body.chargers[0].source).toBe('influxdb');
    const status = await get(api, `/api/v1/chargers/${CHARGER_ID}/status`);
    expect(status.body.source).toBe('influxdb');
    const sessions = await get(api, `/api/v1/chargers/${CHARGER_ID}/sessions`);
    expect(sessions.body.sessions.map((s: { id: string }) => s.id)).toEqual([evening.session.id, morning.session.id]);
  });
});

describe('sessions of a charger', () => {
  it('lists closed sessions newest first with their costs from twc_session', async () => {
    const { status, body } = await get(await app(), `/api/v1/chargers/${CHARGER_ID}/sessions`);
    expect(status).toBe(200);
    expect(body.sessions).toHaveLength(2);
    const [first, second] = body.sessions;
    expect(first).toMatchObject({
      id: evening.session.id,
      open: false,
      start_time: new Date(evening.session.startTimeMs).toISOString(),
      end_time: new Date(evening.session.endTimeMs as number).toISOString(),
      energy_wh: evening.session.energyWh,
      total_cost_usd: evening.cost.totalCostUsd,
      supply_cost_usd: evening.cost.supplyCostUsd,
      avg_price_cents_kwh: evening.cost.avgPriceCentsKwh,
      flat_rate_cost_usd: evening.whatIf.flatRateCostUsd,
      saving_vs_flat_usd: evening.whatIf.savingVsFlatUsd,
      end_reason: 'unplugged',
    });
    expect(second.id).toBe(morning.session.id);
    expect(second.energy_wh).toBe(morning.session.energyWh);
    expect(second.energy_wh).toBeGreaterThan(19_000);
    expect(body.next_cursor).toBeNull();
  });

  it('pages with limit/offset and with a cursor', async () => {
    const api = await app();
    const page1 = await get(api, `/api/v1/chargers/${CHARGER_ID}/sessions?limit=1`);
    expect(page1.body.sessions.map((s: { id: string }) => s.id)).toEqual([evening.session.id]);
    expect(page1.body.next_cursor).toBe(String(evening.session.startTimeMs));
    const page2 = await get(api, `/api/v1/chargers/${CHARGER_ID}/sessions?limit=1&cursor=${page1.body.next_cursor}`);
    expect(page2.body.sessions.map((s: { id: string }) => s.id)).toEqual([morning.session.id]);
    const byOffset = await get(api, `/api/v1/chargers/${CHARGER_ID}/sessions?limit=1&offset=1`);
    expect(byOffset.body.sessions.map((s: { id: string }) => s.id)).toEqual([morning.session.id]);
  });

  it('filters by start time with from/to', async () => {
    const from = new Date(DAY_START + 12 * 3_600_000).toISOString();
    const { body } = await get(await app(), `/api/v1/chargers/${CHARGER_ID}/sessions?from=${from}`);
    expect(body.sessions.map((s: { id: string }) => s.id)).toEqual([evening.session.id]);
    const to = new Date(DAY_START + 12 * 3_600_000).toISOString();
    const before = await get(await app(), `/api/v1/chargers/${CHARGER_ID}/sessions?to=${to}`);
    expect(before.body.sessions.map((s: { id: string }) => s.id)).toEqual([morning.session.id]);
  });

  it('refuses bad parameters naming the field', async () => {
    const api = await app();
    expect((await get(api, `/api/v1/chargers/${CHARGER_ID}/sessions?limit=0`)).body.message).toMatch(/^limit: /);
    expect((await get(api, `/api/v1/chargers/${CHARGER_ID}/sessions?from=yesterday`)).body.message).toMatch(/^from: /);
    expect((await get(api, `/api/v1/chargers/${CHARGER_ID}/sessions?cursor=abc`)).body.message).toMatch(/^cursor: /);
    const reversed = await get(
      api,
      `/api/v1/chargers/${CHARGER_ID}/sessions?from=2026-01-15T00:00:00Z&to=2026-01-14T00:00:00Z`,
    );
    expect(reversed).toMatchObject({ status: 400, body: { message: 'to: must be after from' } });
  });
});

describe('chargers live from Redis', () => {
  beforeAll(async () => {
    stack.live.publishStatus(chargerStatus({ last_seen: open.lastLive.time }));
    stack.live.publishVitals(open.lastLive);
    await stack.sessions.publish(liveSessionOf(open));
  });

  it('lists the chargers the collector reports', async () => {
    const api = await app();
    const { body } = await eventually(async () => {
      const result = await get(api, '/api/v1/chargers');
      expect(result.body.chargers[0].source).toBe('live');
      return result;
    });
    expect(body.chargers).toEqual([
      {
        id: CHARGER_ID,
        name: CHARGER_NAME,
        serial_number: CHARGER_ID,
        firmware_version: '24.44.1+g1ee2ee3c4a2d6a',
        online: true,
        last_seen: open.lastLive.time,
        source: 'live',
      },
    ]);
  });

  it('leaves out a Redis value its writer would not write, reading the rest', async () => {
    const redis = new Redis(servers().redis.url);
    try {
      // A status without the fields the collector always writes (a broken or foreign writer).
      await redis.hset(liveKeys.chargers(stack.keyPrefix), 'FOREIGN', JSON.stringify({ charger_id: 'FOREIGN' }));
      const { body } = await get(await app(), '/api/v1/chargers');
      expect(body.chargers.map((charger: { id: string }) => charger.id)).toEqual([CHARGER_ID]);
    } finally {
      await redis.hdel(liveKeys.chargers(stack.keyPrefix), 'FOREIGN');
      redis.disconnect();
    }
  });

  it('gives the live vitals, their age and the open session', async () => {
    const api = await app();
    const { body } = await eventually(async () => {
      const result = await get(api, `/api/v1/chargers/${CHARGER_ID}/status`);
      expect(result.body.source).toBe('live');
      return result;
    });
    expect(body).toMatchObject({
      source: 'live',
      online: true,
      time: open.lastLive.time,
      age_s: (NOW - Date.parse(open.lastLive.time)) / 1000,
    });
    expect(body.vitals.power_w).toBe(9600);
    expect(body.session).toMatchObject({ id: open.session.id, open: true, energy_wh: open.session.energyWh });
  });

  it('answers from what its live hub heard, and follows each new publish', async () => {
    const api = await app();
    await api.ready();
    // A publish the hub hears after it started: the route then needs no Redis read for the vitals.
    const later = { ...open.lastLive, time: new Date(NOW - 2000).toISOString() };
    stack.live.publishVitals(later);
    await eventually(async () => {
      expect((await get(api, `/api/v1/chargers/${CHARGER_ID}/status`)).body.time).toBe(later.time);
    });
    // With the key gone from Redis the answer still comes from the last message heard...
    const redis = new Redis(servers().redis.url);
    await redis.del(liveKeys.vitals(stack.keyPrefix, CHARGER_ID));
    redis.disconnect();
    const fromHub = await get(api, `/api/v1/chargers/${CHARGER_ID}/status`);
    expect(fromHub.body).toMatchObject({ source: 'live', time: later.time, online: true });
    expect(fromHub.body.session).toMatchObject({ id: open.session.id, open: true });
    // ...and the next publish replaces it.
    const newest = { ...open.lastLive, time: new Date(NOW - 1000).toISOString() };
    stack.live.publishVitals(newest);
    await eventually(async () => {
      expect((await get(api, `/api/v1/chargers/${CHARGER_ID}/status`)).body.time).toBe(newest.time);
    });
  });

  it('takes the name a charger has in CHARGERS wherever it takes its id, and answers with the id', async () => {
    const api = await app();
    const status = await eventually(async () => {
      const result = await get(api, `/api/v1/chargers/${CHARGER_NAME}/status`);
      expect(result.status).toBe(200);
      return result;
    });
    expect(status.body).toMatchObject({ charger_id: CHARGER_ID, charger_name: CHARGER_NAME, source: 'live' });
    const byName = await get(api, `/api/v1/chargers/${CHARGER_NAME}/sessions`);
    const byId = await get(api, `/api/v1/chargers/${CHARGER_ID}/sessions`);
    expect(byName.status).toBe(200);
    expect(byName.body).toEqual(byId.body);
    const plan = await get(api, `/api/v1/chargers/${CHARGER_NAME}/plan`);
    expect(plan.body.charger_id).toBe(CHARGER_ID);
    const summary = await get(api, `/api/v1/cost/summary?period=day&date=2026-01-15&charger=${CHARGER_NAME}`);
    expect(summary.status).toBe(200);
    expect(summary.body.charger).toBe(CHARGER_ID);
    // Neither an id nor a name: still unknown.
    expect((await get(api, '/api/v1/chargers/shed/status')).status).toBe(404);
  });

  it('puts the open session first, marked open', async () => {
    const { body } = await get(await app(), `/api/v1/chargers/${CHARGER_ID}/sessions`);
    expect(body.sessions.map((s: { id: string; open: boolean }) => [s.id, s.open])).toEqual([
      [open.session.id, true],
      [evening.session.id, false],
      [morning.session.id, false],
    ]);
    expect(body.sessions[0].total_cost_usd).toBe(open.cost.totalCostUsd);
  });
});
