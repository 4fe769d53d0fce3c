import { freePort } from '@twc/testenv';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import {
  createTestStack,
  currentPrice,
  eventually,
  priceAt,
  pricesBetween,
  runningAverageOf,
  type TestStack,
} from '../seed.js';

// 2026-03-08: DST starts in Chicago, a 23-hour day (06:00Z to 05:00Z next day).
const FROM = Date.UTC(2026, 2, 7, 6, 0, 0);
const NOW = Date.UTC(2026, 2, 10, 5, 0, 0);
let stack: TestStack;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  stack = await createTestStack('api-price');
  // Through the price stamped at NOW, the one in force then.
  await stack.prices(pricesBetween(FROM, NOW + 300_000), NOW);
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await stack.close();
});

async function app(env: Record<string, string> = {}, nowMs = NOW): Promise<FastifyInstance> {
  const built = await buildApp({ config: stack.config(env), now: () => nowMs });
  apps.push(built);
  return built;
}

async function get(api: FastifyInstance, url: string) {
  const response = await api.inject({ method: 'GET', url });
  return { status: response.statusCode, body: response.json() };
}

describe('price history', () => {
  it('gives 5-minute prices with their intervals (a price stamped S covers S to S+5min)', async () => {
    const { status, body } = await get(
      await app(),
      '/api/v1/price/history?resolution=5min&from=2026-03-09T10:00:00Z&to=2026-03-09T10:30:00Z',
    );
    expect(status).toBe(200);
    expect(body.points).toHaveLength(6);
    expect(body.points[0]).toEqual({
      start: '2026-03-09T10:00:00.000Z',
      end: '2026-03-09T10:05:00.000Z',
      avg_price_cents_kwh: priceAt(Date.UTC(2026, 2, 9, 10, 0)),
      min_price_cents_kwh: priceAt(Date.UTC(2026, 2, 9, 10, 0)),
      max_price_cents_kwh: priceAt(Date.UTC(2026, 2, 9, 10, 0)),
      count: 1,
    });
    expect(body.points.at(-1).end).toBe('2026-03-09T10:30:00.000Z');
  });

  it('gives the averages of the hours starting in the range, each of the prices stamped in it', async () => {
    const { body } = await get(
      await app(),
      '/api/v1/price/history?resolution=hour&from=2026-03-09T10:00:00Z&to=2026-03-09T12:00:00Z',
    );
    expect(body.points).toHaveLength(2);
    const prices = Array.from({ length: 12 }, (_, i) => priceAt(Date.UTC(2026, 2, 9, 10, i * 5)));
    expect(body.points[0]).toMatchObject({
      start: '2026-03-09T10:00:00.000Z',
      end: '2026-03-09T11:00:00.000Z',
      count: 12,
      min_price_cents_kwh: Math.min(...prices),
      max_price_cents_kwh: Math.max(...prices),
    });
    expect(body.points[0].avg_price_cents_kwh).toBeCloseTo(prices.reduce((a, b) => a + b, 0) / 12, 9);
  });

  it('gives calendar days in the user time zone, 23 hours on the day DST starts', async () => {
    const { body } = await get(
      await app(),
      '/api/v1/price/history?resolution=day&from=2026-03-08T06:00:00Z&to=2026-03-10T05:00:00Z',
    );
    expect(body.time_zone).toBe('America/Chicago');
    expect(body.points.map((p: { start: string; end: string; count: number }) => [p.start, p.end, p.count])).toEqual([
      ['2026-03-08T06:00:00.000Z', '2026-03-09T05:00:00.000Z', 23 * 12],
      ['2026-03-09T05:00:00.000Z', '2026-03-10T05:00:00.000Z', 24 * 12],
    ]);
    const day1 = pricesBetween(Date.UTC(2026, 2, 8, 6), Date.UTC(2026, 2, 9, 5));
    expect(body.points[0].avg_price_cents_kwh).toBeCloseTo(
      day1.reduce((sum, p) => sum + p.priceCentsPerKwh, 0) / day1.length,
      9,
    );
  });

  it('refuses bad parameters naming the field', async () => {
    const api = await app();
    expect((await get(api, '/api/v1/price/history?from=2026-13-01')).body.message).toMatch(/^from: /);
    expect((await get(api, '/api/v1/price/history?resolution=day&tz=Mars/Olympus')).body).toMatchObject({
      statusCode: 400,
      message: 'tz: unknown time zone "Mars/Olympus"',
    });
    expect(
      (await get(api, '/api/v1/price/history?resolution=5min&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z')).body
        .message,
    ).toMatch(/^from: the range is longer than 31 days/);
  });
});

