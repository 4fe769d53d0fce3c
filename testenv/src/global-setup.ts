import type { TestProject } from 'vitest/node';
import { startTestServers } from './index.js';
import './vitest.js';

/**
 * Starts the real servers once per test run and hands their addresses to every
 * test file through vitest's provide/inject. The returned teardown runs even
 * when tests fail. Set TWC_KEEP_TEST_DATA=1 to keep their data and logs.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const servers = await startTestServers();
  process.stderr.write(
    `[testenv] influxd ${servers.influx.url}, redis ${servers.redis.url}, mosquitto ${servers.mosquitto.url} ` +
      `ready in ${Date.now() - started} ms (data in ${servers.dir})\n`,
  );
  project.provide('servers', servers.endpoints);
  return async () => {
    await servers.stop(process.env.TWC_KEEP_TEST_DATA === '1');
  };
}
