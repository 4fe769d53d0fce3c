import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createTestStack, type TestStack } from '../seed.js';

let stack: TestStack;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  stack = await createTestStack('api-rate');
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await stack.close();
});

async function app(): Promise<FastifyInstance> {
  const built = await buildApp({
    config: stack.config({ RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_S: '60' }),
  });
  apps.push(built);
  return built;
}

describe('rate limit', () => {
  it('answers 429 with Retry-After past the limit, counted in Redis across replicas', async () => {
    const [replicaA, replicaB] = [await app(), await app()];
    const get = (api: FastifyInstance, ip: string) =>
      api.inject({ method: 'GET', url: '/api/v1/chargers', remoteAddress: ip });
    expect((await get(replicaA, '10.0.0.1')).statusCode).toBe(200);
    expect((await get(replicaB, '10.0.0.1')).statusCode).toBe(200);
    expect((await get(replicaA, '10.0.0.1')).statusCode).toBe(200);
    const limited = await get(replicaB, '10.0.0.1');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    // Another client has its own count; the probes are never limited.
    expect((await get(replicaA, '10.0.0.2')).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) {
      expect((await replicaA.inject({ method: 'GET', url: '/health', remoteAddress: '10.0.0.1' })).statusCode).toBe(
        200,
      );
    }
  });
});
