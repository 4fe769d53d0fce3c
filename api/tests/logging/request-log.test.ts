import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { redactUrl } from '../../src/logging/request-log.js';
import { createTestStack, type TestStack } from '../seed.js';

describe('redactUrl', () => {
  it.each([
    ['/api/v1/chargers', '/api/v1/chargers'],
    ['/api/v1/chargers?token=abc.def.ghi', '/api/v1/chargers?token=[redacted]'],
    ['/ws/live?charger=A&token=k1&x=1', '/ws/live?charger=A&token=[redacted]&x=1'],
    ['/status?TOKEN=k1', '/status?TOKEN=[redacted]'],
    // The query parser decodes names, so `%74oken` is a token too.
    ['/status?%74oken=k1', '/status?%74oken=[redacted]'],
    [
      '/x?api_key=k&access_token=t&apikey=a&key=b',
      '/x?api_key=[redacted]&access_token=[redacted]&apikey=[redacted]&key=[redacted]',
    ],
    ['/x?token', '/x?token=[redacted]'],
    ['/x?tz=America/Chicago&from=2026-01-01', '/x?tz=America/Chicago&from=2026-01-01'],
    ['/x?%zz=1&token=s', '/x?%zz=1&token=[redacted]'],
  ])('%s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});

describe('the request log', () => {
  let stack: TestStack;
  let app: FastifyInstance;
  const lines: string[] = [];

  beforeAll(async () => {
    stack = await createTestStack('api-request-log');
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    app = await buildApp({
      config: stack.config({ AUTH_MODE: 'apikey', API_KEYS: 'first-api-key-0123456789abcdef' }),
      logger,
    });
  });
  afterAll(async () => {
    await app?.close();
    await stack.close();
  });

  it('never holds a credential sent in the query or in a header, accepted or refused', async () => {
    const key = 'first-api-key-0123456789abcdef';
    const wrong = 'wrong-api-key-0123456789abcdef';
    const answers = await Promise.all([
      app.inject({ method: 'GET', url: `/api/v1/chargers?token=${key}` }),
      app.inject({ method: 'GET', url: `/api/v1/chargers?token=${wrong}` }),
      app.inject({ method: 'GET', url: '/api/v1/chargers', headers: { authorization: `Bearer ${key}` } }),
      app.inject({ method: 'GET', url: '/api/v1/chargers', headers: { 'x-api-key': key } }),
      app.inject({ method: 'GET', url: `/api/v1/price/history?%74oken=${key}&resolution=hour` }),
    ]);
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 401, 200, 200, 200]);
    const log = lines.join('\n');
    expect(log).not.toContain(key);
    expect(log).not.toContain(wrong);
    const urls = lines
      .map((line) => JSON.parse(line) as { req?: { url?: string } })
      .map((entry) => entry.req?.url)
      .filter(Boolean);
    // Every request is still logged with its path and the parameters that are not credentials.
    expect(urls).toContain('/api/v1/chargers?token=[redacted]');
    expect(urls).toContain('/api/v1/price/history?%74oken=[redacted]&resolution=hour');
    expect(urls.filter((url) => url === '/api/v1/chargers')).toHaveLength(2);
  });
});
