import { existsSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { ManagedProcess } from './process.js';

export interface MosquittoServer {
  url: string;
  host: string;
  port: number;
  process: ManagedProcess;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function findMosquitto(): string {
  const candidates = [
    process.env.TWC_MOSQUITTO,
    '/usr/sbin/mosquitto',
    '/usr/bin/mosquitto',
    '/usr/local/sbin/mosquitto',
  ];
  const found = candidates.find((path): path is string => !!path && existsSync(path));
  if (!found) throw new Error('mosquitto not found: install the Debian package mosquitto or set TWC_MOSQUITTO');
  return found;
}

export function tcpOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

/**
 * A Mosquitto 2 broker on loopback. Mosquitto 2 binds nothing without an
 * explicit listener, so a config file is written next to its log.
 * `passwordFile` turns anonymous access off, as in the compose stack.
 */
export async function startMosquitto(
  dir: string,
  options: { port?: number; passwordFile?: string } = {},
): Promise<MosquittoServer> {
  const port = options.port ?? (await freePort());
  const configFile = join(dir, 'mosquitto.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    options.passwordFile ? `password_file ${options.passwordFile}` : 'allow_anonymous true',
    options.passwordFile ? 'allow_anonymous false' : '',
    'persistence false',
    'log_dest stdout',
    'log_type error',
    'log_type warning',
    'log_type notice',
  ];
  writeFileSync(configFile, `${lines.filter(Boolean).join('\n')}\n`);
  const proc = new ManagedProcess({
    name: 'mosquitto',
    command: findMosquitto(),
    args: ['-c', configFile],
    logFile: join(dir, 'mosquitto.log'),
  });
  const start = async () => {
    proc.start();
    await proc.waitUntil(() => tcpOpen(port), 15_000);
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    process: proc,
    restart: start,
    stop: () => proc.stop(),
  };
}
