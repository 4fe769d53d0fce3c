/**
 * Redis stalled (SIGSTOP: a paused or swapping Redis keeps its connections
 * and answers nothing), Redis restarted empty, InfluxDB stalled: every route
 * answers within seconds, degraded or 503, and live data is back within
 * seconds of Redis.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedisLiveState, type LiveState } from '@twc/collector/collector/redis-live-state';
import { createRedisSessionStore, type SessionStore } from '@twc/collector/collector/session-store';
import type { LiveVitals } from '@twc/core/contracts/redis';
import { silentLogger } from '@twc/runtime/logger';
import { type RedisServer, startRedis } from '@twc/testenv';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
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
} from './seed.js';

const HOUR = 3_600_000;
let stack: TestStack;
let dir: string;
let redis: RedisServer;
let collector: LiveState;
let sessions: SessionStore;
let open: ChargeResult;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  stack = await createTestStack('api-outage');
  dir = mkdtempSync(join(tmpdir(), 'twc-api-outage-'));
  redis = await startRedis(dir);
  const logger = silentLogger();
  collector = createRedisLiveState({ url: redis.url, keyPrefix: stack.keyPrefix, logger });
  sessions = createRedisSessionStore({ url: redis.url, keyPrefix: stack.keyPrefix, logger });
  await Promise.all([collector.ready(5000), sessions.ready(5000)]);
  const nowMs = Date.now();
  const prices = pricesBetween(nowMs - 2 * 86_400_000, nowMs);
  await stack.prices(prices, nowMs);
  open = simulateCharge({ startMs: nowMs - HOUR, chargeMs: HOUR - 20_000, close: false, prices });
  await stack.write([
    ...open.vitals,
    {
      measurement: 'twc_version',
      tags: { charger_id: CHARGER_ID, charger_name: CHARGER_NAME },
      fields: { firmware_version: '24.44.1+g1ee2ee3c4a2d6a', part_number: '1529455-02-D', serial_number: CHARGER_ID },
      timeMs: nowMs - 2 * HOUR,
    },
  ]);
  collector.publishStatus(chargerStatus({ last_seen: new Date(nowMs - 60_000).toISOString() }));
  collector.publishVitals({ ...open.lastLive, time: new Date(nowMs).toISOString() });
  await sessions.publish(liveSessionOf(open));
});
afterAll(async () => {
  if (redis.process.pid) process.kill(redis.process.pid, 'SIGCONT');
  await Promise.all(apps.map((app) => app.close()));
  await collector.stop();
  await sessions.stop();
  await redis.stop();
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

async function app(env: Record<string, string> = {}): Promise<FastifyInstance> {
  const built = await buildApp({
    config: stack.config({ REDIS_URL: redis.url, RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_MAX: '1000', ...env }),
  });
  apps.push(built);
  return built;
}

const ROUTES = () => [
  '/health',
  '/ready',
  '/api/v1/chargers',
  `/api/v1/chargers/${CHARGER_ID}/status`,
  `/api/v1/chargers/${CHARGER_ID}/sessions`,
  '/api/v1/price/current',
  '/api/v1/price/history',
  '/api/v1/price/forecast',
  '/api/v1/price/cheapest-window',
  `/api/v1/cost/session/${open.session.id}`,
  '/api/v1/cost/summary',
  '/api/v1/export/csv?dataset=prices',
  '/api/v1/reports',
  '/',
];

/** Every route at once; each answer with the time it took. */
async function everyRoute(api: FastifyInstance) {
  return Promise.all(
    ROUTES().map(async (url) => {
      const started = Date.now();
      const response = await api.inject({ method: 'GET', url });
      return { url, status: response.statusCode, ms: Date.now() - started, body: response.body };
    }),
  );
}

const chargersOf = async (api: FastifyInstance) =>
  (await api.inject({ method: 'GET', url: '/api/v1/chargers' })).json() as {
    chargers: { source: string; online: boolean | null; last_seen: string | null }[];
  };

