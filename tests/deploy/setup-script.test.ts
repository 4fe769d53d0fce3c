import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeInstallDir, parseEnvFile, runSetup } from './stack.js';

const SECRETS = [
  'INFLUXDB_ADMIN_PASSWORD',
  'INFLUXDB_ADMIN_TOKEN',
  'GRAFANA_ADMIN_PASSWORD',
  'JWT_SECRET',
  'API_KEYS',
  'MQTT_PASSWORD',
] as const;

const ANSWERS = [
  '--non-interactive',
  '--chargers',
  'garage=192.168.1.50,barn=192.168.1.51',
  '--timezone',
  'America/Chicago',
  '--delivery-cents',
  '8.25',
  '--other-cents',
  '-0.5',
];

function readEnv(dir: string): Map<string, string> {
  return parseEnvFile(readFileSync(join(dir, '.env'), 'utf8'));
}

describe('setup.sh --non-interactive (docker replaced by a recording stub)', () => {
  it('writes .env with every secret, strong and distinct, readable by its owner only', async () => {
    const dir = makeInstallDir('setup');
    const result = await runSetup(dir, ANSWERS);
    expect(result.code, result.stderr).toBe(0);
    const env = readEnv(dir);
    const values = SECRETS.map((key) => env.get(key) ?? '');
    for (const [index, key] of SECRETS.entries()) {
      expect(values[index], key).toMatch(/^[A-Za-z0-9]{24,}$/);
    }
    expect(new Set(values).size).toBe(SECRETS.length);
    // The API refuses a shorter JWT secret.
    expect((env.get('JWT_SECRET') ?? '').length).toBeGreaterThanOrEqual(32);
    expect(statSync(join(dir, '.env')).mode & 0o777).toBe(0o600);
    expect(env.get('CHARGERS')).toBe('garage=192.168.1.50,barn=192.168.1.51');
    expect(env.get('TIMEZONE')).toBe('America/Chicago');
    expect(env.get('TARIFF_DELIVERY_CENTS_KWH')).toBe('8.25');
    expect(env.get('TARIFF_OTHER_CENTS_KWH')).toBe('-0.5');
    // Settings not asked for keep the code's default: their lines stay commented.
    expect(env.has('TARIFF_TAX_PERCENT')).toBe(false);
    expect(readFileSync(join(dir, '.env'), 'utf8')).toContain('# TARIFF_TAX_PERCENT=0');
  });

  it('checks Docker and Compose, starts the stack, waits for health and prints where to log in', async () => {
    const dir = makeInstallDir('setup-start');
    const result = await runSetup(dir, ANSWERS);
    expect(result.code, result.stderr).toBe(0);
    expect(result.dockerCalls.slice(0, 3)).toEqual([
      'info',
      'compose version --short',
      'compose up -d --build --remove-orphans',
    ]);
    expect(result.dockerCalls).toContain('compose ps -q influxdb');
    expect(result.dockerCalls).toContain('compose ps -q api');
    expect(result.stdout).toMatch(/Grafana +http:\/\/\S+:3000\/ +user admin/);
    expect(result.stdout).toMatch(/API +http:\/\/\S+:8000\//);
    // Secrets stay in .env: never on a command line, never printed.
    const env = readEnv(dir);
    for (const key of SECRETS) {
      const secret = env.get(key) ?? '';
      expect(result.dockerCalls.join('\n'), key).not.toContain(secret);
      expect(result.stdout + result.stderr, key).not.toContain(secret);
    }
  });

  it('changes nothing on a second run: .env byte for byte, no secret regenerated', async () => {
    const dir = makeInstallDir('setup-twice');
    expect((await runSetup(dir, ANSWERS)).code).toBe(0);
    const first = readFileSync(join(dir, '.env'));
    const second = await runSetup(dir, ANSWERS);
    expect(second.code, second.stderr).toBe(0);
    expect(readFileSync(join(dir, '.env')).equals(first)).toBe(true);
    expect(second.stdout).toContain('.env is up to date');
    // A run with fewer options keeps what .env holds.
    const third = await runSetup(dir, ['--non-interactive', '--no-start']);
    expect(third.code, third.stderr).toBe(0);
    expect(readFileSync(join(dir, '.env')).equals(first)).toBe(true);
  });

  it('keeps a secret that is already set and fills only the missing ones', async () => {
    const dir = makeInstallDir('setup-keep');
    const example = readFileSync(join(dir, '.env.example'), 'utf8');
    writeFileSync(
      join(dir, '.env'),
      example.replace(/^INFLUXDB_ADMIN_PASSWORD=$/m, 'INFLUXDB_ADMIN_PASSWORD=chosen-by-the-user-long-enough'),
    );
    const result = await runSetup(dir, [...ANSWERS, '--no-start']);
    expect(result.code, result.stderr).toBe(0);
    const env = readEnv(dir);
    expect(env.get('INFLUXDB_ADMIN_PASSWORD')).toBe('chosen-by-the-user-long-enough');
    expect(env.get('MQTT_PASSWORD')).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(result.dockerCalls).toEqual([]);
  });

  it.each([
    [['--timezone', 'Mars/Olympus_Mons'], /"Mars\/Olympus_Mons" is not a time zone/],
    [['--chargers', 'garage=192.168.1.50,garage=192.168.1.51'], /charger name "garage" appears twice/],
    [['--chargers', 'gar@ge=192.168.1.50'], /charger name "gar@ge" may only hold letters, digits/],
    [['--delivery-cents', 'seven'], /TARIFF_DELIVERY_CENTS_KWH: "seven" is not a number/],
    [['--auth', 'password'], /--auth: expected none, apikey or jwt/],
  ])('refuses %j with a clear message and writes nothing', async (extra, message) => {
    const dir = makeInstallDir('setup-bad');
    const result = await runSetup(dir, [...ANSWERS, ...extra]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(() => statSync(join(dir, '.env'))).toThrow();
    expect(result.dockerCalls).not.toContain('compose up -d --build --remove-orphans');
  });

  it('asks for Compose v2 when only Compose v1 is there', async () => {
    const dir = makeInstallDir('setup-v1');
    const result = await runSetup(dir, ANSWERS, { DOCKER_STUB_COMPOSE_VERSION: '1.29.2' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Docker Compose v2');
    expect(() => statSync(join(dir, '.env'))).toThrow();
  });

  it('refuses to ask questions without a terminal', async () => {
    const dir = makeInstallDir('setup-tty');
    const result = await runSetup(dir, ['--chargers', 'g=10.0.0.2']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--non-interactive');
  });

  it('--demo polls the simulated chargers and turns the demo profile on', async () => {
    const dir = makeInstallDir('setup-demo');
    const result = await runSetup(dir, ['--non-interactive', '--demo', '--host-metrics', '--no-start']);
    expect(result.code, result.stderr).toBe(0);
    const env = readEnv(dir);
    expect(env.get('CHARGERS')).toBe('demo-1=simulator:9101,demo-2=simulator:9102');
    expect(env.get('COMPOSE_PROFILES')).toBe('demo,host-metrics');
    const again = await runSetup(dir, ['--non-interactive', '--demo', '--no-start']);
    expect(again.code, again.stderr).toBe(0);
    expect(readEnv(dir).get('COMPOSE_PROFILES')).toBe('demo,host-metrics');
  });
});
