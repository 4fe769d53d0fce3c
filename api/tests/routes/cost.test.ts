import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import {
  type ChargeResult,
  createTestStack,
  liveSessionOf,
  pricesBetween,
  simulateCharge,
  type TestStack,
} from '../seed.js';

const HOUR = 3_600_000;
// Chicago: DST ends 2026-11-01 (a 25-hour day, 05:00Z to 06:00Z next day) and
// starts 2026-03-08 (a 23-hour day, 06:00Z to 05:00Z next day).
const NOV1_START = Date.UTC(2026, 10, 1, 5);
const MAR8_START = Date.UTC(2026, 2, 8, 6);
let stack: TestStack;
let acrossMidnight: ChargeResult;
let lateOnNov1: ChargeResult;
let onMar8: ChargeResult;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  stack = await createTestStack('api-cost');
  const prices = [
    ...pricesBetween(MAR8_START - 2 * 86_400_000, MAR8_START + 2 * 86_400_000),
    ...pricesBetween(NOV1_START - 2 * 86_400_000, NOV1_START + 3 * 86_400_000),
  ];
  await stack.prices(prices, NOV1_START + 3 * 86_400_000);
  // 23:30 to 01:30 local: part of the energy on Oct 31, part on Nov 1.
  acrossMidnight = simulateCharge({ startMs: NOV1_START - HOUR / 2, chargeMs: 2 * HOUR, prices });
  // 23:00 local on Nov 1, the 25th hour of the day.
  lateOnNov1 = simulateCharge({ startMs: NOV1_START + 24 * HOUR, chargeMs: HOUR / 2, amps: 24, prices });
  onMar8 = simulateCharge({ startMs: MAR8_START + 10 * HOUR, chargeMs: HOUR, prices });
  await stack.write([...acrossMidnight.sessionPoints, ...lateOnNov1.sessionPoints, ...onMar8.sessionPoints]);
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await stack.close();
});

async function app(): Promise<FastifyInstance> {
  const built = await buildApp({ config: stack.config(), now: () => NOV1_START + 3 * 86_400_000 });
  apps.push(built);
  return built;
}

async function get(api: FastifyInstance, url: string) {
  const response = await api.inject({ method: 'GET', url });
  return { status: response.statusCode, body: response.json() };
}

/** Energy and cost of a charge's hours that lie in [fromMs, toMs). */
function within(charge: ChargeResult, fromMs: number, toMs: number) {
  const hours = charge.cost.hours.filter((h) => h.hourEndingMs - HOUR >= fromMs && h.hourEndingMs - HOUR < toMs);
  return {
    energyWh: hours.reduce((sum, h) => sum + h.energyWh, 0),
    totalUsd: hours.reduce((sum, h) => sum + h.totalCostUsd, 0),
  };
}

describe('cost of a session', () => {
  it('breaks the cost down by hour and gives the what-if figures', async () => {
    const { status, body } = await get(await app(), `/api/v1/cost/session/${acrossMidnight.session.id}`);
    expect(status).toBe(200);
    expect(body.session).toMatchObject({
      id: acrossMidnight.session.id,
      total_cost_usd: acrossMidnight.cost.totalCostUsd,
    });
    expect(body.hours).toEqual(
      acrossMidnight.cost.hours.map((hour) => ({
        hour_ending: new Date(hour.hourEndingMs).toISOString(),
        energy_wh: hour.energyWh,
        avg_price_cents_kwh: hour.avgPriceCentsKwh,
        supply_cost_usd: hour.supplyCostUsd,
        adders_cost_usd: hour.addersCostUsd,
        tax_cost_usd: hour.taxUsd,
        total_cost_usd: hour.totalCostUsd,
        provisional: false,
      })),
    );
    expect(body.hours).toHaveLength(3);
    expect(body.what_if).toEqual({
      flat_rate_cost_usd: acrossMidnight.whatIf.flatRateCostUsd,
      cheapest_window_cost_usd: acrossMidnight.whatIf.cheapestWindow?.totalCostUsd ?? null,
      saving_vs_flat_usd: acrossMidnight.whatIf.savingVsFlatUsd,
      saving_vs_cheapest_usd: acrossMidnight.whatIf.savingVsCheapestUsd,
    });
    expect(body.what_if.cheapest_window_cost_usd).not.toBeNull();
  });

  it('answers an open session from Redis, without hours yet', async () => {
    const open = simulateCharge({
      startMs: NOV1_START + 60 * HOUR,
      chargeMs: HOUR / 4,
      close: false,
      prices: pricesBetween(NOV1_START, NOV1_START + 3 * 86_400_000),
    });
    await stack.sessions.publish(liveSessionOf(open));
    const { status, body } = await get(await app(), `/api/v1/cost/session/${open.session.id}`);
    expect(status).toBe(200);
    expect(body.session).toMatchObject({ id: open.session.id, open: true });
    expect(body.hours).toEqual([]);
  });

  it('answers 404 for an unknown session', async () => {
    const api = await app();
    for (const id of ['nope', `${acrossMidnight.session.chargerId}-1234567890123`]) {
      const { status, body } = await get(api, `/api/v1/cost/session/${id}`);
      expect(status).toBe(404);
      expect(body.message).toBe(`session ${id} is unknown`);
    }
  });
});

