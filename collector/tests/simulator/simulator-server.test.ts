import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/simulator-server.js';
import { failureOf, getJson, httpRequest } from './http.js';
import { must } from './must.js';

const START_MS = Date.UTC(2025, 6, 1, 22, 0, 0);
const MINUTE_MS = 60_000;

// Field names and JSON types of the reference samples (wall-connector-api.md).
const VITALS_COMMON: Record<string, string> = {
  contactor_closed: 'boolean',
  vehicle_connected: 'boolean',
  session_s: 'number',
  grid_v: 'number',
  grid_hz: 'number',
  vehicle_current_a: 'number',
  currentA_a: 'number',
  currentB_a: 'number',
  currentC_a: 'number',
  currentN_a: 'number',
  voltageA_v: 'number',
  voltageB_v: 'number',
  voltageC_v: 'number',
  pcba_temp_c: 'number',
  handle_temp_c: 'number',
  mcu_temp_c: 'number',
  uptime_s: 'number',
  input_thermopile_uv: 'number',
  prox_v: 'number',
  pilot_high_v: 'number',
  pilot_low_v: 'number',
  session_energy_wh: 'number',
  config_status: 'number',
  evse_state: 'number',
  current_alerts: 'array',
};
const VITALS_OLD = { ...VITALS_COMMON, relay_coil_v: 'number' };
const VITALS_NEW = { ...VITALS_COMMON, relay_k1_v: 'number', relay_k2_v: 'number', evse_not_ready_reasons: 'array' };
const LIFETIME: Record<string, string> = {
  contactor_cycles: 'number',
  contactor_cycles_loaded: 'number',
  alert_count: 'number',
  thermal_foldbacks: 'number',
  avg_startup_temp: 'number',
  charge_starts: 'number',
  energy_wh: 'number',
  connector_cycles: 'number',
  uptime_s: 'number',
  charging_time_s: 'number',
};
const VERSION_NEW: Record<string, string> = {
  firmware_version: 'string',
  part_number: 'string',
  serial_number: 'string',
};
const VERSION_OLD = { ...VERSION_NEW, git_branch: 'string', web_service: 'string' };
const WIFI: Record<string, string> = {
  wifi_ssid: 'string',
  wifi_signal_strength: 'number',
  wifi_rssi: 'number',
  wifi_snr: 'number',
  wifi_connected: 'boolean',
  wifi_infra_ip: 'string',
  internet: 'boolean',
  wifi_mac: 'string',
};

function typesOf(payload: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(payload).map(([key, value]) => [key, Array.isArray(value) ? 'array' : typeof value]),
  );
}

const running: Simulator[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()?.stop();
});

/** A simulator on a clock the test moves by hand (`clock.advance`). */
async function startSimulator(options: Partial<SimulatorOptions> = {}) {
  let realNowMs = 5_000_000;
  const clock = {
    advance(ms: number) {
      realNowMs += ms;
    },
  };
  const simulator = createSimulator({
    chargers: 1,
    scenario: 'session',
    seed: 21,
    startTimeMs: START_MS,
    now: () => realNowMs,
    ...options,
  });
  running.push(simulator);
  const chargers = await simulator.start();
  return { simulator, chargers, clock, host: must(chargers[0]).host };
}

async function postFault(host: string, fault: unknown) {
  return httpRequest(host, '/sim/fault', 'POST', JSON.stringify(fault));
}

