import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from '../../src/app.js';
import { createTestStack, type TestStack } from '../seed.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
let stack: TestStack;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  stack = await createTestStack('api-auth');
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await stack.close();
});

async function app(env: Record<string, string>): Promise<FastifyInstance> {
  const built = await buildApp({ config: stack.config(env) });
  apps.push(built);
  return built;
}

/** An HS256 JWT, built by hand so the test does not trust the code under test to sign. */
function jwt(payload: Record<string, unknown>, secret = SECRET): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(payload)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

const PROTECTED = ['/api/v1/chargers', '/api/v1/price/current', '/api/v1/export/csv?dataset=prices'];

describe('auth off (default)', () => {
  it('serves data without credentials', async () => {
    const api = await app({});
    expect((await api.inject({ method: 'GET', url: '/api/v1/chargers' })).statusCode).toBe(200);
  });
});

describe('auth with API keys', () => {
  it('refuses requests without a valid key (401) and keeps the probes open', async () => {
    const api = await app({ AUTH_MODE: 'apikey', API_KEYS: 'key-one-0123456789, key-two-0123456789' });
    for (const url of PROTECTED) {
      const response = await api.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.json()).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: 'missing or invalid credentials',
      });
      const wrong = await api.inject({ method: 'GET', url, headers: { 'x-api-key': 'key-three-0123456789' } });
      expect(wrong.statusCode, url).toBe(401);
    }
    expect((await api.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect((await api.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
  });

  it('accepts a key as header, bearer token or query parameter', async () => {
    const api = await app({ AUTH_MODE: 'apikey', API_KEYS: 'key-one-0123456789, key-two-0123456789' });
    const ok = [
      { headers: { 'x-api-key': 'key-two-0123456789' }, url: '/api/v1/chargers' },
      { headers: { authorization: 'Bearer key-one-0123456789' }, url: '/api/v1/chargers' },
      { headers: {}, url: '/api/v1/chargers?token=key-one-0123456789' },
    ];
    for (const request of ok) {
      expect((await api.inject({ method: 'GET', ...request })).statusCode).toBe(200);
    }
  });

  it('needs the key on the WebSocket too', async () => {
    const api = await app({ AUTH_MODE: 'apikey', API_KEYS: 'key-one-0123456789' });
    await api.listen({ host: '127.0.0.1', port: 0 });
    const url = `ws://127.0.0.1:${(api.server.address() as AddressInfo).port}/ws/live`;
    const socket = new WebSocket(url);
    // Closing a socket the server refused reports "closed before the connection was established".
    socket.on('error', () => {});
    const refused = await new Promise<number>((resolve) => {
      socket.on('unexpected-response', (request, response) => {
        // Handling this event makes the caller responsible for the connection (ws docs).
        request.destroy();
        resolve(response.statusCode ?? 0);
      });
      socket.on('open', () => resolve(101));
    });
    socket.terminate();
    expect(refused).toBe(401);
    const accepted = new WebSocket(`${url}?token=key-one-0123456789`);
    const first = await new Promise<string>((resolve, reject) => {
      accepted.once('message', (raw) => resolve(String(raw)));
      accepted.once('error', reject);
    });
    expect(JSON.parse(first)).toEqual({ type: 'subscribed', subscription: 'all' });
    accepted.terminate();
  });
});

describe('auth with JWT', () => {
  it('accepts an HS256 token signed with JWT_SECRET and refuses others', async () => {
    const api = await app({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET });
    const good = jwt({ sub: 'dashboard', exp: Math.floor(Date.now() / 1000) + 600 });
    const expired = jwt({ sub: 'dashboard', exp: Math.floor(Date.now() / 1000) - 600 });
    const forged = jwt({ sub: 'dashboard' }, 'another-secret-that-is-long-enough-too');
    const status = async (token?: string) =>
      (
        await api.inject({
          method: 'GET',
          url: '/api/v1/chargers',
          headers: token ? { authorization: `Bearer ${token}` } : {},
        })
      ).statusCode;
    expect(await status(good)).toBe(200);
    expect(await status(expired)).toBe(401);
    expect(await status(forged)).toBe(401);
    expect(await status()).toBe(401);
    expect((await api.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('refuses to start without a secret', () => {
    expect(() => stack.config({ AUTH_MODE: 'jwt' })).toThrow(/is required when AUTH_MODE=jwt\n\s+→ at JWT_SECRET/);
  });
});

describe('failed authentication', () => {
  it('is counted per client and slowed, then refused with 429 before the key is looked at', async () => {
    const api = await app({ AUTH_MODE: 'apikey', API_KEYS: 'the-real-key-0123456789' });
    const attempt = (key: string, remoteAddress = '10.9.0.1') =>
      api.inject({ method: 'GET', url: '/api/v1/chargers', remoteAddress, headers: { 'x-api-key': key } });
    const started = Date.now();
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) codes.push((await attempt(`guess-${i}-0123456789abcdef`)).statusCode);
    // Ten failures a minute are answered (each later than the one before: 0.2 s, 0.4 s, ... 2 s).
    expect(codes).toEqual([...Array(10).fill(401), 429, 429]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(10_000);
    // Even the right key waits out the block: guessing cannot continue meanwhile.
    const blocked = await attempt('the-real-key-0123456789');
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // Another client is not affected.
    expect((await attempt('the-real-key-0123456789', '10.9.0.2')).statusCode).toBe(200);
  }, 30_000);
});

describe('key and secret strength at start-up', () => {
  it.each([
    ['API_KEYS', { AUTH_MODE: 'apikey', API_KEYS: 'k' }],
    ['API_KEYS', { AUTH_MODE: 'apikey', API_KEYS: 'a-good-key-0123456789,short' }],
    ['API_KEYS', { AUTH_MODE: 'apikey', API_KEYS: 'aaaaaaaaaaaaaaaaaaaaaaaa' }],
    ['JWT_SECRET', { AUTH_MODE: 'jwt', JWT_SECRET: 'ab'.repeat(20) }],
  ])('refuses a weak %s, naming it', (name, env) => {
    expect(() => stack.config(env)).toThrow(new RegExp(`→ at ${name}`));
  });
});

describe('JWT lifetime', () => {
  const nowS = () => Math.floor(Date.now() / 1000);
  const status = async (api: FastifyInstance, token: string) =>
    (await api.inject({ method: 'GET', url: '/api/v1/chargers', headers: { authorization: `Bearer ${token}` } }))
      .statusCode;

  it('needs exp: a token without one would be valid until the secret changes', async () => {
    const api = await app({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET });
    expect(await status(api, jwt({ sub: 'dashboard' }))).toBe(401);
    expect(await status(api, jwt({ sub: 'dashboard', iat: nowS() }))).toBe(401);
    expect(await status(api, jwt({ sub: 'dashboard', iat: nowS(), exp: nowS() + 3600 }))).toBe(200);
  });

  it('refuses a token meant to live longer than JWT_MAX_AGE_S, or issued longer ago', async () => {
    const api = await app({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET, JWT_MAX_AGE_S: '86400' });
    expect(await status(api, jwt({ sub: 'ha', exp: nowS() + 86_000 }))).toBe(200);
    expect(await status(api, jwt({ sub: 'ha', exp: nowS() + 2 * 86_400 }))).toBe(401);
    expect(await status(api, jwt({ sub: 'ha', iat: nowS(), exp: nowS() + 10 * 86_400 }))).toBe(401);
    // Issued two days ago with a long exp: too old.
    expect(await status(api, jwt({ sub: 'ha', iat: nowS() - 2 * 86_400, exp: nowS() + 3600 }))).toBe(401);
  });
});
