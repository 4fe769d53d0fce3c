/**
 * The whole stack on one machine, one process each, as `scripts/run-local.sh`
 * runs it and the end-to-end suite breaks it: the servers (the test servers,
 * set up by init.sh, or the user's own), the simulated chargers and the ComEd
 * stand-in on their clock (the demo, the suite), then the collector, the
 * comed-poller and the API, each started once the one before is ready, and
 * the Home Assistant bridge and the planner when asked for.
 * Everything lives under one directory:
 *
 *   logs/<process>.log    each process's output (influxdb-init.log: init.sh's)
 *   servers/, servers.json  the servers' data and logs; their addresses and InfluxDB's admin token (mode 600)
 *   tokens/<service>.token  each service's least-privilege token (mode 600, in a mode 700 folder)
 *   collector/spool, comed-poller/spool, comed-poller/price-backfill.json, api/reports
 *
 * `stop()` stops in reverse order: the services first, with SIGTERM, so they
 * flush what they buffered while the servers still run.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type SimClock, simulatedTimeMs } from '@twc/collector/simulator/sim-clock';
import { freePort } from '@twc/testenv';
import { type SimulatedOwners, startSimulatedOwners } from './owner.js';
import type { ProcessHandle } from './processes.js';
import { type LocalServers, SERVICES, type Service, type StackServers, startLocalServers } from './servers.js';
import { bridgeProcess, plannerProcess, serviceProcess } from './services.js';
import {
  comedStandInProcess,
  type SimCarService,
  type SimCharger,
  type SimTeslaService,
  type SimulationOptions,
  simulatorClock,
  simulatorProcess,
} from './simulation.js';

export interface LocalStackOptions {
  dir: string;
  /** The environment every process starts from: the settings, PATH, HOME. */
  env: NodeJS.ProcessEnv;
  /** The user's own servers; when absent the stack starts InfluxDB, Redis and Mosquitto and runs init.sh. */
  servers?: StackServers;
  /** Simulated chargers and the ComEd stand-in, which the collector and the comed-poller are pointed at. */
  simulation?: SimulationOptions;
  /** Settings of one service only, over `env`. */
  serviceEnv?: Partial<Record<Service, NodeJS.ProcessEnv>>;
  /** HEALTH_PORT of the collector and the comed-poller, API_PORT of the API; 0 or absent: a free port. */
  ports?: Partial<Record<Service, number>>;
  /**
   * The Home Assistant bridge, started last, on MQTT_URL (the stack's own broker, or the
   * user's in `env`); absent: none. Its /health port; 0: a free one.
   */
  bridge?: { port: number };
  /**
   * The planner (smart charging), started after the API; with a simulation
   * that has car services it commands the simulated cars through Tessie's
   * stand-in. Its /health port; 0: a free one. Absent: none.
   */
  planner?: { port: number; env?: NodeJS.ProcessEnv | ((simulation: Simulation | undefined) => NodeJS.ProcessEnv) };
  /** The servers' data is removed at stop() unless kept. */
  keepServerData?: boolean;
  /** Told of each process started, e.g. to print it. */
  log?: (line: string) => void;
  /** Aborts the start between two steps; what was started is stopped. */
  signal?: AbortSignal;
}

export interface Simulation {
  chargers: SimCharger[];
  clock: SimClock;
  comedUrl: string;
  /** The stand-in's control server: POST /faults, POST /faults/clear, GET /prices. */
  comedControlUrl: string;
  simulator: ProcessHandle;
  comedServer: ProcessHandle;
  /** Tessie's and Tesla's stand-ins, with car services on. */
  tessie: SimCarService | undefined;
  tesla: SimTeslaService | undefined;
}

