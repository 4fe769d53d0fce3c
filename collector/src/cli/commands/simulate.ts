/**
 * `twc simulate`: runs simulated Wall Connectors on loopback until SIGINT or
 * SIGTERM, for demos (live dashboards without a charger), benchmarks and
 * end-to-end tests. Prints the chargers' addresses as one JSON line on stdout
 * once they listen, so a script can read them; logs go to stderr. With
 * `--tesla-port` or `--tessie-port` it also runs the stand-ins for Tesla's
 * Fleet API (with its token endpoint and the vehicle-command proxy) and for
 * Tessie in front of the chargers' cars, and prints where they listen and
 * the credentials they accept.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createLogger, type Logger } from '@twc/runtime/logger';
import type { FirmwareGeneration } from '../../simulator/charger-model.js';
import { SIM_FAULT_KINDS, type SimFault, type SimFaultKind } from '../../simulator/faults.js';
import { between, createRandom, hash32, type Random } from '../../simulator/random.js';
import { SCENARIO_NAMES, type ScenarioName } from '../../simulator/scenario.js';
import { createSimulator, type Simulator } from '../../simulator/simulator-server.js';
import { createTeslaFleetServer, type TeslaFleetServer } from '../../simulator/tesla-fleet-server.js';
import { createTessieServer, type TessieServer } from '../../simulator/tessie-server.js';
import { type Command, integerOption, UsageError, usageError } from '../command.js';

const USAGE = [
  'twc simulate [--chargers N] [--port P] [--listen HOST] [--three-phase] [--scenario session|day|idle|night] [--speed X]',
  '             [--seed S] [--start ISO-TIME] [--firmware old|new|mixed] [--faults kind,kind,...]',
  '             [--tesla-port P] [--tessie-port P]',
  '',
  '  --chargers N   how many chargers (default 1)',
  '  --port P       first port, the others follow consecutively (default 0: any free port)',
  '  --listen HOST  interface to listen on (default 127.0.0.1; 0.0.0.0 in a container)',
  '  --three-phase  230 V three-phase units instead of North American split-phase',
  '  --scenario     session: one charge; day: a typical day at home (default); idle: no car;',
  '                 night: plugged in at 18:00 wanting 40 kWh, gone at 07:00, every day',
  '  --speed X      simulated seconds per real second (default 1)',
  '  --seed S       integer seed; the same seed gives the same run (default 1)',
  '  --start T      the simulated time to begin at, with its offset, e.g. 2026-06-01T05:00:00-05:00 (default: now)',
  '  --firmware     old, new (default) or mixed: which vitals and version fields the chargers send',
  `  --faults       random faults at a modest rate, from: ${SIM_FAULT_KINDS.join(', ')}`,
  "  --tesla-port P the Fleet API stand-in (and its /oauth2/v3/token) on P, Tesla's proxy stand-in on P + 1",
  '  --tessie-port P the Tessie stand-in on P',
  '                 (0: any free port; their POST /sim/fault injects failures: docs/SETUP.md)',
].join('\n');

/** Each charger sees a random fault about this often, on average. */
const MEAN_FAULT_INTERVAL_PER_CHARGER_MS = 120_000;
const MIN_FAULT_INTERVAL_MS = 1_000;

export interface SimulateSettings {
  chargers: number;
  basePort: number;
  listenHost: string;
  phase: 'split' | 'three';
  scenario: ScenarioName;
  acceleration: number;
  seed: number;
  /** Where the simulated clock starts (ms since the epoch); the real time when absent. */
  startTimeMs?: number;
  firmware: FirmwareGeneration | 'mixed';
  faults: SimFaultKind[];
  /** Where the car-control stand-ins listen; absent: not started. */
  teslaPort?: number;
  tessiePort?: number;
}

export interface SimulateIo {
  /** Stops the simulation like SIGTERM does. */
  signal?: AbortSignal;
  logger?: Logger;
}

