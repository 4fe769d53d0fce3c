import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findMosquitto, freePort, ManagedProcess, tcpOpen } from '@twc/testenv';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const conf = readFileSync(new URL('../../../mosquitto/mosquitto.conf', import.meta.url), 'utf8');

/** The compose stack's broker configuration, run by the real Mosquitto with its paths moved into a temp dir. */
describe('mosquitto/mosquitto.conf', () => {
  let dir: string;
  let port: number;
  let broker: ManagedProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'twc-mosquitto-conf-'));
    mkdirSync(join(dir, 'auth'));
    mkdirSync(join(dir, 'data'));
    port = await freePort();
    const passwd = join(dir, 'auth', 'passwd');
    execFileSync('mosquitto_passwd', ['-c', '-b', passwd, 'twc', 'correct horse']);
    // Started as root, Mosquitto drops to its own user, which must still reach these files.
    for (const path of [dir, join(dir, 'auth')]) chmodSync(path, 0o755);
    chmodSync(passwd, 0o644);
    chmodSync(join(dir, 'data'), 0o777);
    const local = conf
      .replace(/^listener 1883$/m, `listener ${port} 127.0.0.1`)
      .replace(/^password_file .*$/m, `password_file ${passwd}`)
      .replace(/^persistence_location .*$/m, `persistence_location ${join(dir, 'data')}/`);
    writeFileSync(join(dir, 'mosquitto.conf'), local);
    broker = new ManagedProcess({
      name: 'mosquitto-conf',
      command: findMosquitto(),
      args: ['-c', join(dir, 'mosquitto.conf')],
      logFile: join(dir, 'mosquitto.log'),
    });
    broker.start();
    await broker.waitUntil(() => tcpOpen(port), 15_000);
  });

  afterAll(async () => {
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('turns anonymous clients away', async () => {
    await expect(
      mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000 }),
    ).rejects.toThrow(/Not authorized|Connection refused/i);
  });

  it('lets a user from the password file in, and keeps retained messages across a restart', async () => {
    const options = { username: 'twc', password: 'correct horse', reconnectPeriod: 0 };
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, options);
    await client.publishAsync('twc/conf-test', 'kept', { qos: 1, retain: true });
    await client.endAsync();

    await broker.stop();
    broker.start();
    await broker.waitUntil(() => tcpOpen(port), 15_000);

    const reader = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, options);
    try {
      const received = new Promise<string>((resolve) =>
        reader.on('message', (_topic, payload) => resolve(String(payload))),
      );
      await reader.subscribeAsync('twc/conf-test', { qos: 1 });
      expect(await received).toBe('kept');
    } finally {
      await reader.endAsync();
    }
  });
});
