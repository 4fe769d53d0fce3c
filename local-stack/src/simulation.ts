/**
 * The simulated outside world of the demo and the end-to-end suite, as
 * processes of their own: Wall Connectors (`twc simulate`) and ComEd's price
 * API (`twc comed-server`), the latter on the simulator's clock so it
 * publishes the prices of the simulated time the collector stamps samples in.
 */
import { join } from 'node:path';
import type { SimClock } from '@twc/collector/simulator/sim-clock';
import { jsonLineWith, nodeProcess, type ProcessHandle } from './processes.js';

export interface SimulationOptions {
  chargers: number;
  /** `twc simulate --scenario`. */
  scenario: 'session' | 'day' | 'idle' | 'night';
  /** Simulated seconds per real second. */
  speed: number;
  /** Of the chargers and the prices alike. Default 1. */
  seed?: number;
  /** Where the simulated clock starts (`twc simulate --start`); now when absent. */
  startMs?: number;
  /**
   * The stand-ins for Tessie and Tesla's Fleet API with its proxy in front of
   * the simulated cars (`--tessie-port`, `--tesla-port`), for the planner to
   * command them.
   */
  carServices?: boolean;
  /** Simulated owners tell the planner when each car leaves (owner.ts); needs the API's CONTROL_WITHOUT_AUTH. */
  owners?: boolean;
}

/** What `twc simulate --tesla-port` prints of its Fleet API, token endpoint and proxy stand-ins. */
export interface SimTeslaService {
  apiUrl: string;
  authUrl: string;
  proxyUrl: string;
  refreshToken: string;
  vins: string[];
}

/** What `twc simulate --tessie-port` prints of its Tessie stand-in. */
export interface SimCarService {
  url: string;
  token: string;
  vins: string[];
}

export interface SimCharger {
  name: string;
  serial: string;
  /** "127.0.0.1:port" */
  host: string;
}

const CLI = 'collector/src/cli/main.ts';

/** `twc simulate`; once started, `printed()` holds the chargers it listens as. */
export function simulatorProcess(
  dir: string,
  env: NodeJS.ProcessEnv,
  options: SimulationOptions,
): {
  handle: ProcessHandle;
  chargers(): SimCharger[];
  tessie(): SimCarService | undefined;
  tesla(): SimTeslaService | undefined;
} {
  const logFile = join(dir, 'logs', 'simulator.log');
  let printed: { chargers: SimCharger[]; tessie?: SimCarService; tesla?: SimTeslaService } | undefined;
  const handle = nodeProcess({
    name: 'simulator',
    logFile,
    script: [
      CLI,
      'simulate',
      ...['--chargers', String(options.chargers), '--scenario', options.scenario, '--speed', String(options.speed)],
      ...['--seed', String(options.seed ?? 1), '--port', '0'],
      ...(options.startMs === undefined ? [] : ['--start', new Date(options.startMs).toISOString()]),
      ...(options.carServices ? ['--tessie-port', '0', '--tesla-port', '0'] : []),
    ],
    env,
    ready: async (offset) => {
      printed = jsonLineWith<{ chargers: SimCharger[]; tessie?: SimCarService; tesla?: SimTeslaService }>(
        logFile,
        'chargers',
        offset,
      );
      return printed !== undefined;
    },
  });
  return {
    handle,
    chargers: () => printed?.chargers ?? [],
    tessie: () => printed?.tessie,
    tesla: () => printed?.tesla,
  };
}

/** The simulator's clock, as its chargers serve it. */
export async function simulatorClock(charger: SimCharger | undefined): Promise<SimClock> {
  const response = await fetch(`http://${charger?.host}/sim/clock`, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`the simulator answered GET /sim/clock with ${response.status}`);
  return (await response.json()) as SimClock;
}

/** `twc comed-server` on the simulator's clock; once started, `printed()` holds its two addresses. */
export function comedStandInProcess(
  dir: string,
  env: NodeJS.ProcessEnv,
  options: { seed: number; clock: SimClock },
): { handle: ProcessHandle; printed(): { url: string; control: string } } {
  const logFile = join(dir, 'logs', 'comed-server.log');
  const { clock } = options;
  let printed: { url: string; control: string } | undefined;
  const handle = nodeProcess({
    name: 'comed-server',
    logFile,
    script: [
      CLI,
      'comed-server',
      ...['--seed', String(options.seed)],
      ...['--sim-start-ms', String(clock.simStartMs), '--real-start-ms', String(clock.realStartMs)],
      ...['--acceleration', String(clock.acceleration)],
    ],
    env,
    ready: async (offset) => {
      printed = jsonLineWith<{ url: string; control: string }>(logFile, 'control', offset);
      return printed !== undefined;
    },
  });
  return { handle, printed: () => printed ?? { url: '', control: '' } };
}
