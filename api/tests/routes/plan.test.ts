import { type PlanState, parseRedisPayload, planKeys, planSettingsSchema } from '@twc/core/contracts/redis';
import { servers } from '@twc/testenv/vitest';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { CHARGER_ID, chargerStatus, createTestStack, eventually, type TestStack } from '../seed.js';

const NOW = Date.UTC(2026, 0, 13, 0, 30);
const KEY = 'a-long-enough-api-key-for-tests-0123456789';
let stack: TestStack;
let redis: Redis;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  stack = await createTestStack('api-plan');
  redis = new Redis(servers().redis.url);
  stack.live.publishStatus(chargerStatus());
  await eventually(async () => expect(await redis.hexists(`${stack.keyPrefix}chargers`, CHARGER_ID)).toBe(1));
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  redis.disconnect();
  await stack.close();
});

async function app(env: Record<string, string> = {}): Promise<FastifyInstance> {
  const built = await buildApp({ config: stack.config(env), now: () => NOW });
  apps.push(built);
  return built;
}

const auth = { 'x-api-key': KEY };

async function savedSettings() {
  return parseRedisPayload(planSettingsSchema, await redis.get(planKeys.settings(stack.keyPrefix, CHARGER_ID)));
}

describe('smart-charging routes', () => {
  it('shows the defaults and no plan before the planner ran, stale', async () => {
    const api = await app();
    const response = await api.inject({ url: `/api/v1/chargers/${CHARGER_ID}/plan` });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ settings_source: 'default', plan: null, stale: true, age_s: null });
    expect(body.settings.ready_by).toEqual([null, '07:00', '07:00', '07:00', '07:00', '07:00', null]);
    expect((await api.inject({ url: '/api/v1/chargers/nope/plan' })).statusCode).toBe(404);
  });

  it('refuses to steer a car with auth off unless CONTROL_WITHOUT_AUTH is set', async () => {
    const open = await app();
    for (const [method, url] of [
      ['PUT', `/api/v1/chargers/${CHARGER_ID}/plan`],
      ['POST', `/api/v1/chargers/${CHARGER_ID}/charge-now`],
      ['POST', `/api/v1/chargers/${CHARGER_ID}/resume-plan`],
    ] as const) {
      const response = await open.inject({ method, url, payload: method === 'PUT' ? { buffer_min: 10 } : undefined });
      expect(response.statusCode, url).toBe(403);
      expect(response.json().message).toContain('CONTROL_WITHOUT_AUTH');
    }
    expect(await savedSettings()).toBeUndefined();
    const allowed = await app({ CONTROL_WITHOUT_AUTH: 'true' });
    const response = await allowed.inject({ method: 'POST', url: `/api/v1/chargers/${CHARGER_ID}/charge-now` });
    expect(response.statusCode).toBe(200);
    expect((await savedSettings())?.charge_now).toBe(true);
    await allowed.inject({ method: 'POST', url: `/api/v1/chargers/${CHARGER_ID}/resume-plan` });
    expect((await savedSettings())?.charge_now).toBe(false);
  });

  it('needs the credential when auth is on, saves a change, tells the planner and names a bad field', async () => {
    const api = await app({ AUTH_MODE: 'apikey', API_KEYS: KEY });
    const url = `/api/v1/chargers/${CHARGER_ID}/plan`;
    expect((await api.inject({ method: 'PUT', url, payload: { buffer_min: 10 } })).statusCode).toBe(401);
    expect((await api.inject({ url })).statusCode).toBe(401);

    const listener = new Redis(servers().redis.url);
    const heard: string[] = [];
    listener.on('message', (_channel, message) => heard.push(message));
    await listener.subscribe(planKeys.settingsChannel(stack.keyPrefix));
    try {
      const response = await api.inject({
        method: 'PUT',
        url,
        headers: auth,
        payload: {
          never_above_cents_kwh: 9.5,
          ready_by: [null, '06:30', '06:30', '06:30', '06:30', '07:15', '09:00'],
          departure_override: '2026-01-13T12:00:00-06:00',
        },
      });
      expect(response.statusCode).toBe(200);
      expect(response.json().settings).toMatchObject({
        never_above_cents_kwh: 9.5,
        departure_override: '2026-01-13T18:00:00.000Z',
        buffer_min: 30,
      });
      await eventually(() => expect(heard).toContain(CHARGER_ID));
    } finally {
      listener.disconnect();
    }
    const saved = await savedSettings();
    expect(saved?.ready_by[6]).toBe('09:00');
    expect(saved?.updated).toBe(new Date(NOW).toISOString());

    for (const [payload, field] of [
      [{ buffer_min: -5 }, 'buffer_min'],
      [{ ready_by: ['25:00'] }, 'ready_by'],
      [{ target: { unit: 'miles', value: 3 } }, 'target.unit'],
      [{ smart: true }, 'body'],
      [{ departure_override: 'tomorrow' }, 'departure_override'],
    ] as const) {
      const bad = await api.inject({ method: 'PUT', url, headers: auth, payload });
      expect(bad.statusCode, JSON.stringify(payload)).toBe(400);
      expect(bad.json().message, JSON.stringify(payload)).toContain(field);
    }
    expect((await savedSettings())?.buffer_min).toBe(30);
  });

  it("shows the planner's state, stale when the planner stopped writing", async () => {
    const api = await app();
    const state: PlanState = {
      charger_id: CHARGER_ID,
      charger_name: 'garage',
      controller: 'tessie',
      status: 'planned',
      charging_allowed: false,
      reason: 'waiting',
      need: { energy_kwh: 33.3, from: 'car', battery_level_pct: 40, charge_limit_pct: 80 },
      power_kw: 11.5,
      departure: '2026-01-13T13:00:00.000Z',
      deadline: '2026-01-13T12:30:00.000Z',
      plan: null,
      control: { last_command: null, failures: 0, stopped_by_us: true, user_override: false, fail_safe: false },
      usage: { calls: { vehicle_data: 2 }, failures: 0 },
      last_event: null,
      updated: new Date(NOW - 30_000).toISOString(),
    };
    await redis.set(planKeys.state(stack.keyPrefix, CHARGER_ID), JSON.stringify(state));
    let body = (await api.inject({ url: `/api/v1/chargers/${CHARGER_ID}/plan` })).json();
    expect(body).toMatchObject({ stale: false, age_s: 30, plan: { status: 'planned', power_kw: 11.5 } });
    await redis.set(
      planKeys.state(stack.keyPrefix, CHARGER_ID),
      JSON.stringify({ ...state, updated: new Date(NOW - 600_000).toISOString() }),
    );
    body = (await api.inject({ url: `/api/v1/chargers/${CHARGER_ID}/plan` })).json();
    expect(body).toMatchObject({ stale: true, age_s: 600 });
  });
});
