import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { ManagedProcess } from './process.js';

/** The InfluxDB release the tests build and run; the compose image uses the same. */
export const INFLUXDB_VERSION = 'v2.8.0';

export interface InfluxServer {
  url: string;
  port: number;
  org: string;
  orgId: string;
  /** The admin (operator) token created at onboarding. */
  token: string;
  /** The bucket created at onboarding. */
  bucket: string;
  process: ManagedProcess;
  /** Starts it again on the same port and data (after stop or kill). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Where scripts/build-influxd.sh caches the binary, unless TWC_INFLUXD says otherwise. */
export function findInfluxd(): string {
  const cacheRoot = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  const candidates = [
    process.env.TWC_INFLUXD,
    join(cacheRoot, 'twc-dashboard', 'influxd', INFLUXDB_VERSION, 'influxd'),
  ];
  const found = candidates.find((path): path is string => !!path && existsSync(path));
  if (!found)
    throw new Error('influxd not found: run scripts/build-influxd.sh (the test command does) or set TWC_INFLUXD');
  return found;
}

async function healthy(url: string): Promise<boolean> {
  const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
  await response.arrayBuffer();
  return response.ok;
}

/**
 * A headless influxd on loopback with all its state under `dir`, onboarded
 * with a random admin token (POST /api/v2/setup) on first start.
 */
export async function startInfluxd(
  dir: string,
  options: { port?: number; binary?: string } = {},
): Promise<InfluxServer> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  mkdirSync(join(dir, 'engine'), { recursive: true });
  const proc = new ManagedProcess({
    name: 'influxd',
    command: options.binary ?? findInfluxd(),
    args: [
      `--bolt-path=${join(dir, 'influxd.bolt')}`,
      `--engine-path=${join(dir, 'engine')}`,
      `--sqlite-path=${join(dir, 'influxd.sqlite')}`,
      `--http-bind-address=127.0.0.1:${port}`,
      '--reporting-disabled',
      '--ui-disabled',
      '--log-level=warn',
    ],
    logFile: join(dir, 'influxd.log'),
    // influxd reads INFLUXD_* variables; never inherit a developer's settings.
    env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('INFLUXD_'))),
  });
  const start = async () => {
    proc.start();
    await proc.waitUntil(() => healthy(url), 60_000);
  };
  await start();

  const org = 'twc';
  const bucket = 'twc-default';
  const token = randomBytes(24).toString('base64url');
  const response = await fetch(`${url}/api/v2/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      username: 'twc-admin',
      password: randomBytes(16).toString('base64url'),
      org,
      bucket,
      token,
    }),
  });
  const body = (await response.json()) as { org?: { id: string }; message?: string };
  if (!response.ok || !body.org) {
    await proc.stop();
    throw new Error(`influxd onboarding failed (${response.status}): ${body.message ?? 'no message'}`);
  }
  return { url, port, org, orgId: body.org.id, token, bucket, process: proc, restart: start, stop: () => proc.stop() };
}
