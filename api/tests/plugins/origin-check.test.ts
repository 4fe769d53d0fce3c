import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from '../../src/app.js';
import { isLocalHostname } from '../../src/plugins/external/origin-check.js';
import { createTestStack, type TestStack } from '../seed.js';

let stack: TestStack;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  stack = await createTestStack('api-origin');
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

describe('isLocalHostname', () => {
  it.each([
    ['192.168.1.20', true],
    ['::1', true],
    ['localhost', true],
    ['raspberrypi', true],
    ['api', true],
    ['twc.local', true],
    ['garage.home.arpa', true],
    ['router.lan', true],
    ['evil.example', false],
    ['192.168.1.20.nip.io', false],
    ['localhost.evil.example', false],
  ])('%s -> %s', (name, expected) => {
    expect(isLocalHostname(name)).toBe(expected);
  });
});

describe('the Host header (DNS rebinding)', () => {
  it('is answered for local names and refused (421) for a public name pointed at the API', async () => {
    const api = await app();
    const get = (host: string) => api.inject({ method: 'GET', url: '/api/v1/chargers', headers: { host } });
    for (const host of ['192.168.1.20:8000', 'raspberrypi:8000', 'twc.local:8000', '[::1]:8000', 'localhost']) {
      expect((await get(host)).statusCode, host).toBe(200);
    }
    const rebound = await get('rebind.evil.example:8000');
    expect(rebound.statusCode).toBe(421);
    expect(rebound.json().message).toContain('API_ALLOWED_HOSTS');
  });

  it('is answered for the names of API_ALLOWED_HOSTS, and for any with *', async () => {
    const named = await app({ API_ALLOWED_HOSTS: 'twc.example.com' });
    const get = (api: FastifyInstance, host: string) =>
      api.inject({ method: 'GET', url: '/api/v1/chargers', headers: { host } });
    expect((await get(named, 'twc.example.com')).statusCode).toBe(200);
    expect((await get(named, 'other.example.com')).statusCode).toBe(421);
    expect((await get(await app({ API_ALLOWED_HOSTS: '*' }), 'other.example.com')).statusCode).toBe(200);
  });
});

describe('the Origin of a WebSocket (cross-site WebSocket hijacking)', () => {
  async function open(api: FastifyInstance, origin?: string): Promise<number> {
    if (!api.server.listening) await api.listen({ host: '127.0.0.1', port: 0 });
    const port = (api.server.address() as AddressInfo).port;
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws/live`, origin ? { origin } : {});
    socket.on('error', () => {});
    const status = await new Promise<number>((resolve) => {
      socket.on('unexpected-response', (request, response) => {
        request.destroy();
        resolve(response.statusCode ?? 0);
      });
      socket.on('open', () => resolve(101));
    });
    socket.terminate();
    return status;
  }

  it("accepts the API's own pages and clients without an Origin, refuses other sites (403)", async () => {
    const api = await app();
    await api.listen({ host: '127.0.0.1', port: 0 });
    const port = (api.server.address() as AddressInfo).port;
    expect(await open(api, `http://127.0.0.1:${port}`)).toBe(101);
    expect(await open(api)).toBe(101);
    expect(await open(api, 'https://evil.example')).toBe(403);
    expect(await open(api, `http://127.0.0.1:${port + 1}`)).toBe(403);
    expect(await open(api, 'null')).toBe(403);
  });

  it('accepts the origins of CORS_ORIGINS', async () => {
    const api = await app({ CORS_ORIGINS: 'https://dash.example' });
    expect(await open(api, 'https://dash.example')).toBe(101);
    expect(await open(api, 'https://evil.example')).toBe(403);
  });
});
