/**
 * Starts InfluxDB, Redis and Mosquitto on loopback, the same servers the tests
 * run (testenv), for `scripts/run-local.sh --demo` on a machine without Docker.
 * Prints their endpoints as one JSON line on stdout once all three answer, and
 * runs until SIGTERM or SIGINT, when it stops them and removes their data
 * (kept with TWC_KEEP_TEST_DATA=1, as in the tests).
 *
 *   node --import tsx scripts/local-servers.ts
 */
import { startTestServers } from '../testenv/src/index.ts';

const servers = await startTestServers();
process.stdout.write(`${JSON.stringify({ ...servers.endpoints, dir: servers.dir })}\n`);

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    servers.stop(process.env.TWC_KEEP_TEST_DATA === '1').then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`stopping the local servers failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  });
}
