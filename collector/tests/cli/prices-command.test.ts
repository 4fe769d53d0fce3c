// The `twc prices` command (src/cli/commands/prices.ts), against the local ComEd server.

import type { PricePoint } from '@twc/core/prices/comed-parse';
import { silentLogger } from '@twc/runtime/logger';
import { afterEach, describe, expect, it } from 'vitest';
import { pricesCommand, runPricesCommand } from '../../src/cli/commands/prices.js';
import { type ComedServer, createComedServer } from '../../src/simulator/comed-server.js';

const MIN5 = 300_000;
const START = Date.UTC(2026, 0, 15, 18, 0); // 12:00 CST

let servers: ComedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
});

async function serve(prices: PricePoint[]): Promise<{ server: ComedServer; url: string }> {
  const server = createComedServer({ now: () => Date.UTC(2026, 10, 28), prices });
  servers.push(server);
  return { server, ...(await server.start()) };
}

async function run(argv: string[], env: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runPricesCommand(argv, {
    env,
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    logger: silentLogger(),
    pieceSpacingMs: 0,
  });
  return { code, stdout, stderr };
}

// Stamped 12:00 through 13:05 CST: the full hour ending 13:00 (12:00 .. 12:55) and two prices of the next one.
const prices: PricePoint[] = [2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7, 2.8, 2.9, 3.0, 3.1, -0.5, 1.5].map(
  (price, i) => ({ timeMs: START + i * MIN5, priceCentsPerKwh: price }),
);

describe('twc prices', () => {
  it('prints the 5-minute prices starting inside the range and the averages of their hours', async () => {
    const { url } = await serve(prices);
    const result = await run(['--from', '2026-01-15T18:00:00Z', '--to', '2026-01-15T13:10:00-06:00', '--api-url', url]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      five_minute: [
        { time: '2026-01-15T18:00:00.000Z', price_cents_kwh: 2.0 },
        { time: '2026-01-15T18:05:00.000Z', price_cents_kwh: 2.1 },
        { time: '2026-01-15T18:10:00.000Z', price_cents_kwh: 2.2 },
        { time: '2026-01-15T18:15:00.000Z', price_cents_kwh: 2.3 },
        { time: '2026-01-15T18:20:00.000Z', price_cents_kwh: 2.4 },
        { time: '2026-01-15T18:25:00.000Z', price_cents_kwh: 2.5 },
        { time: '2026-01-15T18:30:00.000Z', price_cents_kwh: 2.6 },
        { time: '2026-01-15T18:35:00.000Z', price_cents_kwh: 2.7 },
        { time: '2026-01-15T18:40:00.000Z', price_cents_kwh: 2.8 },
        { time: '2026-01-15T18:45:00.000Z', price_cents_kwh: 2.9 },
        { time: '2026-01-15T18:50:00.000Z', price_cents_kwh: 3.0 },
        { time: '2026-01-15T18:55:00.000Z', price_cents_kwh: 3.1 },
        { time: '2026-01-15T19:00:00.000Z', price_cents_kwh: -0.5 },
        { time: '2026-01-15T19:05:00.000Z', price_cents_kwh: 1.5 },
      ],
      hourly: [
        { hour_ending: '2026-01-15T19:00:00.000Z', avg_price: 2.55, min_price: 2.0, max_price: 3.1, count: 12 },
        { hour_ending: '2026-01-15T20:00:00.000Z', avg_price: 0.5, min_price: -0.5, max_price: 1.5, count: 2 },
      ],
    });
  });

  it('keeps the price stamped exactly at --from and leaves out the one stamped at --to', async () => {
    const { url } = await serve(prices);
    const result = await run(['--from', '2026-01-15T18:05:00Z', '--to', '2026-01-15T18:15:00Z', '--api-url', url]);
    expect(JSON.parse(result.stdout).five_minute.map((p: { time: string }) => p.time)).toEqual([
      '2026-01-15T18:05:00.000Z',
      '2026-01-15T18:10:00.000Z',
    ]);
  });

  it('reads COMED_API_URL from the environment, and --api-url overrides it', async () => {
    const { server, url } = await serve(prices);
    const args = ['--from', '2026-01-15T18:00:00Z', '--to', '2026-01-15T18:30:00Z'];
    expect((await run(args, { COMED_API_URL: url })).code).toBe(0);
    expect(server.requests()).toHaveLength(1);
    const dead = 'http://127.0.0.1:9/api';
    expect((await run([...args, '--api-url', url], { COMED_API_URL: dead })).code).toBe(0);
    expect(server.requests()).toHaveLength(2);
  });

  it.each([
    [['--to', '2026-01-15T19:00:00Z'], '--from is required'],
    [['--from', '2026-01-15T18:00:00Z'], '--to is required'],
    [['--from', 'yesterday', '--to', '2026-01-15T19:00:00Z'], '--from must be an ISO-8601 time'],
    [['--from', '2026-01-15T18:00:00', '--to', '2026-01-15T19:00:00Z'], '--from must be an ISO-8601 time with a zone'],
    [['--from', '2026-02-30T18:00:00Z', '--to', '2026-03-15T19:00:00Z'], '--from must be an ISO-8601'],
    [['--from', '2026-01-15T18:00:00Z', '--to', '2026-01-15T24:00:00Z'], '--to must be an ISO-8601'],
    [
      ['--from', '2026-01-15T18:00:00Z', '--to', '2026-01-15T17:00:00Z'],
      '--from (2026-01-15T18:00:00Z) must be before --to',
    ],
    [
      ['--from', '2026-01-15T18:00:00Z', '--to', '2026-01-15T19:00:00Z', '--api-url', 'ftp://x'],
      '--api-url must be an http(s) URL',
    ],
    [['--from', '2026-01-15T18:00:00Z', '--to', '2026-01-15T19:00:00Z', '--since', 'x'], "'--since'"],
    [['--from', '2026-01-15T18:00:00Z', '--to', '2026-01-15T19:00:00Z', 'extra'], "'extra'"],
  ])('%j: exit 2, naming the option', async (argv, message) => {
    const result = await run(argv as string[]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('usage: twc prices');
  });

  it('names COMED_API_URL when that is the bad URL', async () => {
    const result = await run(['--from', '2026-01-15T18:00:00Z', '--to', '2026-01-15T19:00:00Z'], {
      COMED_API_URL: 'nope',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('COMED_API_URL must be an http(s) URL');
  });

  it.each([
    ['status-500', 'http_status'],
    ['html-200', 'not_json'],
  ] as const)('a feed failure (%s) is a clear message and exit 1', async (fault, kind) => {
    const { server, url } = await serve(prices);
    server.setFaults({ response: fault });
    const result = await run(['--from', '2026-01-15T18:00:00Z', '--to', '2026-01-15T19:00:00Z', '--api-url', url]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`twc prices: could not get prices from ComEd (${kind})`);
  });

  it('an unreachable API is exit 1', async () => {
    const result = await run([
      '--from',
      '2026-01-15T18:00:00Z',
      '--to',
      '2026-01-15T19:00:00Z',
      '--api-url',
      'http://127.0.0.1:9/api',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('(unreachable)');
  });

  it('is a twc command', () => {
    expect(pricesCommand.usage).toContain('twc prices --from');
    expect(pricesCommand.summary.length).toBeGreaterThan(0);
  });
});
