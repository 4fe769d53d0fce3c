import { dayAheadPoints } from '@twc/core/prices/price-plan';
import { freePort } from '@twc/testenv';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import {
  CHARGER_ID,
  type ChargeResult,
  createTestStack,
  priceAt,
  pricesBetween,
  simulateCharge,
  type TestStack,
} from '../seed.js';

const START = Date.UTC(2026, 4, 4, 6, 0, 0);
const FROM = '2026-05-04T00:00:00Z';
const TO = '2026-05-05T00:00:00Z';
let stack: TestStack;
let charge: ChargeResult;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  stack = await createTestStack('api-export');
  const prices = pricesBetween(START - 6 * 3_600_000, START + 18 * 3_600_000);
  await stack.prices(prices, START + 18 * 3_600_000);
  charge = simulateCharge({ startMs: START, chargeMs: 30 * 60_000, stepMs: 5000, prices });
  await stack.write([...charge.vitals, ...charge.sessionPoints]);
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await stack.close();
});

async function app(env: Record<string, string> = {}): Promise<FastifyInstance> {
  const built = await buildApp({ config: stack.config(env), now: () => Date.parse(TO) });
  apps.push(built);
  return built;
}

function parseCsv(text: string): string[][] {
  return text
    .trimEnd()
    .split('\r\n')
    .map((line) => line.split(','));
}

describe('exports', () => {
  it('streams vitals as CSV, one row per sample, without a content length', async () => {
    const response = await (await app()).inject({
      method: 'GET',
      url: `/api/v1/export/csv?dataset=vitals&from=${FROM}&to=${TO}&charger=${CHARGER_ID}`,
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toBe(
      `attachment; filename="twc-vitals-${CHARGER_ID}-2026-05-04-2026-05-05.csv"`,
    );
    expect(response.headers['content-length']).toBeUndefined();
    const [header, ...rows] = parseCsv(response.body);
    expect(header?.slice(0, 4)).toEqual(['time', 'charger_id', 'charger_name', 'vehicle_connected']);
    expect(rows).toHaveLength(charge.vitals.length);
    const power = header?.indexOf('power_w') as number;
    const charging = rows.filter((row) => row[power] === '9600');
    expect(charging.length).toBe(charge.vitals.filter((p) => p.fields.power_w === 9600).length);
    expect(rows[0]?.[0]).toBe(new Date(charge.vitals[0]?.timeMs as number).toISOString());
  });

  it('streams vitals as JSON lines in the replay format', async () => {
    const response = await (await app()).inject({
      method: 'GET',
      url: `/api/v1/export/json?dataset=vitals&from=${FROM}&to=${TO}&charger=${CHARGER_ID}`,
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    const lines = response.body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(charge.vitals.length);
    const second = charge.vitals[1];
    if (!second) throw new Error('the charge has fewer than two samples');
    const { power_w, ...asCharger } = second.fields;
    expect(power_w).toBe(9600);
    expect(lines[1]).toEqual({ t: second.timeMs, vitals: asCharger });
    expect(lines[1].vitals.power_w).toBeUndefined();
  });

  it('exports sessions with their costs, and prices with their intervals', async () => {
    const api = await app();
    const sessions = await api.inject({
      method: 'GET',
      url: `/api/v1/export/csv?dataset=sessions&from=${FROM}&to=${TO}`,
    });
    const [header, row] = parseCsv(sessions.body);
    expect(row?.[header?.indexOf('id') as number]).toBe(charge.session.id);
    expect(Number(row?.[header?.indexOf('total_cost_usd') as number])).toBe(charge.cost.totalCostUsd);
    const json = await api.inject({ method: 'GET', url: `/api/v1/export/json?dataset=sessions&from=${FROM}&to=${TO}` });
    expect(JSON.parse(json.body.trim())).toMatchObject({ id: charge.session.id, energy_wh: charge.session.energyWh });
    const prices = await api.inject({
      method: 'GET',
      url: '/api/v1/export/json?dataset=prices&from=2026-05-04T06:00:00Z&to=2026-05-04T06:10:00Z',
    });
    expect(
      prices.body
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      {
        interval_start: '2026-05-04T06:00:00.000Z',
        interval_end: '2026-05-04T06:05:00.000Z',
        price_cents_kwh: priceAt(Date.UTC(2026, 4, 4, 6, 0)),
      },
      {
        interval_start: '2026-05-04T06:05:00.000Z',
        interval_end: '2026-05-04T06:10:00.000Z',
        price_cents_kwh: priceAt(Date.UTC(2026, 4, 4, 6, 5)),
      },
    ]);
  });

  it("exports ComEd's day-ahead prices by the hours that start in the range", async () => {
    // The day-ahead prices of 01:00-04:00 CDT on May 4, as the comed-poller stores them (at the hour ending).
    const hours = [1, 2, 3].map((hour) => ({
      label: { year: 2026, month: 5, day: 4, hour: hour + 1 },
      priceCentsPerKwh: 1.5 + hour / 10,
      hourEndingsMs: [Date.UTC(2026, 4, 4, hour + 6)],
    }));
    await stack.write(dayAheadPoints(hours));
    const api = await app();
    const csv = await api.inject({
      method: 'GET',
      url: '/api/v1/export/csv?dataset=dayahead&from=2026-05-04T06:00:00Z&to=2026-05-04T08:00:00Z',
    });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-disposition']).toContain('twc-dayahead-2026-05-04-2026-05-04.csv');
    // The hours starting at 06:00 and 07:00 UTC; the one starting at 08:00 is outside.
    expect(parseCsv(csv.body)).toEqual([
      ['hour_start', 'hour_ending', 'price_cents_kwh'],
      ['2026-05-04T06:00:00.000Z', '2026-05-04T07:00:00.000Z', '1.6'],
      ['2026-05-04T07:00:00.000Z', '2026-05-04T08:00:00.000Z', '1.7'],
    ]);
  });

  it('refuses bad parameters naming the field', async () => {
    const api = await app();
    const cases: [string, RegExp][] = [
      ['/api/v1/export/csv', /^dataset: /],
      ['/api/v1/export/csv?dataset=weather', /^dataset: /],
      ['/api/v1/export/csv?dataset=vitals&from=tomorrow', /^from: /],
      [`/api/v1/export/csv?dataset=vitals&from=${TO}&to=${FROM}`, /^to: must be after from$/],
      ['/api/v1/export/json?dataset=vitals', /^charger: is required/],
      ['/api/v1/export/csv?dataset=prices&charger=x', /^charger: does not apply/],
      ['/api/v1/export/csv?dataset=dayahead&charger=x', /^charger: does not apply to dayahead/],
    ];
    for (const [url, message] of cases) {
      const response = await api.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(400);
      expect(response.json().message, url).toMatch(message);
    }
  });

  it('answers 503 before streaming anything when InfluxDB is down', async () => {
    const api = await app({ INFLUXDB_URL: `http://127.0.0.1:${await freePort()}` });
    const response = await api.inject({ method: 'GET', url: '/api/v1/export/csv?dataset=sessions' });
    expect(response.statusCode).toBe(503);
    expect(response.json().message).toBe('InfluxDB is unreachable');
  });
});
