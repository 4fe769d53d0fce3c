import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@twc/runtime/logger';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  parseSimulateArgs,
  randomFaultSchedule,
  runSimulate,
  simulateCommand,
} from '../../src/cli/commands/simulate.js';
import { createTeslaFleetController } from '../../src/planner/controllers/tesla-fleet.js';
import { createTeslaTokenSource } from '../../src/planner/controllers/tesla-tokens.js';
import { createTessieController } from '../../src/planner/controllers/tessie.js';
import { captureStdio } from '../cli/run-command.js';
import { failureOf, getJson, httpRequest } from './http.js';
import { must } from './must.js';

interface Printed {
  chargers: { name: string; serial: string; host: string }[];
  tesla?: { apiUrl: string; authUrl: string; proxyUrl: string; refreshToken: string; vins: string[] };
  tessie?: { url: string; token: string; vins: string[] };
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

describe('twc simulate', () => {
  it('prints the chargers once listening, serves each, and stops cleanly on SIGTERM', async () => {
    const output = captureOutput();
    const sigtermBefore = process.listeners('SIGTERM');
    const run = simulateCommand.run(['--chargers', '3', '--seed', '5', '--speed', '60', '--firmware', 'mixed']);
    const printed = await output.printed();
    expect(printed.chargers.map((c) => c.name)).toEqual(['sim-1', 'sim-2', 'sim-3']);
    for (const charger of printed.chargers) {
      expect(charger.host).toMatch(/^127\.0\.0\.1:\d+$/);
      const vitals = await getJson(charger.host, '/api/1/vitals');
      expect(vitals).toHaveProperty('evse_state');
      expect((await getJson(charger.host, '/api/1/version')).serial_number).toBe(charger.serial);
    }
    const oldFirmware = await getJson(must(printed.chargers[1]).host, '/api/1/vitals');
    expect(oldFirmware).toHaveProperty('relay_coil_v');

    // Deliver SIGTERM through the handler the command installed, without touching the test runner's own.
    const added = process.listeners('SIGTERM').filter((listener) => !sigtermBefore.includes(listener));
    expect(added).toHaveLength(1);
    must(added[0])('SIGTERM');
    expect(await run).toBe(0);
    expect(process.listeners('SIGTERM')).toEqual(sigtermBefore);
    for (const charger of printed.chargers) {
      expect(await failureOf(httpRequest(charger.host, '/api/1/vitals'))).toBe('ECONNREFUSED');
    }
  });

  it("runs the Tesla and Tessie stand-ins in front of the chargers' cars with --tesla-port and --tessie-port", async () => {
    const output = captureOutput();
    const abort = new AbortController();
    const run = runSimulate(
      ['--chargers', '2', '--scenario', 'session', '--speed', '120', '--tesla-port', '0', '--tessie-port', '0'],
      {
        signal: abort.signal,
        logger: silentLogger(),
      },
    );
    const printed = await output.printed();
    const tesla = must(printed.tesla);
    const tessie = must(printed.tessie);
    expect(tesla.vins).toHaveLength(2);
    expect(tessie.vins).toEqual(tesla.vins);
    const dir = await mkdtemp(join(tmpdir(), 'simulate-tesla-'));
    const fleet = createTeslaFleetController({
      vin: must(tesla.vins[0]),
      apiUrl: tesla.apiUrl,
      proxyUrl: tesla.proxyUrl,
      tokens: createTeslaTokenSource({
        authUrl: tesla.authUrl,
        clientId: 'demo',
        refreshToken: tesla.refreshToken,
        tokenFile: join(dir, 'tokens.json'),
      }),
    });
    const viaTessie = createTessieController({ vin: must(tessie.vins[1]), apiUrl: tessie.url, token: tessie.token });
    try {
      // The session's car plugs in a simulated minute after the start (half a real second here).
      let state = (await fleet.readChargeState()).state;
      for (let i = 0; i < 50 && state?.chargingState !== 'charging'; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        state = (await fleet.readChargeState()).state;
      }
      expect(state?.chargingState).toBe('charging');
      expect((await fleet.stopCharging()).ok).toBe(true);
      expect((await viaTessie.readChargeState()).outcome.ok).toBe(true);
    } finally {
      await fleet.close();
      await viaTessie.close();
      await rm(dir, { recursive: true, force: true });
    }
    abort.abort();
    expect(await run).toBe(0);
    expect(await failureOf(httpRequest(new URL(tesla.apiUrl).host, '/api/1/vehicles'))).toBe('ECONNREFUSED');
  });

  it('stops when its abort signal fires, on consecutive ports from --port', async () => {
    const output = captureOutput();
    const controller = new AbortController();
    const run = runSimulate(['--chargers', '2', '--three-phase', '--scenario', 'idle'], {
      signal: controller.signal,
      logger: silentLogger(),
    });
    const printed = await output.printed();
    const vitals = await getJson<{ grid_hz: number; vehicle_connected: boolean }>(
      must(printed.chargers[0]).host,
      '/api/1/vitals',
    );
    expect(vitals.grid_hz).toBeCloseTo(50, 0);
    expect(vitals.vehicle_connected).toBe(false);
    controller.abort();
    expect(await run).toBe(0);
    expect(await failureOf(httpRequest(must(printed.chargers[1]).host, '/api/1/vitals'))).toBe('ECONNREFUSED');
  });

  it.each([
    { argv: ['--chargers', '0'], option: '--chargers' },
    { argv: ['--chargers', 'many'], option: '--chargers' },
    { argv: ['--port', '70000'], option: '--port' },
    { argv: ['--port', '65535', '--chargers', '2'], option: '--port' },
    { argv: ['--speed', '-3'], option: '--speed' },
    { argv: ['--speed', ''], option: '--speed' },
    { argv: ['--scenario', 'week'], option: '--scenario' },
    { argv: ['--firmware', 'beta'], option: '--firmware' },
    { argv: ['--seed', '1.5'], option: '--seed' },
    { argv: ['--start', '2026-06-01T05:00:00'], option: '--start' },
    { argv: ['--start', 'tomorrow'], option: '--start' },
    { argv: ['--start', '2026-13-01T05:00:00Z'], option: '--start' },
    { argv: ['--faults', 'reboot,meteor'], option: '--faults' },
    { argv: ['--bogus'], option: '--bogus' },
    { argv: ['extra'], option: 'extra' },
  ])('rejects $argv with exit code 2 and a message naming $option', async ({ argv, option }) => {
    const output = captureOutput();
    expect(await runSimulate(argv, { logger: silentLogger() })).toBe(2);
    expect(output.stderr()).toContain(option);
    expect(output.stderr()).toContain('usage: twc simulate');
    expect(output.stdout()).toBe('');
  });

  it('parses every option', () => {
    expect(
      parseSimulateArgs([
        '--chargers',
        '10',
        '--port',
        '18080',
        '--three-phase',
        '--scenario',
        'session',
        '--speed',
        '120.5',
        '--seed',
        '77',
        '--start',
        '2026-06-01T05:00:00-05:00',
        '--firmware',
        'old',
        '--faults',
        'reboot, wifi-dropout,reboot',
      ]),
    ).toEqual({
      chargers: 10,
      basePort: 18080,
      listenHost: '127.0.0.1',
      phase: 'three',
      scenario: 'session',
      acceleration: 120.5,
      seed: 77,
      startTimeMs: Date.UTC(2026, 5, 1, 10),
      firmware: 'old',
      faults: ['reboot', 'wifi-dropout'],
    });
    expect(parseSimulateArgs([])).toMatchObject({ chargers: 1, basePort: 0, scenario: 'day', acceleration: 1 });
    expect(parseSimulateArgs([]).startTimeMs).toBeUndefined();
  });

  it('starts the simulated clock where --start says, so a seed replays the same day', async () => {
    const output = captureOutput();
    const controller = new AbortController();
    const startMs = Date.UTC(2026, 2, 8, 11); // 05:00 in Chicago, the day DST starts
    const run = runSimulate(['--scenario', 'idle', '--start', new Date(startMs).toISOString()], {
      signal: controller.signal,
      logger: silentLogger(),
    });
    const printed = await output.printed();
    const clock = await getJson<{ simStartMs: number }>(must(printed.chargers[0]).host, '/sim/clock');
    expect(clock.simStartMs).toBe(startMs);
    controller.abort();
    expect(await run).toBe(0);
  });

  it('listens on loopback unless told otherwise, as a container needs', () => {
    expect(parseSimulateArgs([]).listenHost).toBe('127.0.0.1');
    expect(parseSimulateArgs(['--listen', '0.0.0.0']).listenHost).toBe('0.0.0.0');
    expect(() => parseSimulateArgs(['--listen', 'a b'])).toThrow(/--listen/);
  });

  it('draws random faults reproducibly from the seed, only of the kinds asked for', () => {
    const settings = parseSimulateArgs(['--chargers', '5', '--seed', '9', '--faults', 'http-500,slow-first-byte']);
    const take = (n: number, s = settings) => {
      const out = [];
      for (const step of randomFaultSchedule(s)) {
        out.push(step);
        if (out.length === n) break;
      }
      return out;
    };
    const first = take(40);
    expect(take(40)).toEqual(first);
    expect(take(40, { ...settings, seed: 10 })).not.toEqual(first);
    expect(new Set(first.map((s) => s.fault.kind))).toEqual(new Set(['http-500', 'slow-first-byte']));
    for (const step of first) {
      expect(step.index).toBeGreaterThanOrEqual(0);
      expect(step.index).toBeLessThan(5);
      expect(step.delayMs).toBeGreaterThanOrEqual(1_000);
    }
    // About one fault per charger every two minutes on average.
    const meanMs = first.reduce((sum, s) => sum + s.delayMs, 0) / first.length;
    expect(meanMs).toBeGreaterThan(10_000);
    expect(meanMs).toBeLessThan(50_000);
    expect(take(1, { ...settings, faults: [] })).toEqual([]);
  });
});
