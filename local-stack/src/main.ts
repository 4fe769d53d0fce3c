/**
 * What `scripts/run-local.sh` runs once it has loaded the settings into the
 * environment (see its header for every option and setting):
 *
 *   node --import tsx --conditions=twc-source local-stack/src/main.ts [--demo] [--env-file FILE]
 *
 * `--env-file` only names, in messages, the file the settings came from.
 * Prints `logs: <dir>` and, once the API answers, `ready: <url>` on stdout;
 * its own messages go to stderr. SIGTERM or SIGINT stops everything and exits
 * 0; any process ending on its own stops the rest and exits 1.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadRunLocalConfig, type RunLocalConfig } from './config.js';
import type { ProcessHandle } from './processes.js';
import { type LocalStack, startLocalStack } from './stack.js';

const WATCH_INTERVAL_MS = 1000;

function log(line: string): void {
  process.stderr.write(`[run-local] ${line}\n`);
}

function fail(message: string): never {
  log(`error: ${message}`);
  process.exit(1);
}

let config: RunLocalConfig;
try {
  const { values } = parseArgs({ options: { demo: { type: 'boolean' }, 'env-file': { type: 'string' } } });
  config = loadRunLocalConfig(process.env, {
    demo: values.demo ?? false,
    settingsFile: values['env-file'] ?? '.env',
  });
} catch (error) {
  fail((error as Error).message);
}

const dir = config.dir ?? mkdtempSync(join(config.tempParent, 'twc-local-'));
mkdirSync(join(dir, 'logs'), { recursive: true });
process.stdout.write(`logs: ${join(dir, 'logs')}\n`);

const starting = new AbortController();
let stack: LocalStack | undefined;
let stopping = false;

async function stopAndExit(code: number): Promise<never> {
  stopping = true;
  await stack?.stop();
  if (stack) log('stopped');
  process.exit(code);
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    log('stopping');
    // While starting, the start stops what it started at its next step.
    if (stack) void stopAndExit(0);
    else {
      stopping = true;
      starting.abort();
    }
  });
}

try {
  stack = await startLocalStack({
    dir,
    env: process.env,
    ...(config.servers ? { servers: config.servers } : {}),
    ...(config.simulation ? { simulation: config.simulation } : {}),
    serviceEnv: config.serviceEnv,
    ports: config.ports,
    bridge: config.bridge,
    planner: config.planner,
    keepServerData: config.keepServerData,
    log,
    signal: starting.signal,
  });
} catch (error) {
  if (starting.signal.aborted) {
    log('stopped');
    process.exit(0);
  }
  fail((error as Error).message);
}
if (config.simulation) {
  const { chargers } = stack.simulation ?? { chargers: [] };
  log(
    `simulated chargers: ${chargers.map(({ name, host }) => `${name}=${host}`).join(',')} (speed ${config.simulation.speed})`,
  );
}
process.stdout.write(`ready: ${stack.apiUrl}/\n`);
log(`live status page: ${stack.apiUrl}/ (Ctrl-C stops everything)`);

function exitedOnItsOwn(processes: ProcessHandle[]): ProcessHandle | undefined {
  return processes.find((handle) => !handle.running());
}

const watch = setInterval(() => {
  if (stopping || !stack) return;
  const ended = exitedOnItsOwn(stack.processes);
  if (!ended) return;
  clearInterval(watch);
  process.stderr.write(`${ended.tail(20)}\n`);
  log(`error: ${ended.name} exited; its log: ${ended.logFile}`);
  void stopAndExit(1);
}, WATCH_INTERVAL_MS);