describe('a stalled Redis (SIGSTOP)', () => {
  it('every route answers within two seconds, from InfluxDB where it can, and recovers on SIGCONT', async () => {
    const api = await app();
    await api.ready();
    expect((await chargersOf(api)).chargers[0]?.source).toBe('live');
    const pid = redis.process.pid as number;
    process.kill(pid, 'SIGSTOP');
    try {
      const answers = await everyRoute(api);
      for (const answer of answers) {
        expect(answer.ms, `${answer.url} took ${answer.ms} ms`).toBeLessThan(2000);
        expect(answer.status, answer.url).toBeLessThan(600);
      }
      const byUrl = new Map(answers.map((answer) => [answer.url, answer]));
      expect(byUrl.get('/ready')?.status).toBe(503);
      expect(byUrl.get('/health')?.status).toBe(200);
      const chargers = JSON.parse(byUrl.get('/api/v1/chargers')?.body ?? '{}');
      expect(chargers.chargers[0]).toMatchObject({ id: CHARGER_ID, source: 'influxdb' });
      // The open session is only in Redis: unknown now, not absent.
      expect(byUrl.get(`/api/v1/cost/session/${open.session.id}`)?.status).toBe(503);
      expect(byUrl.get('/api/v1/price/current')?.status).toBe(200);
      // Later requests do not each wait out the timeout again.
      const started = Date.now();
      for (let i = 0; i < 20; i++) await api.inject({ method: 'GET', url: '/api/v1/price/current' });
      expect(Date.now() - started).toBeLessThan(4000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await eventually(async () => expect((await chargersOf(api)).chargers[0]?.source).toBe('live'), 5000);
    const session = await api.inject({ method: 'GET', url: `/api/v1/cost/session/${open.session.id}` });
    expect(session.statusCode).toBe(200);
  });
});

describe('a Redis restarted empty', () => {
  it('live chargers are back with the next vitals sample, online and last seen then', async () => {
    const api = await app();
    await api.ready();
    await redis.stop();
    await redis.restart();
    // The collector polls every 5 s; here faster, until its connection is back too.
    let sample: LiveVitals = open.lastLive;
    const timer = setInterval(() => {
      sample = { ...open.lastLive, time: new Date().toISOString() };
      collector.publishVitals(sample);
    }, 250);
    try {
      const charger = await eventually(async () => {
        const [first] = (await chargersOf(api)).chargers;
        expect(first).toMatchObject({ source: 'live', online: true });
        return first;
      }, 8000);
      expect(Date.parse(charger?.last_seen ?? '')).toBeGreaterThan(Date.now() - 2000);
    } finally {
      clearInterval(timer);
    }
  });
});

describe('a stalled InfluxDB', () => {
  let blackHole: Server;
  const held: Socket[] = [];
  beforeAll(async () => {
    // A paused InfluxDB: the kernel accepts connections, nothing answers.
    blackHole = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => blackHole.close(resolve));
  });

  it('routes answer 503 after INFLUXDB_QUERY_TIMEOUT_MS, not after INFLUXDB_TIMEOUT_MS', async () => {
    const address = blackHole.address() as { port: number };
    const api = await app({
      INFLUXDB_URL: `http://127.0.0.1:${address.port}`,
      INFLUXDB_TIMEOUT_MS: '30000',
      INFLUXDB_QUERY_TIMEOUT_MS: '1500',
    });
    await api.ready();
    const started = Date.now();
    const [history, summary] = await Promise.all([
      api.inject({ method: 'GET', url: '/api/v1/price/history' }),
      api.inject({ method: 'GET', url: '/api/v1/cost/summary' }),
    ]);
    const tookMs = Date.now() - started;
    expect(history.statusCode).toBe(503);
    expect(summary.statusCode).toBe(503);
    expect(history.json().message).toBe('InfluxDB did not answer in time');
    expect(tookMs).toBeGreaterThanOrEqual(1400);
    expect(tookMs).toBeLessThan(5000);
  });
});
