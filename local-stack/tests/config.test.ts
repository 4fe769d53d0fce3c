import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRunLocalConfig } from '../src/config.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tokensDir(services: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'twc-local-stack-tokens-'));
  dirs.push(dir);
  for (const service of services) writeFileSync(join(dir, `${service}.token`), `token-of-${service}`);
  return dir;
}

const own = { demo: false, settingsFile: 'my.env' };
const servers = { INFLUXDB_URL: 'http://127.0.0.1:8086', REDIS_URL: 'redis://127.0.0.1:6379' };

describe('run-local settings', () => {
  it('with --demo: its own servers and simulation, the API on loopback, a short price history', () => {
    const config = loadRunLocalConfig(
      { SIM_SPEED: '60', SPOOL_MAX_MB: '50', POLLER_SPOOL_MAX_MB: '5' },
      {
        demo: true,
        settingsFile: '.env',
      },
    );
    expect(config.servers).toBeUndefined();
    expect(config.dir).toBeUndefined();
    // Smart charging on: the planner commands the simulated cars through Tessie's stand-in.
    expect(config.simulation).toEqual({ chargers: 2, scenario: 'session', speed: 60, carServices: true, owners: true });
    expect(config.ports).toEqual({ collector: 8081, 'comed-poller': 8082, api: 8000 });
    expect(config.planner).toEqual({ port: 8084 });
    expect(config.serviceEnv).toEqual({
      collector: { SPOOL_MAX_MB: '50' },
      'comed-poller': { SPOOL_MAX_MB: '5', PRICE_BACKFILL_DAYS: '7', COMED_PIECE_SPACING_MS: '0' },
      api: { API_HOST: '127.0.0.1', CONTROL_WITHOUT_AUTH: 'true' },
    });
  });

  it("against the user's servers: each service its token file, data under the XDG data folder", () => {
    const dir = tokensDir(['collector', 'comed-poller', 'api']);
    const config = loadRunLocalConfig(
      { ...servers, INFLUXDB_TOKENS_DIR: dir, XDG_DATA_HOME: '/data', API_PORT: '9000', TWC_KEEP_TEST_DATA: '' },
      own,
    );
    expect(config.dir).toBe(join('/data', 'twc-dashboard'));
    expect(config.simulation).toBeUndefined();
    expect(config.ports.api).toBe(9000);
    expect(config.serviceEnv.api).toEqual({ API_HOST: undefined });
    expect(config.servers?.startedHere).toBe(false);
    expect(config.servers?.tokenEnv('comed-poller')).toEqual({
      INFLUXDB_TOKEN: undefined,
      INFLUXDB_TOKEN_FILE: join(dir, 'comed-poller.token'),
    });
  });

  it.each([
    [{}, /^INFLUXDB_URL is not set \(in my\.env or the environment\)/],
    [{ INFLUXDB_URL: servers.INFLUXDB_URL }, /^REDIS_URL is not set \(in my\.env or the environment\)/],
    [servers, /^no InfluxDB token: set INFLUXDB_TOKENS_DIR/],
    [{ ...servers, API_PORT: 'eighty' }, /API_PORT/],
  ])('refuses %j, naming what is missing', (env, message) => {
    expect(() => loadRunLocalConfig(env, own)).toThrow(message);
  });

  it('names a token file init.sh did not write', () => {
    const dir = tokensDir(['collector', 'api']);
    expect(() => loadRunLocalConfig({ ...servers, INFLUXDB_TOKENS_DIR: dir }, own)).toThrow(
      `${join(dir, 'comed-poller.token')} is missing: run influxdb/scripts/init.sh`,
    );
  });

  it('takes one token for all three when given no token files', () => {
    const config = loadRunLocalConfig({ ...servers, INFLUXDB_TOKEN: 'secret' }, own);
    expect(config.servers?.tokenEnv('collector')).toEqual({});
  });
});
