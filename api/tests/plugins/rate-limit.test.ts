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

describe('who the rate limit counts', () => {
  async function limited(env: Record<string, string> = {}): Promise<FastifyInstance> {
    const built = await buildApp({
      config: stack.config({ RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_S: '60', ...env }),
    });
    apps.push(built);
    return built;
  }

  it('is not walked around with a different X-Forwarded-For each time (no proxy trusted by default)', async () => {
    const api = await limited();
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) {
      const answer = await api.inject({
        method: 'GET',
        url: '/api/v1/chargers',
        remoteAddress: '10.1.0.1',
        headers: { 'x-forwarded-for': `198.51.100.${i}` },
      });
      codes.push(answer.statusCode);
    }
    expect(codes).toEqual([200, 200, 200, 429, 429, 429, 429, 429]);
  });

  it('takes the client from X-Forwarded-For when the request comes from the proxy named in TRUST_PROXY', async () => {
    const api = await limited({ TRUST_PROXY: '10.2.0.1' });
    const viaProxy = (client: string) =>
      api.inject({
        method: 'GET',
        url: '/api/v1/chargers',
        remoteAddress: '10.2.0.1',
        headers: { 'x-forwarded-for': client },
      });
    for (let i = 0; i < 3; i++) expect((await viaProxy('198.51.100.1')).statusCode).toBe(200);
    expect((await viaProxy('198.51.100.1')).statusCode).toBe(429);
    expect((await viaProxy('198.51.100.2')).statusCode).toBe(200);
    // A client that is not the proxy cannot name itself someone else.
    const direct = (client: string) =>
      api.inject({
        method: 'GET',
        url: '/api/v1/chargers',
        remoteAddress: '10.2.0.9',
        headers: { 'x-forwarded-for': client },
      });
    for (let i = 0; i < 3; i++) expect((await direct(`198.51.100.${10 + i}`)).statusCode).toBe(200);
    expect((await direct('198.51.100.20')).statusCode).toBe(429);
  });

  it('with auth off, a made-up credential on each request buys no fresh count', async () => {
    const api = await limited();
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const answer = await api.inject({
        method: 'GET',
        url: `/api/v1/chargers?token=made-up-${i}`,
        remoteAddress: '10.3.0.1',
        headers: { authorization: `Bearer other-${i}`, 'x-api-key': `key-${i}` },
      });
      codes.push(answer.statusCode);
    }
    expect(codes).toEqual([200, 200, 200, 429, 429, 429]);
  });

  it('with auth on, counts each verified key apart, even from one address', async () => {
    const api = await limited({ AUTH_MODE: 'apikey', API_KEYS: 'household-key-0123456789,garage-key-0123456789' });
    const get = (key: string) =>
      api.inject({ method: 'GET', url: '/api/v1/chargers', remoteAddress: '10.4.0.1', headers: { 'x-api-key': key } });
    for (let i = 0; i < 3; i++) expect((await get('household-key-0123456789')).statusCode).toBe(200);
    expect((await get('household-key-0123456789')).statusCode).toBe(429);
    expect((await get('garage-key-0123456789')).statusCode).toBe(200);
  });

  it('refuses a TRUST_PROXY that is not an address or network, naming it', () => {
    expect(() => stack.config({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
    expect(() => stack.config({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(/TRUST_PROXY/);
    expect(stack.config({ TRUST_PROXY: '172.18.0.0/16, loopback, ::1' }).http.trustProxy).toEqual([
      '172.18.0.0/16',
      'loopback',
      '::1',
    ]);
  });
});
