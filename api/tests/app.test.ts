import { freePort } from '@twc/testenv';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createTestStack, type TestStack } from './seed.js';

let stack: TestStack;
const apps: FastifyInstance[] = [];
beforeAll(async () => {
  stack = await createTestStack('api-app');
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await stack.close();
});

async function app(env: Record<string, string> = {}): Promise<FastifyInstance> {
  const built = await buildApp({ config: stack.config(env) });
  apps.push(built);
  return built;
}

describe('api app', () => {
  it('answers the liveness probe', async () => {
    const response = await (await app()).inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('is ready when InfluxDB and Redis answer', async () => {
    const response = await (await app()).inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', influxdb: true, redis: true });
  });

  it('is not ready (503) when Redis is down, and says which part is missing', async () => {
    const response = await (await app({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` })).inject({
      method: 'GET',
      url: '/ready',
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ status: 'not_ready', influxdb: true, redis: false });
  });

  it('is not ready (503) when InfluxDB is down', async () => {
    const response = await (await app({ INFLUXDB_URL: `http://127.0.0.1:${await freePort()}` })).inject({
      method: 'GET',
      url: '/ready',
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ status: 'not_ready', influxdb: false, redis: true });
  });

  it('answers 404 with a JSON error for an unknown route', async () => {
    const response = await (await app()).inject({ method: 'GET', url: '/nope?x=1' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ statusCode: 404, error: 'Not Found', message: 'no route GET /nope' });
  });

  it('names the field of a bad parameter (400) and never sends a stack trace', async () => {
    const response = await (await app()).inject({ method: 'GET', url: '/api/v1/price/history?resolution=week' });
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.message).toMatch(/^resolution: /);
    expect(response.body).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('answers 503 with a clear message when InfluxDB is down, and keeps the details out', async () => {
    const response = await (await app({ INFLUXDB_URL: `http://127.0.0.1:${await freePort()}` })).inject({
      method: 'GET',
      url: '/api/v1/price/history?resolution=hour',
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'InfluxDB is unreachable',
    });
  });

  it('serves the OpenAPI document generated from the route schemas, and the interactive docs', async () => {
    const api = await app();
    const response = await api.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toBe('3.1.0');
    for (const path of [
      '/api/v1/chargers',
      '/api/v1/chargers/{id}/status',
      '/api/v1/chargers/{id}/sessions',
      '/api/v1/price/current',
      '/api/v1/price/history',
      '/api/v1/cost/session/{id}',
      '/api/v1/cost/summary',
      '/health',
      '/ready',
    ]) {
      expect(Object.keys(document.paths)).toContain(path);
    }
    const history = document.paths['/api/v1/price/history'].get;
    const resolution = history.parameters.find((p: { name: string }) => p.name === 'resolution');
    expect(resolution.schema.enum).toEqual(['5min', 'hour', 'day']);
    const docs = await api.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/text\/html/);
  });
});

describe('cors', () => {
  it('is off unless CORS_ORIGINS names origins', async () => {
    const closed = await app();
    const noCors = await closed.inject({ method: 'GET', url: '/health', headers: { origin: 'https://x.example' } });
    expect(noCors.headers['access-control-allow-origin']).toBeUndefined();
    const open = await app({ CORS_ORIGINS: 'https://x.example' });
    const allowed = await open.inject({ method: 'GET', url: '/health', headers: { origin: 'https://x.example' } });
    expect(allowed.headers['access-control-allow-origin']).toBe('https://x.example');
    const other = await open.inject({ method: 'GET', url: '/health', headers: { origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