export interface LocalStack {
  dir: string;
  servers: StackServers;
  /** The servers the stack started (InfluxDB's admin token among them); undefined with the user's own. */
  local: LocalServers | undefined;
  simulation: Simulation | undefined;
  collectorHealthUrl: string;
  apiUrl: string;
  services: Record<Service, ProcessHandle>;
  /** The Home Assistant bridge, when asked for and a broker is named. */
  bridge: ProcessHandle | undefined;
  /** The planner, when asked for. */
  planner: ProcessHandle | undefined;
  bridgeHealthUrl: string | undefined;
  plannerHealthUrl: string | undefined;
  /** Every process, the servers included, in the order started. */
  processes: ProcessHandle[];
  /** The simulator's time at a real time (now by default); the real time without a simulation. */
  simTimeMs(realMs?: number): number;
  /** Stops every process, services first (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
}

/** Starts everything; on failure (or abort) stops what was started and rethrows. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { dir, env, signal } = options;
  const log = options.log ?? (() => {});
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const processes: ProcessHandle[] = [];
  let local: LocalServers | undefined;
  let stopped = false;
  let stopOwners = () => {};
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    stopOwners();
    for (const handle of processes.toReversed()) {
      if (local && Object.values(local.handles).includes(handle)) continue;
      await handle.stop().catch(() => undefined);
    }
    await local?.stop(options.keepServerData ?? false);
  };
  const start = async (handle: ProcessHandle) => {
    signal?.throwIfAborted();
    processes.push(handle);
    await handle.restart();
    log(`${handle.name} started (pid ${handle.pid()}, log ${handle.logFile})`);
  };

  try {
    let servers = options.servers;
    if (!servers) {
      local = await startLocalServers(dir, { setup: 'init.sh', env });
      servers = local;
      for (const handle of Object.values(local.handles)) {
        processes.push(handle);
        log(`${handle.name} started (pid ${handle.pid()}, log ${handle.logFile})`);
      }
      log('buckets, tasks and tokens created (influxdb/scripts/init.sh)');
    }

    const serviceEnv: Partial<Record<Service, NodeJS.ProcessEnv>> = { ...options.serviceEnv };
    let plannerEnv: NodeJS.ProcessEnv = {};
    let simulation: Simulation | undefined;
    if (options.simulation) {
      const simulator = simulatorProcess(dir, env, options.simulation);
      await start(simulator.handle);
      const chargers = simulator.chargers();
      const clock = await simulatorClock(chargers[0]);
      const comed = comedStandInProcess(dir, env, { seed: options.simulation.seed ?? 1, clock });
      await start(comed.handle);
      simulation = {
        chargers,
        clock,
        comedUrl: comed.printed().url,
        comedControlUrl: comed.printed().control,
        simulator: simulator.handle,
        comedServer: comed.handle,
        tessie: simulator.tessie(),
        tesla: simulator.tesla(),
      };
      // The services date what they record by the simulator's clock.
      const clockEnv = {
        SIM_CLOCK_SIM_START_MS: String(clock.simStartMs),
        SIM_CLOCK_REAL_START_MS: String(clock.realStartMs),
        SIM_CLOCK_ACCELERATION: String(clock.acceleration),
      };
      serviceEnv.collector = {
        ...serviceEnv.collector,
        ...clockEnv,
        CHARGERS: chargers.map(({ name, host }) => `${name}=${host}`).join(','),
      };
      serviceEnv['comed-poller'] = { ...serviceEnv['comed-poller'], ...clockEnv, COMED_API_URL: simulation.comedUrl };
      const tessie = simulation.tessie;
      const speed = options.simulation.speed;
      plannerEnv = {
        ...clockEnv,
        // Its steps and its trust in the vitals are in real time: at an accelerated clock, as often and as
        // patient in simulated time as at the real one (every 30 s; vitals 2 minutes old), or as near as works.
        PLANNER_STEP_S: String(Math.max(0.25, 30 / speed)),
        VITALS_STALE_S: String(Math.max(120, 20 * speed)),
        ...(tessie
          ? {
              // Each simulated charger's car, by the charger's name, through Tessie's stand-in.
              CAR_CONTROL: chargers.map(({ name }, i) => `${name}=tessie:${tessie.vins[i]}`).join(','),
              TESSIE_API_URL: tessie.url,
              TESSIE_TOKEN: tessie.token,
            }
          : {}),
      };
    }

    const services = {} as Record<Service, ProcessHandle>;
    const ports = {} as Record<Service, number>;
    for (const service of SERVICES) {
      ports[service] = options.ports?.[service] || (await freePort());
      services[service] = serviceProcess(service, {
        dir,
        servers,
        env: { ...env, ...serviceEnv[service] },
        port: ports[service],
      });
      await start(services[service]);
    }
    let bridge: ProcessHandle | undefined;
    let bridgePort: number | undefined;
    if (options.bridge && (servers.env.MQTT_URL ?? env.MQTT_URL)) {
      const port = options.bridge.port || (await freePort());
      bridgePort = port;
      bridge = bridgeProcess({ dir, servers, env, port });
      await start(bridge);
    } else if (options.bridge) {
      log('MQTT_URL is not set: no Home Assistant bridge');
    }
    let owners: SimulatedOwners | undefined;
    let planner: ProcessHandle | undefined;
    let plannerPort: number | undefined;
    if (options.planner) {
      plannerPort = options.planner.port || (await freePort());
      planner = plannerProcess({
        dir,
        servers,
        env: {
          ...env,
          ...plannerEnv,
          ...(typeof options.planner.env === 'function' ? options.planner.env(simulation) : options.planner.env),
        },
        port: plannerPort,
      });
      await start(planner);
      if (simulation && options.simulation?.owners) {
        owners = startSimulatedOwners({ chargers: simulation.chargers, apiUrl: `http://127.0.0.1:${ports.api}`, log });
      }
    }
    if (owners) stopOwners = () => owners.stop();
    // An abort during the last start is seen here, not at a next step.
    signal?.throwIfAborted();

    return {
      dir,
      servers,
      local,
      simulation,
      collectorHealthUrl: `http://127.0.0.1:${ports.collector}/health`,
      apiUrl: `http://127.0.0.1:${ports.api}`,
      services,
      bridge,
      bridgeHealthUrl: bridgePort === undefined ? undefined : `http://127.0.0.1:${bridgePort}/health`,
      planner,
      plannerHealthUrl: plannerPort === undefined ? undefined : `http://127.0.0.1:${plannerPort}/health`,
      processes,
      simTimeMs: (realMs = Date.now()) => (simulation ? simulatedTimeMs(simulation.clock, realMs) : realMs),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
