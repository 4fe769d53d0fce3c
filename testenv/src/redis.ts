import { existsSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { ManagedProcess } from './process.js';

export interface RedisServer {
  url: string;
  host: string;
  port: number;
  process: ManagedProcess;
  /** Starts it again on the same port (after stop or kill). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function findRedisServer(): string {
  const candidates = [process.env.TWC_REDIS_SERVER, '/usr/bin/redis-server', '/usr/local/bin/redis-server'];
  const found = candidates.find((path): path is string => !!path && existsSync(path));
  if (!found)
    throw new Error('redis-server not found: install the Debian package redis-server or set TWC_REDIS_SERVER');
  return found;
}

/** Sends PING on a fresh connection; true once the server answers +PONG. */
export function redisPing(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.connect(port, host, () => socket.write('PING\r\n'));
  });
}

/** A throw-away Redis on loopback: no persistence, data in `dir`. */
export async function startRedis(dir: string, port?: number): Promise<RedisServer> {
  const chosenPort = port ?? (await freePort());
  const proc = new ManagedProcess({
    name: 'redis-server',
    command: findRedisServer(),
    args: [
      '--port',
      String(chosenPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--protected-mode',
      'no',
    ],
    logFile: join(dir, 'redis.log'),
  });
  const start = async () => {
    proc.start();
    await proc.waitUntil(() => redisPing(chosenPort), 15_000);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${chosenPort}`,
    host: '127.0.0.1',
    port: chosenPort,
    process: proc,
    restart: start,
    stop: () => proc.stop(),
  };
}
