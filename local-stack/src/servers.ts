/**
 * The servers a local stack talks to: the test servers (testenv: InfluxDB,
 * Redis and Mosquitto on loopback) started here and set up as the compose
 * stack's InfluxDB is, or the user's own, named in the settings.
 *
 * Set-up is influxdb/scripts/init.sh, which the InfluxDB image runs on its
 * first start: buckets with their retention, the downsampling tasks, and one
 * least-privilege token per consumer in <dir>/tokens/<consumer>.token, which
 * the services read through INFLUXDB_TOKEN_FILE; nothing but init.sh uses the
 * admin token. The benchmarks ask for the buckets only (no tasks, the admin
 * token for all), so InfluxDB's scheduled work stays out of what they measure.
 */
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServers, type TestServers } from '@twc/testenv';
import { type ProcessHandle, REPO_ROOT, serverProcess } from './processes.js';

/** The services of the stack, in the order it starts them. */
export const SERVICES = ['collector', 'comed-poller', 'api'] as const;
export type Service = (typeof SERVICES)[number];

/** The servers' names, as the end-to-end suite kills them. */
export const SERVER_NAMES = ['influxd', 'redis', 'mosquitto'] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

/** Buckets of the benchmarks' set-up: init.sh's defaults, which the services' defaults name. */
const BUCKETS = ['twc_raw', 'twc_sessions', 'twc_prices'];

export type InfluxSetup = 'init.sh' | 'buckets';

export interface StackServers {
  /** What every service gets to reach them, over its settings. */
  env: NodeJS.ProcessEnv;
  /** The variables giving `service` its InfluxDB token. */
  tokenEnv(service: Service): NodeJS.ProcessEnv;
  /** True when the stack started them itself (not the user's own). */
  startedHere: boolean;
}

export interface LocalServers extends StackServers {
  /** testenv's servers, InfluxDB's admin token among them. */
  servers: TestServers;
  handles: Record<ServerName, ProcessHandle>;
  /** Stops all three; their data (under <dir>/servers) is removed unless `keepData`. */
  stop(keepData: boolean): Promise<void>;
}

/** Creates a directory only its owner can enter (the token files live there). */
export function privateDir(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
  return path;
}

/** Writes a file only its owner can read: a token, or anything holding InfluxDB's admin token. */
export function writePrivateFile(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

async function runInitScript(servers: TestServers, env: NodeJS.ProcessEnv, tokensDir: string, logFile: string) {
  const log = openSync(logFile, 'a');
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('bash', [join(REPO_ROOT, 'influxdb', 'scripts', 'init.sh')], {
      cwd: REPO_ROOT,
      env: {
        ...env,
        INFLUX_HOST: servers.influx.url,
        INFLUX_TOKEN: servers.influx.token,
        INFLUXDB_ORG: servers.influx.org,
        INFLUXDB_TOKENS_DIR: tokensDir,
      },
      stdio: ['ignore', log, log],
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  }).finally(() => closeSync(log));
  if (exitCode !== 0) throw new Error(`influxdb/scripts/init.sh failed (exit ${exitCode}); its log: ${logFile}`);
  // init.sh makes its files readable by the services' own users, who share a volume in
  // compose; here every process runs as this user, and nobody else needs them.
  for (const file of readdirSync(tokensDir)) {
    if (file.endsWith('.token')) chmodSync(join(tokensDir, file), 0o600);
  }
}

async function createBuckets(servers: TestServers): Promise<void> {
  const { influx } = servers;
  for (const name of BUCKETS) {
    const response = await fetch(`${influx.url}/api/v2/buckets`, {
      method: 'POST',
      headers: { authorization: `Token ${influx.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ orgID: influx.orgId, name, retentionRules: [] }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`creating bucket ${name}: ${response.status} ${text}`);
  }
}

/**
 * Starts InfluxDB, Redis and Mosquitto with their data in <dir>/servers and
 * sets InfluxDB up; writes their addresses and the admin token to
 * <dir>/servers.json (mode 600). `env` is what init.sh runs with (bucket
 * names, retentions).
 */
export async function startLocalServers(
  dir: string,
  options: { setup: InfluxSetup; env: NodeJS.ProcessEnv },
): Promise<LocalServers> {
  const serversDir = privateDir(join(dir, 'servers'));
  const servers = await startTestServers(serversDir);
  try {
    let tokenEnv: (service: Service) => NodeJS.ProcessEnv;
    if (options.setup === 'init.sh') {
      const tokensDir = privateDir(join(dir, 'tokens'));
      mkdirSync(join(dir, 'logs'), { recursive: true });
      await runInitScript(servers, options.env, tokensDir, join(dir, 'logs', 'influxdb-init.log'));
      tokenEnv = (service) => ({ INFLUXDB_TOKEN: undefined, INFLUXDB_TOKEN_FILE: join(tokensDir, `${service}.token`) });
    } else {
      await createBuckets(servers);
      tokenEnv = () => ({ INFLUXDB_TOKEN: servers.influx.token, INFLUXDB_TOKEN_FILE: undefined });
    }
    writePrivateFile(
      join(dir, 'servers.json'),
      `${JSON.stringify({ ...servers.endpoints, dir: serversDir }, null, 2)}\n`,
    );
    return {
      env: {
        INFLUXDB_URL: servers.influx.url,
        INFLUXDB_ORG: servers.influx.org,
        REDIS_URL: servers.redis.url,
        MQTT_URL: servers.mosquitto.url,
        // The local broker lets anyone in; credentials meant for another broker would only confuse.
        MQTT_USERNAME: undefined,
        MQTT_PASSWORD: undefined,
        MQTT_PASSWORD_FILE: undefined,
        MQTT_TLS_CA_FILE: undefined,
      },
      tokenEnv,
      startedHere: true,
      servers,
      handles: {
        influxd: serverProcess('influxd', servers.influx, join(serversDir, 'influxd', 'influxd.log')),
        redis: serverProcess('redis', servers.redis, join(serversDir, 'redis.log')),
        mosquitto: serverProcess('mosquitto', servers.mosquitto, join(serversDir, 'mosquitto.log')),
      },
      stop: (keepData) => servers.stop(keepData),
    };
  } catch (error) {
    await servers.stop(true);
    throw error;
  }
}
