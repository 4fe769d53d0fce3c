import { freePort } from '@twc/testenv';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { comedServerCommand, parseComedServerArgs, runComedServer } from '../../src/cli/commands/comed-server.js';
import { generatedPriceCents } from '../../src/simulator/comed-server.js';
import { failureOf, httpRequest } from '../simulator/http.js';
import { must } from '../simulator/must.js';
import { captureStdio } from './run-command.js';

const MIN5 = 300_000;

interface Printed {
  url: string;
  control: string;
}

afterEach(() => {
  vi.restoreAllMocks();
});

/** Captures stdout and stderr; `printed()` resolves with the first JSON line on stdout. */
function captureOutput() {
  const io = captureStdio();
  return {
    stdout: io.stdout,
    stderr: io.stderr,
    async printed(): Promise<Printed> {
      for (let i = 0; i < 200 && !io.stdout().includes('\n'); i += 1) await new Promise((r) => setTimeout(r, 10));
      return JSON.parse(io.stdout().split('\n')[0] ?? '') as Printed;
    },
  };
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await request(url);
  return { status: response.statusCode, body: await response.body.text() };
}

async function post(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.statusCode, body: await response.body.json() };
}

/** How a fresh connection to `url` fails (ECONNREFUSED once it stopped), or "answered <status>". */
function failureAt(url: string): Promise<string> {
  const { host, pathname, search } = new URL(url);
  return failureOf(httpRequest(host, `${pathname}${search}`));
}

