/**
 * A local stand-in for ComEd's Hourly Pricing API (collector/src/simulator/comed-server.ts:
 * ComEd's format, generated prices shaped like a Chicago day) for
 * `scripts/run-local.sh --demo`, so the demo runs offline. Prints
 * {"url": "<API base for COMED_API_URL>"} on stdout and runs until SIGTERM or SIGINT.
 *
 *   node --import tsx scripts/local-comed.ts [--seed S]
 */
import { parseArgs } from 'node:util';
import { createComedServer } from '../collector/src/simulator/comed-server.ts';

const { values } = parseArgs({ options: { seed: { type: 'string' } } });
const seed = values.seed === undefined ? 1 : Number(values.seed);
if (!Number.isSafeInteger(seed)) {
  process.stderr.write(`--seed must be an integer, got "${values.seed}"\n`);
  process.exit(2);
}

const server = createComedServer({ seed });
const { url } = await server.start();
process.stdout.write(`${JSON.stringify({ url })}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