describe('simulator server: endpoints', () => {
  it('serves every field of the reference payloads, per firmware generation, as JSON', async () => {
    const { chargers, clock } = await startSimulator({ chargers: 2, firmware: 'mixed' });
    clock.advance(30 * MINUTE_MS);
    const [fresh, old] = chargers;
    const cases = [
      { host: must(fresh).host, path: '/api/1/vitals', fields: VITALS_NEW },
      { host: must(old).host, path: '/api/1/vitals', fields: VITALS_OLD },
      { host: must(fresh).host, path: '/api/1/lifetime', fields: LIFETIME },
      { host: must(old).host, path: '/api/1/lifetime', fields: LIFETIME },
      { host: must(fresh).host, path: '/api/1/version', fields: VERSION_NEW },
      { host: must(old).host, path: '/api/1/version', fields: VERSION_OLD },
      { host: must(fresh).host, path: '/api/1/wifi_status', fields: WIFI },
    ];
    for (const { host, path, fields } of cases) {
      const reply = await httpRequest(host, path);
      expect(reply.status, path).toBe(200);
      expect(reply.headers['content-type']).toBe('application/json');
      expect(typesOf(JSON.parse(reply.body)), `${host}${path}`).toEqual(fields);
    }
    const version = await getJson(must(fresh).host, '/api/1/version');
    expect(version.serial_number).toBe(must(fresh).serial);
    const vitals = await getJson(must(fresh).host, '/api/1/vitals');
    expect(vitals).toMatchObject({ contactor_closed: true, vehicle_connected: true, evse_state: 11 });
  });

  it('answers 500 on the /api/1 paths the device does not serve, and 404 on /api/2', async () => {
    const { host, simulator } = await startSimulator();
    for (const path of ['/api/1/status', '/api/1/config', '/api/1/network', '/api/1/power_sharing']) {
      expect((await httpRequest(host, path)).status, path).toBe(500);
    }
    expect((await httpRequest(host, '/api/2/vitals')).status).toBe(404);
    expect(simulator.stats(0)).toMatchObject({ requests: 5, responses: { 500: 4, 404: 1 } });
  });

  it('listens on basePort + index when given a base port', async () => {
    const port = await freePort();
    const { chargers } = await startSimulator({ basePort: port });
    expect(chargers[0]).toMatchObject({ port, host: `127.0.0.1:${port}`, name: 'sim-1', index: 0 });
  });

  it('runs fifty chargers in one process, each with its own serial', async () => {
    const { chargers } = await startSimulator({ chargers: 50, scenario: 'day' });
    const serials = await Promise.all(
      chargers.map(async (c) => (await getJson<{ serial_number: string }>(c.host, '/api/1/version')).serial_number),
    );
    expect(serials).toEqual(chargers.map((c) => c.serial));
    expect(new Set(serials).size).toBe(50);
  });
});