describe('current price', () => {
  it('rebuilds the current price from InfluxDB when Redis has none', async () => {
    const { status, body } = await get(await app(), '/api/v1/price/current');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      source: 'influxdb',
      five_minute: { time: new Date(NOW).toISOString(), price_cents_kwh: priceAt(NOW) },
      feed_time: new Date(NOW).toISOString(),
      stale: false,
    });
  });

  it('serves the cached price and judges staleness at read time', async () => {
    const cached = currentPrice(
      { timeMs: NOW, priceCentsPerKwh: 4.2 },
      runningAverageOf({ timeMs: NOW, priceCentsPerKwh: 3.9 }),
      NOW,
    );
    await stack.price.save(cached, true);
    const fresh = await eventually(async () => {
      const result = await get(await app(), '/api/v1/price/current');
      expect(result.body.source).toBe('live');
      return result.body;
    });
    expect(fresh).toEqual({ ...cached, source: 'live' });
    const later = await get(await app({}, NOW + 16 * 60_000), '/api/v1/price/current');
    expect(later.body).toMatchObject({ stale: true, five_minute: { price_cents_kwh: 4.2 } });
  });

  it('answers 404 when no price was ever recorded, and 503 when InfluxDB is down too', async () => {
    const empty = await createTestStack('api-price-empty');
    try {
      const api = await buildApp({ config: empty.config() });
      apps.push(api);
      expect(await get(api, '/api/v1/price/current')).toEqual({
        status: 404,
        body: { statusCode: 404, error: 'Not Found', message: 'no price has been recorded yet' },
      });
    } finally {
      await empty.close();
    }
    const down = await app({ INFLUXDB_URL: `http://127.0.0.1:${await freePort()}`, REDIS_KEY_PREFIX: 'nothing:' });
    expect((await get(down, '/api/v1/price/current')).status).toBe(503);
  });
});

describe('cheapest window', () => {
  it('finds the cheapest N hours of known prices before a deadline, checked by brute force', async () => {
    const from = Date.UTC(2026, 2, 9, 0, 0);
    const before = Date.UTC(2026, 2, 9, 14, 0);
    const { status, body } = await get(
      await app(),
      `/api/v1/price/cheapest-window?hours=3&from=${new Date(from).toISOString()}&before=${new Date(before).toISOString()}`,
    );
    expect(status).toBe(200);
    // Every window of 36 five-minute slots inside the range, averaged here independently.
    let best = { start: 0, avg: Number.POSITIVE_INFINITY };
    for (let start = from; start + 3 * 3_600_000 <= before; start += 300_000) {
      let sum = 0;
      // The window starting at `start` holds the prices stamped start .. start + 2 h 55 min.
      for (let slot = 0; slot < 36; slot++) sum += priceAt(start + slot * 300_000);
      if (sum / 36 < best.avg - 1e-12) best = { start, avg: sum / 36 };
    }
    expect(body.window.start).toBe(new Date(best.start).toISOString());
    expect(body.window.end).toBe(new Date(best.start + 3 * 3_600_000).toISOString());
    expect(body.window.avg_price_cents_kwh).toBeCloseTo(best.avg, 9);
  });

  it('answers null when no complete window fits, and 400 naming the field for bad input', async () => {
    const api = await app();
    const empty = await get(
      api,
      '/api/v1/price/cheapest-window?hours=3&from=2025-01-01T00:00:00Z&before=2025-01-01T12:00:00Z',
    );
    expect(empty.status).toBe(200);
    expect(empty.body.window).toBeNull();
    const tooLong = await get(api, '/api/v1/price/cheapest-window?hours=25');
    expect(tooLong.status).toBe(400);
    expect(JSON.stringify(tooLong.body)).toMatch(/hours/);
    const reversed = await get(
      api,
      '/api/v1/price/cheapest-window?from=2026-03-09T10:00:00Z&before=2026-03-09T09:00:00Z',
    );
    expect(reversed.status).toBe(400);
    expect(JSON.stringify(reversed.body)).toMatch(/before/);
  });
});
