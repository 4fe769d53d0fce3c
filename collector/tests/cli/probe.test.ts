import {
  HTML_PAGE,
  LIFETIME,
  VERSION_NEW_FIRMWARE,
  VITALS_NEW_FIRMWARE,
  VITALS_SPLIT_PHASE_CHARGING,
  VITALS_THREE_PHASE_IDLE,
  WIFI_PLAIN,
} from '@twc/core/charger/reference-payloads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { probeCommand } from '../../src/cli/commands/probe.js';
import {
  closedPortHost,
  defaultRoutes,
  type RouteHandler,
  send,
  startWallConnectorServer,
  type WallConnectorServer,
} from '../collector/wall-connector-server.js';
import { runCommand } from './run-command.js';

const servers: WallConnectorServer[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  while (servers.length > 0) await servers.pop()?.close();
});

async function serve(routes: Record<string, RouteHandler> = {}): Promise<WallConnectorServer> {
  const all = defaultRoutes();
  for (const [path, handler] of Object.entries(routes)) all.set(path, handler);
  const server = await startWallConnectorServer(all);
  servers.push(server);
  return server;
}

/** Runs `twc probe` with stdout and stderr captured. */
function probe(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCommand(probeCommand, argv);
}

describe('twc probe', () => {
  it('prints what a North American charger reports, reading one endpoint at a time', async () => {
    const server = await serve();
    const { code, stdout } = await probe([server.host]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      ok: true,
      host: server.host,
      serial_number: 'ACB12345678901',
      part_number: '1529455-02-D',
      firmware_version: '21.29.1+g4152353e50f744',
      phase_mode: 'split',
      power_w: 238.5 * 30.8,
      charging: true,
      state: { code: 11, name: 'charging' },
      vehicle_connected: true,
      session_energy_wh: 683.8,
      lifetime: {
        energy_wh: 386204,
        charge_starts: 175,
        charging_time_s: 183022,
        contactor_cycles: 175,
        contactor_cycles_loaded: 3,
        connector_cycles: 23,
        alert_count: 1603,
        thermal_foldbacks: 0,
        uptime_s: 1945056,
      },
      wifi: {
        ssid: 'TestNetwork',
        signal_strength: 44,
        rssi_dbm: -68,
        snr_db: 18,
        connected: true,
        ip: '192.168.1.50',
      },
      repairs: { version: [], vitals: [], lifetime: [], wifi_status: [] },
    });
    expect(server.requests).toEqual(['/api/1/version', '/api/1/vitals', '/api/1/lifetime', '/api/1/wifi_status']);
    expect(server.overlaps).toBe(0);
  });

  it('reports a three-phase charger, a plain SSID, newer firmware and repairs per endpoint', async () => {
    const server = await serve({
      '/api/1/vitals': send(VITALS_THREE_PHASE_IDLE.replace('"mcu_temp_c":20.8', '"mcu_temp_c":nan')),
      '/api/1/version': send(VERSION_NEW_FIRMWARE),
      '/api/1/lifetime': send(LIFETIME.trimEnd().slice(0, -1)),
      '/api/1/wifi_status': send(WIFI_PLAIN),
    });
    const { code, stdout } = await probe([server.host, '--timeout-ms', '3000']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      ok: true,
      firmware_version: '25.34.1+ge48cc9be91ebc7',
      phase_mode: 'three',
      power_w: 0,
      charging: false,
      state: { code: 1, name: 'not_connected' },
      session_energy_wh: 22128.301,
      wifi: { ssid: 'TestNetwork' },
      repairs: { version: [], vitals: ['non_finite_number'], lifetime: ['missing_closing_brace'], wifi_status: [] },
    });
    expect(report.lifetime.energy_wh).toBe(386204);
  });

  it('names an unknown state by its raw code', async () => {
    const server = await serve({
      '/api/1/vitals': send(VITALS_NEW_FIRMWARE.replace('"evse_state":9', '"evse_state":5')),
    });
    const { stdout } = await probe([server.host]);
    expect(JSON.parse(stdout).state).toEqual({ code: 5, name: 'unknown' });
  });

  it('explains an address where nothing answers', async () => {
    const host = await closedPortHost();
    const { code, stdout } = await probe([host, '--timeout-ms=1000']);
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      ok: false,
      host,
      endpoint: '/api/1/version',
      reason: 'unreachable',
      code: 'ECONNREFUSED',
    });
    expect(report.message).toMatch(/Could not talk to .*ECONNREFUSED/);
    expect(report.message).toMatch(/Wi-Fi/);
    expect(report.message).toMatch(/teslawallconnector_/);
  });

  it('explains a charger that answers too slowly', async () => {
    const server = await serve({ '/api/1/vitals': send(VITALS_SPLIT_PHASE_CHARGING, { delayMs: 5_000 }) });
    const { code, stdout } = await probe([server.host, '--timeout-ms', '200']);
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ ok: false, endpoint: '/api/1/vitals', reason: 'timeout' });
    expect(report.message).toMatch(/did not answer within 200 ms/);
    expect(report.message).toMatch(/--timeout-ms/);
  });

  it('explains an address that is some other web server', async () => {
    const server = await serve({ '/api/1/version': send(HTML_PAGE, { contentType: 'text/html' }) });
    const { code, stdout } = await probe([server.host]);
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ ok: false, host: server.host, reason: 'not_a_wall_connector' });
    expect(report.message).toMatch(/Tesla Wall Connector Gen 3/);
    expect(server.requests).toEqual(['/api/1/version']);
  });

  it('explains a 404 on /version as probably another device', async () => {
    const server = await serve({ '/api/1/version': send('not found', { status: 404, contentType: 'text/plain' }) });
    const { code, stdout } = await probe([server.host]);
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ ok: false, reason: 'http_status', status: 404 });
    expect(report.message).toMatch(/another device/);
  });

  it('explains vitals that are not a Wall Connector payload', async () => {
    const server = await serve({ '/api/1/vitals': send('{"vehicle_connected":true}') });
    const { code, stdout } = await probe([server.host]);
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ ok: false, endpoint: '/api/1/vitals', reason: 'invalid_payload' });
    expect(report.message).toMatch(/contactor_closed/);
  });

  it.each([
    ['no address', [], /expected exactly one charger address/],
    ['two addresses', ['a', 'b'], /expected exactly one charger address/],
    ['a URL instead of an address', ['http://twc/api'], /invalid charger address/],
    ['a bad timeout', ['twc', '--timeout-ms', 'soon'], /--timeout-ms must be a positive whole number/],
    ['a zero timeout', ['twc', '--timeout-ms', '0'], /--timeout-ms must be a positive whole number/],
    ['an unknown option', ['twc', '--verbose'], /--verbose/],
  ])('refuses %s with a usage error', async (_name, argv, message) => {
    const { code, stdout, stderr } = await probe(argv);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/usage: twc probe <host\[:port\]>/);
  });
});