function choiceOption<T extends string>(name: string, raw: string | undefined, fallback: T, choices: readonly T[]): T {
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

/** Parses the command line; throws UsageError naming the offending option. */
export function parseSimulateArgs(argv: string[]): SimulateSettings {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        chargers: { type: 'string' },
        port: { type: 'string' },
        listen: { type: 'string' },
        'three-phase': { type: 'boolean' },
        scenario: { type: 'string' },
        speed: { type: 'string' },
        seed: { type: 'string' },
        start: { type: 'string' },
        firmware: { type: 'string' },
        faults: { type: 'string' },
        'tesla-port': { type: 'string' },
        'tessie-port': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const str = (name: string) => values[name] as string | undefined;
  const chargers = integerOption('chargers', str('chargers'), 1, 1, 1000);
  const basePort = integerOption('port', str('port'), 0, 0, 65535);
  if (basePort > 0 && basePort + chargers - 1 > 65535) {
    throw new UsageError(`--port ${basePort} leaves no room for ${chargers} consecutive ports`);
  }
  const rawSpeed = str('speed');
  const acceleration = rawSpeed === undefined ? 1 : Number(rawSpeed);
  if (!Number.isFinite(acceleration) || acceleration <= 0 || rawSpeed?.trim() === '') {
    throw new UsageError(`--speed must be a positive number, got "${rawSpeed}"`);
  }
  const faults: SimFaultKind[] = [];
  const rawFaults = str('faults');
  if (rawFaults !== undefined) {
    for (const name of rawFaults.split(',').map((s) => s.trim())) {
      if (!(SIM_FAULT_KINDS as readonly string[]).includes(name)) {
        throw new UsageError(`--faults: unknown fault "${name}" (known: ${SIM_FAULT_KINDS.join(', ')})`);
      }
      if (!faults.includes(name as SimFaultKind)) faults.push(name as SimFaultKind);
    }
  }
  const rawStart = str('start');
  // An offset is required: a bare local time would mean whatever zone the process happens to run in.
  const startTimeMs = rawStart === undefined ? undefined : Date.parse(rawStart);
  if (rawStart !== undefined && (!/(Z|[+-]\d\d:\d\d)$/.test(rawStart.trim()) || !Number.isFinite(startTimeMs))) {
    throw new UsageError(
      `--start must be an ISO 8601 time with its offset, e.g. 2026-06-01T05:00:00-05:00, got "${rawStart}"`,
    );
  }
  const optionalPort = (name: string, max: number) =>
    str(name) === undefined ? undefined : integerOption(name, str(name), 0, 0, max);
  const teslaPort = optionalPort('tesla-port', 65534);
  const tessiePort = optionalPort('tessie-port', 65535);
  const listenHost = str('listen') ?? '127.0.0.1';
  if (!/^[\w.:-]+$/.test(listenHost)) throw new UsageError(`--listen must be a host or address, got "${listenHost}"`);
  return {
    chargers,
    basePort,
    listenHost,
    phase: values['three-phase'] ? 'three' : 'split',
    scenario: choiceOption('scenario', str('scenario'), 'day', SCENARIO_NAMES),
    acceleration,
    seed: integerOption('seed', str('seed'), 1, -2_147_483_648, 4_294_967_295),
    ...(startTimeMs === undefined ? {} : { startTimeMs }),
    firmware: choiceOption('firmware', str('firmware'), 'new', ['old', 'new', 'mixed'] as const),
    faults,
    ...(teslaPort === undefined ? {} : { teslaPort }),
    ...(tessiePort === undefined ? {} : { tessiePort }),
  };
}

interface CarServices {
  printed: Record<string, unknown>;
  stop(): Promise<void>;
}

/** Starts the Tesla and Tessie stand-ins the settings ask for, serving the simulator's cars. */
async function startCarServices(simulator: Simulator, settings: SimulateSettings): Promise<CarServices> {
  const lookup = {
    car: (vin: string) => simulator.carByVin(vin),
    cars: () => simulator.cars(),
    simNow: () => simulator.simTimeMs(),
    host: settings.listenHost,
  };
  const printed: Record<string, unknown> = {};
  let tesla: TeslaFleetServer | undefined;
  let tessie: TessieServer | undefined;
  const stop = async () => {
    await Promise.all([tesla?.stop(), tessie?.stop()]);
  };
  const vins = simulator.cars().map((car) => car.vin);
  try {
    if (settings.teslaPort !== undefined) {
      tesla = createTeslaFleetServer({
        ...lookup,
        apiPort: settings.teslaPort,
        proxyPort: settings.teslaPort === 0 ? 0 : settings.teslaPort + 1,
      });
      const urls = await tesla.start();
      printed.tesla = { ...urls, refreshToken: tesla.issueRefreshToken(), vins };
    }
    if (settings.tessiePort !== undefined) {
      const token = randomBytes(18).toString('base64url');
      tessie = createTessieServer({ ...lookup, token, port: settings.tessiePort });
      const { url } = await tessie.start();
      printed.tessie = { url, token, vins };
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { printed, stop };
}

/** A random fault of the given kind with plausible parameters (durations in real ms). */
function randomFault(kind: SimFaultKind, random: Random): SimFault {
  switch (kind) {
    case 'slow-first-byte':
      return { kind, delayMs: Math.round(between(random, 1_000, 5_000)) };
    case 'wifi-dropout':
      return { kind, durationMs: Math.round(between(random, 30_000, 180_000)) };
    default:
      return { kind };
  }
}

export interface ScheduledFault {
  /** Real time to wait after the previous fault. */
  delayMs: number;
  index: number;
  fault: SimFault;
}

/**
 * The endless, reproducible sequence of random faults for `settings`: the
 * same seed, chargers and kinds give the same faults at the same intervals.
 */
export function* randomFaultSchedule(settings: SimulateSettings): Generator<ScheduledFault> {
  if (settings.faults.length === 0) return;
  const random = createRandom(hash32(settings.seed, 0xfa17));
  const meanIntervalMs = MEAN_FAULT_INTERVAL_PER_CHARGER_MS / settings.chargers;
  for (;;) {
    const delayMs = Math.round(Math.max(MIN_FAULT_INTERVAL_MS, -Math.log(1 - random()) * meanIntervalMs));
    const index = Math.floor(random() * settings.chargers);
    const kind = settings.faults[Math.floor(random() * settings.faults.length)] as SimFaultKind;
    yield { delayMs, index, fault: randomFault(kind, random) };
  }
}

/** Injects the random faults of `settings` as their time comes; returns a function that stops it. */
function injectRandomFaults(simulator: Simulator, settings: SimulateSettings, logger: Logger): () => void {
  const schedule = randomFaultSchedule(settings);
  let timer: NodeJS.Timeout | undefined;
  const next = () => {
    const step = schedule.next();
    if (step.done) return;
    const { delayMs, index, fault } = step.value;
    timer = setTimeout(() => {
      try {
        simulator.injectFault(index, fault);
      } catch (error) {
        logger.warn({ err: error, index, fault }, 'could not inject a random fault');
      }
      next();
    }, delayMs);
  };
  next();
  return () => clearTimeout(timer);
}

/** Runs until SIGINT, SIGTERM or `io.signal` aborts; resolves with the exit code. */
export async function runSimulate(argv: string[], io: SimulateIo = {}): Promise<number> {
  let settings: SimulateSettings;
  try {
    settings = parseSimulateArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usageError((text) => process.stderr.write(text), 'simulate', USAGE, error);
  }
  const rootLogger = io.logger ?? createLogger({ name: 'twc' });
  const logger = rootLogger.child({ module: 'simulate' });
  const simulator = createSimulator({
    chargers: settings.chargers,
    basePort: settings.basePort,
    listenHost: settings.listenHost,
    phase: settings.phase,
    scenario: settings.scenario,
    acceleration: settings.acceleration,
    seed: settings.seed,
    ...(settings.startTimeMs === undefined ? {} : { startTimeMs: settings.startTimeMs }),
    firmware: settings.firmware,
    logger: rootLogger,
  });

  let stopRequested: (reason: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => {
    stopRequested = resolve;
  });
  const onSigint = () => stopRequested('SIGINT');
  const onSigterm = () => stopRequested('SIGTERM');
  const onAbort = () => stopRequested('abort');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  io.signal?.addEventListener('abort', onAbort, { once: true });
  if (io.signal?.aborted) onAbort();

  let stopFaults = () => {};
  let carServices: CarServices | undefined;
  try {
    const chargers = await simulator.start();
    carServices = await startCarServices(simulator, settings);
    process.stdout.write(
      `${JSON.stringify({
        chargers: chargers.map(({ name, serial, host, vin }) => ({ name, serial, host, vin })),
        ...carServices.printed,
      })}\n`,
    );
    if (settings.faults.length > 0) stopFaults = injectRandomFaults(simulator, settings, logger);
    const reason = await stopped;
    logger.info({ reason }, 'stopping');
    return 0;
  } catch (error) {
    process.stderr.write(`twc simulate: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    stopFaults();
    await carServices?.stop();
    await simulator.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    io.signal?.removeEventListener('abort', onAbort);
  }
}

export const simulateCommand: Command = {
  summary: 'Run simulated Wall Connectors on loopback (for demos, benchmarks and tests) until stopped.',
  usage: USAGE,
  run: (argv) => runSimulate(argv),
};
