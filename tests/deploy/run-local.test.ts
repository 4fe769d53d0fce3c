/**
 * scripts/run-local.sh --demo: the whole pipeline as plain processes, no
 * Docker. Its own InfluxDB, Redis and Mosquitto, simulated chargers at high
 * speed and the local ComEd stand-in; read back through the API, then stopped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@twc/testenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, run } from './stack.js';

/** Simulated seconds per real second: the scenario's one charge (about 1.5 to 3 h) ends within half a minute. */
const SIM_SPEED = 300;

const SERVICE_MAINS: Record<string, string> = {
  collector: 'collector/src/collector/main.ts',
  'comed-poller': 'collector/src/comed-poller/main.ts',
  api: 'api/src/server.ts',
  'homeassistant-bridge': 'api/src/homeassistant/main.ts',
  planner: 'collector/src/planner/main.ts',
};

/** Parent pid of every process, from /proc (Linux). */
function parentPids(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name in parentheses may hold spaces; the fields after it do not.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  return parents;
}

function descendants(rootPid: number): number[] {
  const parents = parentPids();
  const found: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const [pid, ppid] of parents) {
      if (ppid === parent && !found.includes(pid)) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return state.slice(state.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

interface Charger {
  id: string;
  name: string;
  online: boolean | null;
}

describe('scripts/run-local.sh --demo', () => {
  let localDir: string;
  let child: ChildProcess;
  let exited: Promise<number | null>;
  let stdout = '';
  let stderr = '';
  let apiUrl: string;
  let bridgeHealthUrl: string;

  /** The process of the stack running `script`. */
  const pidOf = (script: string): number => {
    const pid = descendants(child.pid as number).find((candidate) => commandLine(candidate).includes(script));
    if (pid === undefined) throw new Error(`no process of the stack runs ${script}`);
    return pid;
  };

  const getJson = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${apiUrl}${path}`, { signal: AbortSignal.timeout(10_000) });
    const body = await response.text();
    if (!response.ok) throw new Error(`GET ${path} -> ${response.status}: ${body}`);
    return JSON.parse(body) as T;
  };

  beforeAll(async () => {
    localDir = mkdtempSync(join(tmpdir(), 'twc-run-local-'));
    // An empty settings file: the test must not depend on a developer's .env.
    const envFile = join(localDir, 'empty.env');
    writeFileSync(envFile, '');
    const [apiPort, healthPort, pollerHealthPort, bridgeHealthPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    apiUrl = `http://127.0.0.1:${apiPort}`;
    bridgeHealthUrl = `http://127.0.0.1:${bridgeHealthPort}/health`;
    child = spawn('bash', [join(REPO_ROOT, 'scripts/run-local.sh'), '--demo', '--env-file', envFile], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        TWC_LOCAL_DIR: localDir,
        API_PORT: String(apiPort),
        HEALTH_PORT: String(healthPort),
        POLLER_HEALTH_PORT: String(pollerHealthPort),
        BRIDGE_HEALTH_PORT: String(bridgeHealthPort),
        SIM_SPEED: String(SIM_SPEED),
        // A vitals poll every 0.1 s is 30 simulated seconds apart: well inside
        // the gap that would split a session.
        POLL_VITALS_S: '0.1',
        POLL_LIFETIME_S: '1',
        SESSION_GAP_S: '600',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
    });
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await until('the script to print "ready"', 180_000, async () => {
      if (child.exitCode !== null) throw new Error(`run-local.sh exited ${child.exitCode}:\n${stderr}`);
      return stdout.includes(`ready: http://127.0.0.1:${apiPort}/`) ? true : undefined;
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n--- stderr ---\n${stderr}`);
    });
  }, 240_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    if (localDir) rmSync(localDir, { recursive: true, force: true });
  }, 60_000);

  it('prints where its logs go, and every process writes its own', () => {
    expect(stdout).toContain(`logs: ${join(localDir, 'logs')}\n`);
    for (const name of [
      'influxdb-init',
      'comed-server',
      'simulator',
      'comed-poller',
      'collector',
      'api',
      'homeassistant-bridge',
    ]) {
      expect(existsSync(join(localDir, 'logs', `${name}.log`)), name).toBe(true);
    }
    for (const log of ['influxd/influxd.log', 'redis.log', 'mosquitto.log']) {
      expect(existsSync(join(localDir, 'servers', log)), log).toBe(true);
    }
  });

  it('hands each service its own token from init.sh, and lets no one else read a token', () => {
    const mode = (path: string) => statSync(path).mode & 0o777;
    for (const service of ['collector', 'comed-poller', 'api', 'grafana']) {
      const file = join(localDir, 'tokens', `${service}.token`);
      expect(readFileSync(file, 'utf8').length, service).toBeGreaterThan(20);
      expect(mode(file).toString(8), file).toBe('600');
    }
    expect(mode(join(localDir, 'tokens')).toString(8)).toBe('700');
    // The servers' addresses with InfluxDB's admin token.
    const servers = JSON.parse(readFileSync(join(localDir, 'servers.json'), 'utf8')) as { influx: { token: string } };
    expect(servers.influx.token.length).toBeGreaterThan(20);
    expect(mode(join(localDir, 'servers.json')).toString(8)).toBe('600');
    expect(mode(join(localDir, 'servers')).toString(8)).toBe('700');
    // The services read their own tokens, never the admin token.
    // The bridge reads the raw bucket with the api's read-only token, as in docker-compose.yml.
    for (const [service, token] of [
      ['collector', 'collector'],
      ['comed-poller', 'comed-poller'],
      ['api', 'api'],
      ['homeassistant-bridge', 'api'],
    ] as const) {
      const environ = readFileSync(`/proc/${pidOf(SERVICE_MAINS[service] as string)}/environ`, 'utf8').split('\0');
      expect(environ, service).toContain(`INFLUXDB_TOKEN_FILE=${join(localDir, 'tokens', `${token}.token`)}`);
      expect(
        environ.filter((entry) => entry.startsWith('INFLUXDB_TOKEN=')),
        service,
      ).toEqual([]);
    }
  });

  it('runs the Home Assistant bridge on the local broker, healthy once connected to it', async () => {
    const response = await fetch(bridgeHealthUrl, { signal: AbortSignal.timeout(5000) });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', connected: true, malformedPayloads: 0 });
  });

  it('serves the API and the live status page', async () => {
    expect(await getJson('/health')).toEqual({ status: 'ok' });
    expect(await getJson('/ready')).toMatchObject({ status: 'ready', influxdb: true, redis: true });
    const page = await fetch(`${apiUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    await page.arrayBuffer();
  });

  it('shows the simulated chargers live, polled by the collector through Redis', async () => {
    const chargers = await until('two chargers online', 60_000, async () => {
      const { chargers } = await getJson<{ chargers: Charger[] }>('/api/v1/chargers');
      return chargers.length === 2 && chargers.every((charger) => charger.online) ? chargers : undefined;
    });
    expect(chargers.map((charger) => charger.name).sort()).toEqual(['sim-1', 'sim-2']);
    const first = chargers[0] as Charger;
    const status = await getJson<{ charger_id: string; source: string; age_s: number; vitals: object }>(
      `/api/v1/chargers/${first.id}/status`,
    );
    expect(status.charger_id).toBe(first.id);
    expect(status.source).toBe('live');
    expect(Object.keys(status.vitals).length).toBeGreaterThan(0);
  });

  it('records a finished, priced session for each charger', async () => {
    const { chargers } = await getJson<{ chargers: Charger[] }>('/api/v1/chargers');
    expect(chargers).toHaveLength(2);
    for (const charger of chargers) {
      // The simulator's clock runs ahead of the real one: ask for sessions up to far in the future.
      const session = await until(`a finished session of ${charger.name}`, 120_000, async () => {
        const { sessions } = await getJson<{
          sessions: { open: boolean; end_time: string | null; energy_wh: number; total_cost_usd: number }[];
        }>(`/api/v1/chargers/${charger.id}/sessions?to=2100-01-01T00:00:00Z`);
        return sessions.find((candidate) => !candidate.open && candidate.end_time !== null);
      });
      // The scenario's car asks for 8 to 20 kWh.
      expect(session.energy_wh, charger.name).toBeGreaterThan(7_000);
      expect(session.energy_wh, charger.name).toBeLessThan(21_000);
      expect(session.total_cost_usd, charger.name).toBeGreaterThan(0);
    }
  }, 150_000);

  it("plans each charger's charge, commanding its simulated car through Tessie's stand-in", async () => {
    const { chargers } = await getJson<{ chargers: Charger[] }>('/api/v1/chargers');
    for (const charger of chargers) {
      const answer = await until(`a plan for ${charger.name}`, 60_000, async () => {
        const body = await getJson<{
          stale: boolean;
          settings: { departure_override: string | null };
          plan: { controller: string; usage: { calls: Record<string, number> } } | null;
        }>(`/api/v1/chargers/${charger.id}/plan`);
        return body.plan && !body.stale ? body : undefined;
      });
      expect(answer.plan?.controller, charger.name).toBe('tessie');
      // The demo's simulated owner told the planner when the car leaves, through the API.
      expect(answer.settings.departure_override, charger.name).not.toBeNull();
    }
  });

  it('publishes the current price from the local ComEd stand-in, cached by the comed-poller in Redis', async () => {
    interface CurrentPrice {
      five_minute: { time: string; price_cents_kwh: number } | null;
      source: string;
    }
    const price = await until('a current price from Redis', 60_000, async () => {
      const current = await getJson<CurrentPrice>('/api/v1/price/current');
      return current.source === 'live' && current.five_minute ? current : undefined;
    });
    // The stand-in's prices: -1 to 7.5 cents most of the day, rare spikes up to 100.
    expect(price.five_minute?.price_cents_kwh).toBeGreaterThan(-5);
    expect(price.five_minute?.price_cents_kwh).toBeLessThanOrEqual(100);
  });

  it('stops every process it started on SIGTERM and exits 0', async () => {
    const pid = child.pid as number;
    const started = descendants(pid);
    const commands = started.map(commandLine).join('\n');
    for (const part of [
      'local-stack/src/main.ts',
      'influxd',
      'redis-server',
      'mosquitto',
      'collector/src/cli/main.ts comed-server',
      'collector/src/cli/main.ts simulate',
      ...Object.values(SERVICE_MAINS),
    ]) {
      expect(commands, part).toContain(part);
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(started.filter(alive).map(commandLine)).toEqual([]);
    expect(stderr).toMatch(/\[run-local\] stopped\n/);
  }, 60_000);

  it('passes shellcheck, style checks included', async () => {
    const result = await run('shellcheck', ['--shell=bash', '--severity=style', 'scripts/run-local.sh'], {
      cwd: REPO_ROOT,
    });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('scripts/run-local.sh without --demo', () => {
  it.each([
    [['--env-file', 'MISSING'], {}, /missing\.env not found: copy \.env\.example/],
    [['--env-file', 'SETTINGS'], {}, /INFLUXDB_URL is not set/],
    [['--env-file', 'SETTINGS'], { INFLUXDB_URL: 'http://127.0.0.1:1' }, /REDIS_URL is not set/],
    [
      ['--env-file', 'SETTINGS'],
      { INFLUXDB_URL: 'http://127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' },
      /no InfluxDB token: set INFLUXDB_TOKENS_DIR/,
    ],
    [['--bogus'], {}, /unknown option --bogus/],
  ])('%j with %j refuses with a clear message and starts nothing', async (args, env, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'twc-run-local-refuse-'));
    try {
      const settings = join(dir, 'settings.env');
      writeFileSync(settings, '# nothing but a comment\nTIMEZONE=America/Chicago\n');
      const files: Record<string, string> = { SETTINGS: settings, MISSING: join(dir, 'missing.env') };
      const result = await run(
        'bash',
        [join(REPO_ROOT, 'scripts/run-local.sh'), ...args.map((arg) => files[arg] ?? arg)],
        // From another directory: the script finds the repository by itself.
        { cwd: dir, env: { PATH: process.env.PATH, HOME: dir, TWC_LOCAL_DIR: dir, ...env } },
      );
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/started \(pid/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
