/**
 * `twc comed-server`: the local stand-in for ComEd's Hourly Pricing API
 * (simulator/comed-server.ts: ComEd's formats, generated prices shaped like a
 * Chicago day) and its control server (simulator/comed-control.ts: faults, the
 * prices it published), until SIGINT or SIGTERM. For the offline demo, the
 * end-to-end suite and anyone trying the comed-poller without the internet.
 * Prints `{"url": <the API base for COMED_API_URL>, "control": <control base>}`
 * as one JSON line on stdout once both listen; fault changes go to stderr.
 */
import { parseArgs } from 'node:util';
import { createComedControl } from '../../simulator/comed-control.js';
import { createComedServer } from '../../simulator/comed-server.js';
import { type SimClock, simulatedTimeMs } from '../../simulator/sim-clock.js';
import { type Command, integerOption, UsageError, usageError } from '../command.js';

const USAGE = [
  'twc comed-server [--seed S] [--port P] [--listen HOST] [--control-port P]',
  '                 [--sim-start-ms MS --real-start-ms MS --acceleration X]',
  '',
  '  --seed S           integer seed of the generated prices (default 1)',
  '  --port P           port of the API (default 0: any free port)',
  '  --listen HOST      interface to listen on, both servers (default 127.0.0.1; 0.0.0.0 in a container)',
  '  --control-port P   port of the control server (default 0: any free port)',
  "  --sim-start-ms MS  the simulator's clock, as `twc simulate` serves it at GET /sim/clock: the stand-in's",
  '  --real-start-ms MS time is sim-start + (now - real-start) x acceleration, so it publishes the prices of',
  '  --acceleration X   the simulated time (defaults: both starts now, acceleration 1: the real time)',
  '',
  'control server: POST /faults (body: the faults to switch on), POST /faults/clear,',
  '                GET /prices?from=MS&to=MS (the prices it publishes for every 5-minute stamp in [from, to))',
].join('\n');

const MAX_PORT = 65_535;

export interface ComedServerSettings {
  seed: number;
  port: number;
  listenHost: string;
  controlPort: number;
  /** Undefined: the real clock. */
  clock: SimClock | undefined;
}

export interface ComedServerIo {
  /** Stops it like SIGTERM does. */
  signal?: AbortSignal;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

function epochMsOption(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) {
    throw new UsageError(`--${name} must be a time in whole epoch milliseconds, got "${raw}"`);
  }
  return value;
}

/** Parses the command line; throws UsageError naming the offending option. */
export function parseComedServerArgs(argv: string[], nowMs: number): ComedServerSettings {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: 'string' },
        port: { type: 'string' },
        listen: { type: 'string' },
        'control-port': { type: 'string' },
        'sim-start-ms': { type: 'string' },
        'real-start-ms': { type: 'string' },
        acceleration: { type: 'string' },
      },
    }));
  } catch (error) {
    // parseArgs names the offending option in its message.
    throw new UsageError((error as Error).message);
  }
  const listenHost = values.listen ?? '127.0.0.1';
  if (!/^[\w.:-]+$/.test(listenHost)) throw new UsageError(`--listen must be a host or address, got "${listenHost}"`);
  const simStartMs = epochMsOption('sim-start-ms', values['sim-start-ms']);
  const realStartMs = epochMsOption('real-start-ms', values['real-start-ms']);
  const rawAcceleration = values.acceleration;
  const acceleration = rawAcceleration === undefined ? 1 : Number(rawAcceleration);
  if (!Number.isFinite(acceleration) || acceleration <= 0 || rawAcceleration?.trim() === '') {
    throw new UsageError(`--acceleration must be a positive number, got "${rawAcceleration}"`);
  }
  const simulated = simStartMs !== undefined || realStartMs !== undefined || rawAcceleration !== undefined;
  return {
    seed: integerOption('seed', values.seed, 1, -2_147_483_648, 4_294_967_295),
    port: integerOption('port', values.port, 0, 0, MAX_PORT),
    listenHost,
    controlPort: integerOption('control-port', values['control-port'], 0, 0, MAX_PORT),
    clock: simulated ? { simStartMs: simStartMs ?? nowMs, realStartMs: realStartMs ?? nowMs, acceleration } : undefined,
  };
}

/** Runs until SIGINT, SIGTERM or `io.signal` aborts; resolves with the exit code. */
export async function runComedServer(argv: string[], io: ComedServerIo = {}): Promise<number> {
  const stdout = io.stdout ?? ((text: string) => process.stdout.write(text));
  const stderr = io.stderr ?? ((text: string) => process.stderr.write(text));
  let settings: ComedServerSettings;
  try {
    settings = parseComedServerArgs(argv, Date.now());
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usageError(stderr, 'comed-server', USAGE, error);
  }
  const { clock } = settings;
  const comed = createComedServer({
    seed: settings.seed,
    host: settings.listenHost,
    port: settings.port,
    ...(clock === undefined ? {} : { now: () => simulatedTimeMs(clock, Date.now()) }),
  });
  const control = createComedControl({
    comed,
    host: settings.listenHost,
    port: settings.controlPort,
    onChange: (change) => stderr(`twc comed-server: ${change}\n`),
  });

  let stopRequested: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stopRequested = resolve;
  });
  const onSignal = () => stopRequested();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  io.signal?.addEventListener('abort', onSignal, { once: true });
  if (io.signal?.aborted) onSignal();

  try {
    const { url } = await comed.start();
    const { url: controlUrl } = await control.start();
    stdout(`${JSON.stringify({ url, control: controlUrl })}\n`);
    await stopped;
    return 0;
  } catch (error) {
    stderr(`twc comed-server: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await control.stop();
    await comed.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    io.signal?.removeEventListener('abort', onSignal);
  }
}

export const comedServerCommand: Command = {
  summary: "Run a local stand-in for ComEd's Hourly Pricing API, with a control server for faults, until stopped.",
  usage: USAGE,
  run: (argv) => runComedServer(argv),
};