describe('simulator server: faults over HTTP', () => {
  it('slow first byte: the headers come no sooner than the delay', async () => {
    const { host, simulator } = await startSimulator();
    simulator.injectFault(0, { kind: 'slow-first-byte', delayMs: 300 });
    const slow = await httpRequest(host, '/api/1/vitals');
    expect(slow.status).toBe(200);
    expect(slow.firstByteMs).toBeGreaterThanOrEqual(295);
    expect(simulator.stats(0).faults['slow-first-byte']).toBe(1);
  });

  it('bare nan: the body has a nan value and is not JSON; the next response is fine', async () => {
    const { host } = await startSimulator();
    expect((await postFault(host, { kind: 'invalid-json-nan' })).status).toBe(200);
    const bad = await httpRequest(host, '/api/1/vitals');
    expect(bad.body).toMatch(/"pcba_temp_c":nan,/);
    expect(() => JSON.parse(bad.body)).toThrow();
    const good = await httpRequest(host, '/api/1/vitals');
    expect(JSON.parse(good.body)).toHaveProperty('pcba_temp_c');
  });

  it('a fault for one path leaves the other paths alone', async () => {
    const { host } = await startSimulator();
    await postFault(host, { kind: 'invalid-json-nan', path: '/api/1/lifetime' });
    expect(JSON.parse((await httpRequest(host, '/api/1/vitals')).body)).toHaveProperty('pcba_temp_c');
    expect((await httpRequest(host, '/api/1/lifetime')).body).toMatch(/"avg_startup_temp":nan,/);
  });

  it('missing closing brace: the body is an object without its last character', async () => {
    const { host } = await startSimulator();
    await postFault(host, { kind: 'invalid-json-truncated' });
    const bad = await httpRequest(host, '/api/1/vitals');
    expect(bad.body.endsWith(']')).toBe(true);
    expect(() => JSON.parse(bad.body)).toThrow();
    expect(JSON.parse(`${bad.body}}`)).toHaveProperty('evse_state');
  });

  it('HTTP 500 for the next N requests, then normal answers', async () => {
    const { host, simulator } = await startSimulator();
    simulator.injectFault(0, { kind: 'http-500', count: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await httpRequest(host, '/api/1/vitals')).status);
    expect(statuses).toEqual([500, 500, 200]);
  });

  it('a dropped connection: the socket is destroyed without a response', async () => {
    const { host, simulator } = await startSimulator();
    simulator.injectFault(0, { kind: 'drop-connection' });
    expect(await failureOf(httpRequest(host, '/api/1/vitals'))).toBe('ECONNRESET');
    expect((await httpRequest(host, '/api/1/vitals')).status).toBe(200);
    expect(simulator.stats(0).faults['drop-connection']).toBe(1);
  });

  it('a reboot: uptime restarts from 0, the session counters reset, then charging resumes', async () => {
    const { host, clock } = await startSimulator();
    clock.advance(40 * MINUTE_MS);
    const before = await getJson(host, '/api/1/vitals');
    expect(before.uptime_s).toBeGreaterThan(86_400);
    expect(before.contactor_closed).toBe(true);
    await postFault(host, { kind: 'reboot' });
    const booting = await getJson(host, '/api/1/vitals');
    expect(booting).toMatchObject({ uptime_s: 0, evse_state: 0, contactor_closed: false, session_energy_wh: 0 });
    clock.advance(5_000);
    expect((await getJson(host, '/api/1/vitals')).uptime_s).toBe(5);
    clock.advance(10 * MINUTE_MS);
    const resumed = await getJson(host, '/api/1/vitals');
    expect(resumed.contactor_closed).toBe(true);
    expect(resumed.session_energy_wh).toBeGreaterThan(0);
    expect(resumed.session_energy_wh).toBeLessThan(before.session_energy_wh as number);
  });

  it('a session-energy reset: the counter drops to 0 and counts on while the car charges', async () => {
    const { host, clock, simulator } = await startSimulator();
    clock.advance(30 * MINUTE_MS);
    const before = await getJson(host, '/api/1/vitals');
    expect(before.session_energy_wh).toBeGreaterThan(4_000);
    await postFault(host, { kind: 'session-energy-reset' });
    expect((await getJson(host, '/api/1/vitals')).session_energy_wh).toBe(0);
    const deliveredAtResetWh = must(simulator.truth(0).sessions[0]).energyWh;
    clock.advance(5 * MINUTE_MS);
    const after = await getJson(host, '/api/1/vitals');
    expect(after.contactor_closed).toBe(true);
    expect(after.session_energy_wh).toBeGreaterThan(500);
    // The truth keeps counting the whole session; the counter shows only what came after the reset.
    const deliveredWh = must(simulator.truth(0).sessions[0]).energyWh;
    expect(after.session_energy_wh).toBeCloseTo(deliveredWh - deliveredAtResetWh, 2);
  });

  it('a Wi-Fi drop-out refuses connections, then the charger is back on the same port', async () => {
    const { host, simulator, chargers } = await startSimulator();
    expect((await postFault(host, { kind: 'wifi-dropout', durationMs: 400 })).status).toBe(200);
    expect(await failureOf(httpRequest(host, '/api/1/vitals'))).toBe('ECONNREFUSED');
    expect(simulator.stats(0).online).toBe(false);
    const back = await eventually(() => httpRequest(host, '/api/1/vitals'), 5_000);
    expect(back.status).toBe(200);
    expect(must(simulator.chargers()[0]).port).toBe(must(chargers[0]).port);
    expect(simulator.stats(0)).toMatchObject({ online: true, faults: { 'wifi-dropout': 1 } });
  });

  it('a second request while one is in flight loses its connection, and is counted', async () => {
    const { host, simulator } = await startSimulator();
    simulator.injectFault(0, { kind: 'slow-first-byte', delayMs: 400 });
    const first = httpRequest(host, '/api/1/vitals');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = failureOf(httpRequest(host, '/api/1/lifetime'));
    expect(await second).toBe('ECONNRESET');
    expect((await first).status).toBe(200);
    expect((await httpRequest(host, '/api/1/lifetime')).status).toBe(200);
    expect(simulator.stats(0)).toMatchObject({ requests: 3, overlaps: 1 });
    expect(await getJson(host, '/sim/stats')).toMatchObject({ requests: 3, overlaps: 1 });
  });

  it('rejects an invalid fault with a message naming the field', async () => {
    const { host, simulator } = await startSimulator();
    const reply = await postFault(host, { kind: 'slow-first-byte' });
    expect(reply.status).toBe(400);
    expect(reply.body).toContain('delayMs');
    expect((await postFault(host, { kind: 'meteor' })).status).toBe(400);
    expect((await httpRequest(host, '/sim/fault', 'POST', '{not json')).status).toBe(400);
    expect(() => simulator.injectFault(0, { kind: 'wifi-dropout', durationMs: -1 })).toThrow(/durationMs/);
    expect(() => simulator.injectFault(3, { kind: 'reboot' })).toThrow(/no simulated charger 3/);
  });
});

