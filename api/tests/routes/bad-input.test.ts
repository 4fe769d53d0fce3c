/**
 * Odd but well-formed requests are a 4xx naming the parameter, never a 5xx
 * and never InfluxDB's words: days a zone skipped, times past InfluxDB's
 * range, control characters in ids and parameters.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { CHARGER_ID, chargerStatus, createTestStack, type TestStack } from '../seed.js';

let stack: TestStack;
let app: FastifyInstance;

beforeAll(async () => {
  stack = await createTestStack('api-bad-input');
  stack.live.publishStatus(chargerStatus());
  app = await buildApp({ config: stack.config() });
});
afterAll(async () => {
  await app?.close();
  await stack.close();
});

async function get(url: string) {
  const response = await app.inject({ method: 'GET', url });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

/** Words of InfluxDB's answers that must never reach a client. */
const INFLUX_WORDS = /compil|flux|error @|internal error|influx/i;

function expectBadRequest(answer: { status: number; body: Record<string, unknown> }, parameter: string) {
  expect(answer.status, JSON.stringify(answer.body)).toBe(400);
  expect(String(answer.body.message)).toMatch(new RegExp(`^${parameter}: `));
  expect(String(answer.body.message)).not.toMatch(INFLUX_WORDS);
}

describe('days a time zone skipped', () => {
  it.each([
    ['2011-12-30', 'Pacific/Apia'],
    ['1993-08-21', 'Pacific/Kwajalein'],
  ])('%s in %s is a 400 naming date', async (date, tz) => {
    const answer = await get(`/api/v1/cost/summary?period=day&date=${date}&tz=${tz}`);
    expectBadRequest(answer, 'date');
    expect(answer.body.message).toContain('does not exist');
  });

  it('the day before a skipped day ends where the day after starts (24 hours)', async () => {
    const answer = await get('/api/v1/cost/summary?period=day&date=1993-08-20&tz=Pacific/Kwajalein');
    expect(answer.status).toBe(200);
    const current = answer.body.current as { start: string; end: string; hours: number };
    // 1993-08-20 00:00 at UTC-12, to 1993-08-22 00:00 at UTC+12.
    expect(current).toMatchObject({ start: '1993-08-20T12:00:00.000Z', end: '1993-08-21T12:00:00.000Z', hours: 24 });
  });

  it('the day after a skipped day has the day before that as its previous day', async () => {
    const answer = await get('/api/v1/cost/summary?period=day&date=2011-12-31&tz=Pacific/Apia');
    expect(answer.status).toBe(200);
    expect(answer.body.previous).toMatchObject({ start_date: '2011-12-29', end_date: '2011-12-29', hours: 24 });
  });

  it('a week and a month holding a skipped day are six days and 30 days long', async () => {
    const week = await get('/api/v1/cost/summary?period=week&date=2011-12-28&tz=Pacific/Apia');
    expect(week.status).toBe(200);
    expect(week.body.current).toMatchObject({ start_date: '2011-12-26', end_date: '2012-01-01', hours: 6 * 24 });
    const month = await get('/api/v1/cost/summary?period=month&date=1993-08-01&tz=Pacific/Kwajalein');
    expect(month.status).toBe(200);
    expect(month.body.current).toMatchObject({ hours: 30 * 24 });
  });

  it('day prices across a skipped day are answered', async () => {
    const answer = await get(
      '/api/v1/price/history?resolution=day&from=2011-12-28T00:00:00Z&to=2012-01-02T00:00:00Z&tz=Pacific/Apia',
    );
    expect(answer.status).toBe(200);
  });
});

describe('times outside the range InfluxDB stores (1677-09-21 to 2262-04-11)', () => {
  it('a session id whose time JavaScript cannot even represent is a 400 naming id', async () => {
    expectBadRequest(await get('/api/v1/cost/session/PGT15945152000-9999999999999999'), 'id');
    expectBadRequest(await get('/api/v1/cost/session/PGT15945152000-9300000000000'), 'id');
  });

  it.each([
    ['/api/v1/price/history?from=2262-05-01T00:00:00Z&to=2262-05-02T00:00:00Z', 'from'],
    ['/api/v1/price/history?from=2262-04-01T00:00:00Z&to=9999-12-31T00:00:00Z&resolution=day', 'to'],
    ['/api/v1/price/history?from=1600-01-01T00:00:00Z&to=1600-01-02T00:00:00Z', 'from'],
    [`/api/v1/chargers/${CHARGER_ID}/sessions?to=9999-01-01T00:00:00Z`, 'to'],
    ['/api/v1/price/cheapest-window?from=2300-01-01T00:00:00Z&before=2300-01-02T00:00:00Z', 'from'],
    ['/api/v1/export/csv?dataset=prices&from=2263-01-01T00:00:00Z&to=2263-01-02T00:00:00Z', 'from'],
    ['/api/v1/cost/summary?period=year&date=9999-01-01', 'date'],
    ['/api/v1/cost/summary?period=day&date=2262-04-12', 'date'],
    ['/api/v1/export/report?month=9999-01', 'month'],
  ])('%s is a 400 naming %s', async (url, parameter) => {
    expectBadRequest(await get(url), parameter);
  });

  it('the last year InfluxDB holds whole is answered', async () => {
    expect((await get('/api/v1/cost/summary?period=year&date=2261-06-01')).status).toBe(200);
    expect((await get('/api/v1/price/history?from=2262-04-10T00:00:00Z&to=2262-04-11T00:00:00Z')).status).toBe(200);
  });
});

describe('control characters', () => {
  it.each([
    [`/api/v1/chargers/${CHARGER_ID}%00x/status`, 'id'],
    [`/api/v1/chargers/${CHARGER_ID}%00/sessions`, 'id'],
    [`/api/v1/cost/session/${CHARGER_ID}%00-1768500000000`, 'id'],
    [`/api/v1/cost/summary?charger=${CHARGER_ID}%00%22)`, 'charger'],
    ['/api/v1/cost/summary?tz=America/Chicago%00', 'tz'],
    [`/api/v1/export/csv?dataset=sessions&charger=a%01b`, 'charger'],
    [`/api/v1/export/csv?dataset=vitals&charger=a%0Ab`, 'charger'],
    ['/api/v1/price/history?resolution=hour&from=2026-01-01T00:00:00Z%00', 'from'],
    ['/api/v1/export/report?month=2026-01%7F', 'month'],
    ['/api/v1/reports/a%00.pdf', 'name'],
  ])('%s is a 400 naming %s', async (url, parameter) => {
    expectBadRequest(await get(url), parameter);
  });

  it('a clean id still reaches the route', async () => {
    expect((await get(`/api/v1/chargers/${CHARGER_ID}/status`)).status).not.toBe(400);
  });
});

describe("InfluxDB's own words", () => {
  it('never reach a client, even when InfluxDB refuses a query (our bug: a 500)', async () => {
    const probe = await buildApp({ config: stack.config() });
    try {
      probe.get('/probe', async () => probe.influx.rows('from(bucket: "nope") |> range(start: -1h) |> bogus('));
      const answer = await probe.inject({ method: 'GET', url: '/probe' });
      expect(answer.statusCode).toBe(500);
      expect(answer.json()).toEqual({
        statusCode: 500,
        error: 'Internal Server Error',
        message: 'Internal Server Error',
      });
    } finally {
      await probe.close();
    }
  });
});