describe('twc comed-server', () => {
  it("prints both addresses once listening, publishes the prices of the simulator's clock, obeys its control server, and stops on SIGTERM", async () => {
    const output = captureOutput();
    const sigtermBefore = process.listeners('SIGTERM');
    // Simulated time starts at 18:02 UTC on 2026-11-28 and runs 60 times faster than real time.
    const simStartMs = Date.UTC(2026, 10, 28, 18, 2);
    const run = comedServerCommand.run([
      '--seed',
      '7',
      '--sim-start-ms',
      String(simStartMs),
      '--real-start-ms',
      String(Date.now()),
      '--acceleration',
      '60',
    ]);
    const printed = await output.printed();
    expect(printed.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
    expect(printed.control).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const feed = await get(`${printed.url}?type=5minutefeed`);
    expect(feed.status).toBe(200);
    const entries = JSON.parse(feed.body) as { millisUTC: string; price: string }[];
    const newestMs = Number(must(entries[0]).millisUTC);
    // The newest price is of the simulated time (at most a few simulated minutes on), not of today.
    expect(newestMs).toBeGreaterThanOrEqual(Date.UTC(2026, 10, 28, 18, 0));
    expect(newestMs).toBeLessThan(simStartMs + 30 * MIN5);
    expect(Number(must(entries[0]).price)).toBe(generatedPriceCents(7, newestMs));

    // GET /prices: the stand-in's own price of every stamp in [from, to).
    const from = Date.UTC(2026, 10, 28, 12, 1);
    const prices = await get(`${printed.control}/prices?from=${from}&to=${from + 3 * MIN5}`);
    expect(JSON.parse(prices.body)).toEqual(
      [1, 2, 3].map((i) => {
        const stamp = Date.UTC(2026, 10, 28, 12, 0) + i * MIN5;
        return [stamp, generatedPriceCents(7, stamp)];
      }),
    );
    expect((await get(`${printed.control}/prices?from=soon&to=later`)).status).toBe(400);

    expect(await post(`${printed.control}/faults`, { response: 'status-500' })).toEqual({
      status: 200,
      body: { ok: true },
    });
    expect((await get(`${printed.url}?type=5minutefeed`)).status).toBe(500);
    expect((await post(`${printed.control}/faults`, 'not json')).status).toBe(400);
    expect(await post(`${printed.control}/faults/clear`, {})).toEqual({ status: 200, body: { ok: true } });
    expect((await get(`${printed.url}?type=5minutefeed`)).status).toBe(200);
    expect((await get(`${printed.control}/nothing`)).status).toBe(404);
    expect(output.stderr()).toContain('twc comed-server: faults {"response":"status-500"}\n');
    expect(output.stderr()).toContain('twc comed-server: faults cleared\n');

    // Deliver SIGTERM through the handler the command installed, without touching the test runner's own.
    const added = process.listeners('SIGTERM').filter((listener) => !sigtermBefore.includes(listener));
    expect(added).toHaveLength(1);
    must(added[0])('SIGTERM');
    expect(await run).toBe(0);
    expect(process.listeners('SIGTERM')).toEqual(sigtermBefore);
    expect(await failureAt(`${printed.url}?type=5minutefeed`)).toBe('ECONNREFUSED');
    expect(await failureAt(`${printed.control}/prices?from=0&to=1`)).toBe('ECONNREFUSED');
  });

  it('listens on the ports given and stops when its abort signal fires', async () => {
    const output = captureOutput();
    const [port, controlPort] = [await freePort(), await freePort()];
    const controller = new AbortController();
    const run = runComedServer(['--port', String(port), '--control-port', String(controlPort)], {
      signal: controller.signal,
    });
    expect(await output.printed()).toEqual({
      url: `http://127.0.0.1:${port}/api`,
      control: `http://127.0.0.1:${controlPort}`,
    });
    // The real clock: the newest price is of the last five minutes.
    const entries = JSON.parse((await get(`http://127.0.0.1:${port}/api?type=5minutefeed`)).body) as {
      millisUTC: string;
    }[];
    expect(Date.now() - Number(must(entries[0]).millisUTC)).toBeLessThan(2 * MIN5);
    controller.abort();
    expect(await run).toBe(0);
    expect(await failureAt(`http://127.0.0.1:${port}/api`)).toBe('ECONNREFUSED');
  });

  it('parses every option; without clock options it keeps the real time', () => {
    expect(
      parseComedServerArgs(
        [
          '--seed',
          '9',
          '--port',
          '19100',
          '--listen',
          '0.0.0.0',
          '--control-port',
          '19101',
          '--sim-start-ms',
          '1764352920000',
          '--real-start-ms',
          '1700000000000',
          '--acceleration',
          '630.5',
        ],
        1,
      ),
    ).toEqual({
      seed: 9,
      port: 19100,
      listenHost: '0.0.0.0',
      controlPort: 19101,
      clock: { simStartMs: 1764352920000, realStartMs: 1700000000000, acceleration: 630.5 },
    });
    expect(parseComedServerArgs([], 1)).toEqual({
      seed: 1,
      port: 0,
      listenHost: '127.0.0.1',
      controlPort: 0,
      clock: undefined,
    });
    expect(parseComedServerArgs(['--acceleration', '2'], 5).clock).toEqual({
      simStartMs: 5,
      realStartMs: 5,
      acceleration: 2,
    });
  });

  it.each([
    { argv: ['--seed', 'x'], option: '--seed' },
    { argv: ['--port', '70000'], option: '--port' },
    { argv: ['--control-port=-1'], option: '--control-port' },
    { argv: ['--listen', 'a b'], option: '--listen' },
    { argv: ['--sim-start-ms', 'yesterday'], option: '--sim-start-ms' },
    { argv: ['--real-start-ms', '1.5'], option: '--real-start-ms' },
    { argv: ['--acceleration', '0'], option: '--acceleration' },
    { argv: ['--acceleration', ''], option: '--acceleration' },
    { argv: ['--bogus'], option: '--bogus' },
    { argv: ['extra'], option: 'extra' },
  ])('rejects $argv with exit code 2 and a message naming $option', async ({ argv, option }) => {
    const output = captureOutput();
    expect(await runComedServer(argv)).toBe(2);
    expect(output.stderr()).toContain(option);
    expect(output.stderr()).toMatch(/^twc comed-server: .*\n\nusage: twc comed-server /);
    expect(output.stdout()).toBe('');
  });
});