describe('simulator server: truth and time', () => {
  it('the truth record matches what the vitals showed', async () => {
    const { host, clock, simulator } = await startSimulator();
    for (let step = 0; step < 30; step += 1) {
      clock.advance(7 * MINUTE_MS);
      const vitals = await getJson(host, '/api/1/vitals');
      const truth = await getJson<{
        asOfMs: number;
        sessions: { unplugMs: number | null; energyWh: number; charging: { stopMs: number | null }[] }[];
      }>(host, '/sim/truth');
      expect(truth.asOfMs).toBe(simulator.simTimeMs());
      const session = truth.sessions.at(-1);
      if (!session) {
        expect(vitals.vehicle_connected).toBe(false);
        continue;
      }
      expect(vitals.vehicle_connected).toBe(session.unplugMs === null);
      expect(vitals.contactor_closed).toBe(session.charging.some((run) => run.stopMs === null));
      expect(vitals.session_energy_wh).toBeCloseTo(session.energyWh, 2);
    }
    const [final] = simulator.truth();
    expect(must(final).sessions).toHaveLength(1);
    expect(must(must(final).sessions[0]).unplugMs).not.toBeNull();
    expect(must(final).serial).toBe(must(simulator.chargers()[0]).serial);
  });

  it('records injected faults in the truth with their simulated time', async () => {
    const { host, clock, simulator } = await startSimulator({ acceleration: 10 });
    clock.advance(1_000);
    simulator.injectFault(0, { kind: 'http-500' });
    clock.advance(1_000);
    await postFault(host, { kind: 'wifi-dropout', durationMs: 50 });
    const faults = simulator.truth(0).faults;
    expect(faults.map((f) => [f.kind, f.atMs, f.untilMs])).toEqual([
      ['http-500', START_MS + 10_000, undefined],
      ['wifi-dropout', START_MS + 20_000, START_MS + 20_500],
    ]);
  });

  it('acceleration makes simulated time run faster', async () => {
    const slow = await startSimulator({ acceleration: 1, scenario: 'idle' });
    const fast = await startSimulator({ acceleration: 60, scenario: 'idle' });
    const slowBefore = await getJson<{ uptime_s: number }>(slow.host, '/api/1/vitals');
    const fastBefore = await getJson<{ uptime_s: number }>(fast.host, '/api/1/vitals');
    slow.clock.advance(10_000);
    fast.clock.advance(10_000);
    const slowAfter = await getJson<{ uptime_s: number }>(slow.host, '/api/1/vitals');
    const fastAfter = await getJson<{ uptime_s: number }>(fast.host, '/api/1/vitals');
    expect(slowAfter.uptime_s - slowBefore.uptime_s).toBe(10);
    expect(fastAfter.uptime_s - fastBefore.uptime_s).toBe(600);
    expect(fast.simulator.simTimeMs()).toBe(START_MS + 600_000);
  });

  it('stop() closes open connections at once and stops listening', async () => {
    const { host, simulator } = await startSimulator();
    simulator.injectFault(0, { kind: 'slow-first-byte', delayMs: 20_000 });
    const pending = failureOf(httpRequest(host, '/api/1/vitals'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await simulator.stop();
    expect(await pending).toBe('ECONNRESET');
    expect(await failureOf(httpRequest(host, '/api/1/vitals'))).toBe('ECONNREFUSED');
    expect(simulator.chargers()).toEqual([]);
  });
});

describe('simulator server: stopping during a Wi-Fi drop-out', () => {
  it('stays down after stop() even when the drop-out ends', async () => {
    const { host, simulator } = await startSimulator();
    simulator.injectFault(0, { kind: 'wifi-dropout', durationMs: 100 });
    await simulator.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await failureOf(httpRequest(host, '/api/1/vitals'))).toBe('ECONNREFUSED');
  });
});

async function eventually<T>(attempt: () => Promise<T>, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