describe('cost summary', () => {
  it('sums a 25-hour day (DST ends) by where the energy was drawn, against the day before', async () => {
    const { status, body } = await get(await app(), '/api/v1/cost/summary?period=day&date=2026-11-01');
    expect(status).toBe(200);
    expect(body.current).toMatchObject({
      start: '2026-11-01T05:00:00.000Z',
      end: '2026-11-02T06:00:00.000Z',
      start_date: '2026-11-01',
      end_date: '2026-11-01',
      hours: 25,
    });
    const dayEnd = NOV1_START + 25 * HOUR;
    const mine = within(acrossMidnight, NOV1_START, dayEnd);
    const late = within(lateOnNov1, NOV1_START, dayEnd);
    expect(late.energyWh).toBe(lateOnNov1.session.energyWh);
    expect(body.current.totals.energy_wh).toBeCloseTo(mine.energyWh + late.energyWh, 3);
    expect(body.current.totals.total_cost_usd).toBeCloseTo(mine.totalUsd + late.totalUsd, 6);
    // Sessions count where they started: the one across midnight started on Oct 31.
    expect(body.current.totals.sessions).toBe(1);
    expect(body.current.totals.saving_vs_flat_usd).toBeCloseTo(lateOnNov1.whatIf.savingVsFlatUsd ?? Number.NaN, 6);
    const before = within(acrossMidnight, NOV1_START - 24 * HOUR, NOV1_START);
    expect(before.energyWh).toBeGreaterThan(0);
    expect(body.previous).toMatchObject({ start_date: '2026-10-31', hours: 24 });
    expect(body.previous.totals.energy_wh).toBeCloseTo(before.energyWh, 3);
    expect(body.previous.totals.sessions).toBe(1);
    expect(body.change.energy_wh).toBeCloseTo(mine.energyWh + late.energyWh - before.energyWh, 3);
  });

  it('has 23 hours on the day DST starts', async () => {
    const { body } = await get(await app(), '/api/v1/cost/summary?period=day&date=2026-03-08&tz=America/Chicago');
    expect(body.current).toMatchObject({
      start: '2026-03-08T06:00:00.000Z',
      end: '2026-03-09T05:00:00.000Z',
      hours: 23,
    });
    expect(body.current.totals.energy_wh).toBeCloseTo(onMar8.session.energyWh, 3);
    expect(body.current.totals.total_cost_usd).toBeCloseTo(onMar8.cost.totalCostUsd, 6);
    const weighted =
      onMar8.cost.hours.reduce((sum, h) => sum + (h.avgPriceCentsKwh ?? 0) * h.energyWh, 0) / onMar8.cost.energyWh;
    expect(body.current.totals.avg_price_cents_kwh).toBeCloseTo(weighted, 9);
    expect(body.previous.totals.energy_wh).toBe(0);
    expect(body.change.energy_pct).toBeNull();
  });

  it('sums weeks from Monday and whole months', async () => {
    const api = await app();
    const week = await get(api, '/api/v1/cost/summary?period=week&date=2026-11-01');
    // 2026-11-01 is a Sunday: its week started Monday 2026-10-26.
    expect(week.body.current).toMatchObject({ start_date: '2026-10-26', end_date: '2026-11-01' });
    expect(week.body.current.totals.sessions).toBe(2);
    const month = await get(api, '/api/v1/cost/summary?period=month&date=2026-11-15');
    expect(month.body.current).toMatchObject({ start_date: '2026-11-01', end_date: '2026-11-30', hours: 30 * 24 + 1 });
    expect(month.body.current.totals.sessions).toBe(1);
    const year = await get(api, '/api/v1/cost/summary?period=year&date=2026-06-01');
    expect(year.body.current.totals.sessions).toBe(3);
    expect(year.body.current.totals.energy_wh).toBeCloseTo(
      acrossMidnight.session.energyWh + lateOnNov1.session.energyWh + onMar8.session.energyWh,
      3,
    );
  });

  it('refuses bad parameters naming the field', async () => {
    const api = await app();
    expect((await get(api, '/api/v1/cost/summary?date=2026-02-30')).body).toMatchObject({
      statusCode: 400,
      message: 'date: must be a calendar date, YYYY-MM-DD',
    });
    expect((await get(api, '/api/v1/cost/summary?period=fortnight')).body.message).toMatch(/^period: /);
    expect((await get(api, '/api/v1/cost/summary?tz=Nowhere')).body.message).toBe('tz: unknown time zone "Nowhere"');
  });
});
