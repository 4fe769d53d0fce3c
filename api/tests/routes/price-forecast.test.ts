import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createTestStack, forecastFixture, type TestStack } from '../seed.js';

const HOUR = 3_600_000;
// Thursday 2026-12-03, 17:20 CST; the newest 5-minute price is stamped 17:15.
const NOW = Date.UTC(2026, 11, 3, 23, 20);
const CURRENT_HOUR_ENDING = Date.UTC(2026, 11, 4, 0);
const iso = (timeMs: number) => new Date(timeMs).toISOString();

let stack: TestStack;
const apps: FastifyInstance[] = [];
beforeAll(async () => {
  stack = await createTestStack('api-forecast');
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await stack.close();
});

async function get(url: string, nowMs = NOW) {
  const app = await buildApp({ config: stack.config(), now: () => nowMs });
  apps.push(app);
  const response = await app.inject({ method: 'GET', url });
  return { status: response.statusCode, body: response.json() };
}

describe('GET /price/forecast', () => {
  it('answers 503 until the comed-poller has published a forecast', async () => {
    const { status, body } = await get('/api/v1/price/forecast');
    expect(status).toBe(503);
    expect(body.message).toMatch(/no forecast yet/);
  });

  it('gives each hour ahead with its source and band, and goes stale when the poller stops', async () => {
    expect(await stack.price.saveForecast(forecastFixture(NOW))).toBe(true);
    const { status, body } = await get('/api/v1/price/forecast?hours=24');
    expect(status).toBe(200);
    expect(body.stale).toBe(false);
    expect(body.hours).toHaveLength(24);
    expect(body.hours[0]).toEqual({
      start: iso(CURRENT_HOUR_ENDING - HOUR),
      hour_ending: iso(CURRENT_HOUR_ENDING),
      price_cents_kwh: 7,
      source: 'running',
      low_cents_kwh: 6,
      high_cents_kwh: 8.5,
      day_ahead_cents_kwh: 7,
    });
    expect(body.errors.measured_days).toBe(28);
    // Twenty minutes on: the running hour is over and left out, and nothing was recomputed.
    const later = await get('/api/v1/price/forecast', NOW + 50 * 60_000);
    expect(later.body.stale).toBe(true);
    expect(later.body.hours[0].hour_ending).toBe(iso(CURRENT_HOUR_ENDING + HOUR));
    // Beyond the day-ahead horizon the hours carry no day-ahead price.
    expect(later.body.hours.at(-1)).toMatchObject({ source: 'forecast' });
    expect(later.body.hours.at(-1).day_ahead_cents_kwh).toBeUndefined();
    expect((await get('/api/v1/price/forecast?hours=49')).status).toBe(400);
  });
});

describe('GET /price/cheapest-window ahead', () => {
  beforeAll(async () => {
    await stack.price.saveForecast(forecastFixture(NOW));
  });

  it('plans N hours before a deadline on the forecast, each hour with its source, and the saving', async () => {
    const before = Date.UTC(2026, 11, 4, 13); // 07:00 CST
    const { status, body } = await get(`/api/v1/price/cheapest-window?hours=3&before=${iso(before)}`);
    expect(status).toBe(200);
    expect(body.mode).toBe('ahead');
    // 02:00-05:00 CST (08:00-11:00 UTC) at 1.0, 1.1 and 1.2.
    expect(body.window).toMatchObject({
      start: iso(Date.UTC(2026, 11, 4, 8)),
      end: iso(Date.UTC(2026, 11, 4, 11)),
      energy_kwh: 3 * 11.5,
    });
    expect(body.window.avg_price_cents_kwh).toBeCloseTo(1.1, 9);
    expect(body.window.hours.map((hour: { source: string }) => hour.source)).toEqual([
      'day_ahead',
      'day_ahead',
      'day_ahead',
    ]);
    expect(body.window.supply_cost_usd).toBeCloseTo((11.5 * (1 + 1.1 + 1.2)) / 100, 9);
    // Charging at once: the rest of the running hour at 7, then 18:00-20:00 at 7 and 20:00 to 20:20 at 7.
    expect(body.charge_now.start).toBe(iso(NOW));
    expect(body.charge_now.hours[0].source).toBe('running');
    expect(body.charge_now.hours[0].fraction).toBeCloseTo(40 / 60, 9);
    expect(body.charge_now.avg_price_cents_kwh).toBeCloseTo(7, 9);
    expect(body.saving_usd).toBeCloseTo(body.charge_now.supply_cost_usd - body.window.supply_cost_usd, 9);
    expect(body.stale).toBe(false);
  });

  it('plans an energy at a power: whole hours, the last one partial', async () => {
    const before = Date.UTC(2026, 11, 4, 13);
    const { body } = await get(`/api/v1/price/cheapest-window?kwh=20&power_kw=7.2&before=${iso(before)}`);
    expect(body.kwh).toBe(20);
    expect(body.hours).toBeNull();
    expect(body.window.energy_kwh).toBeCloseTo(20, 9);
    const fractions = body.window.hours.map((hour: { fraction: number }) => hour.fraction);
    expect(fractions.slice(0, 2)).toEqual([1, 1]);
    expect(fractions[2]).toBeCloseTo((20 - 14.4) / 7.2, 9);
    expect(body.window.start).toBe(iso(Date.UTC(2026, 11, 4, 8)));
  });

  it('refuses what it cannot plan, naming the field', async () => {
    const before = iso(NOW + 10 * HOUR);
    const both = await get(`/api/v1/price/cheapest-window?hours=2&kwh=10&before=${before}`);
    expect([both.status, both.body.message]).toEqual([400, 'kwh: give hours or kwh, not both']);
    const far = await get(`/api/v1/price/cheapest-window?hours=2&before=${iso(NOW + 49 * HOUR)}`);
    expect(far.status).toBe(400);
    expect(far.body.message).toMatch(/^before: at most 48 hours ahead/);
    const past = await get('/api/v1/price/cheapest-window?kwh=10');
    expect(past.status).toBe(400);
    expect(past.body.message).toMatch(/^kwh:/);
    const power = await get(`/api/v1/price/cheapest-window?hours=2&power_kw=0&before=${before}`);
    expect(power.status).toBe(400);
    expect(JSON.stringify(power.body)).toMatch(/power_kw/);
  });
});
