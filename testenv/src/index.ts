import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type InfluxServer, startInfluxd } from './influxd.js';
import { type MosquittoServer, startMosquitto } from './mosquitto.js';
import { type RedisServer, startRedis } from './redis.js';

export { findInfluxd, INFLUXDB_VERSION, type InfluxServer, startInfluxd } from './influxd.js';
export { findMosquitto, type MosquittoServer, startMosquitto, tcpOpen } from './mosquitto.js';
export { freePort } from './ports.js';
export { ManagedProcess, type ManagedProcessOptions } from './process.js';
export { findRedisServer, type RedisServer, redisPing, startRedis } from './redis.js';

/** What the tests need to reach the shared servers: plain data, passed between processes. */
export interface ServerEndpoints {
  influx: { url: string; token: string; org: string; orgId: string };
  redis: { url: string };
  mqtt: { url: string };
}

export interface TestServers {
  endpoints: ServerEndpoints;
  influx: InfluxServer;
  redis: RedisServer;
  mosquitto: MosquittoServer;
  /** The temporary directory holding every server's data and logs. */
  dir: string;
  /** Stops every server; `keepDir` leaves data and logs for inspection. */
  stop(keepDir?: boolean): Promise<void>;
}

export function makeTempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `twc-${label}-`));
}

/** Starts InfluxDB, Redis and Mosquitto side by side in one directory, a new temporary one unless given. */
export async function startTestServers(dir = makeTempDir('servers')): Promise<TestServers> {
  const started: { stop(): Promise<void> }[] = [];
  const track = <T extends { stop(): Promise<void> }>(server: T): T => {
    started.push(server);
    return server;
  };
  try {
    const [influx, redis, mosquitto] = await Promise.all([
      startInfluxd(join(dir, 'influxd')).then(track),
      startRedis(dir).then(track),
      startMosquitto(dir).then(track),
    ]);
    return {
      endpoints: {
        influx: { url: influx.url, token: influx.token, org: influx.org, orgId: influx.orgId },
        redis: { url: redis.url },
        mqtt: { url: mosquitto.url },
      },
      influx,
      redis,
      mosquitto,
      dir,
      async stop(keepDir = false) {
        await Promise.allSettled([influx.stop(), redis.stop(), mosquitto.stop()]);
        if (!keepDir) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.allSettled(started.map((server) => server.stop()));
    throw error;
  }
}
