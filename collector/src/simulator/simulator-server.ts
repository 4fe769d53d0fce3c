import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, silentLogger } from '@twc/runtime/logger';
import {
  type ChargerModel,
  type ChargerTruth,
  createChargerModel,
  type FirmwareGeneration,
  type PhaseWiring,
} from './charger-model.js';
import {
  isResponseFault,
  type ParsedSimFault,
  parseSimFault,
  type ResponseFault,
  type SimFault,
  type SimFaultKind,
} from './faults.js';
import { buildLifetime, buildVersion, buildVitals, buildWifiStatus } from './payloads.js';
import type { ScenarioName } from './scenario.js';
import { parseSimCarCommand, type SimCarCommand, type SimulatedCar } from './sim-car.js';
import { type SimClock, simulatedTimeMs } from './sim-clock.js';

/**
 * Simulated Wall Connectors on loopback, one node:http server per charger,
 * answering the real device's /api/1 endpoints with the real payload shapes,
 * plus /sim/* control paths (truth, stats, faults, the car) that a real
 * charger does not have. State is computed from the simulated clock when a
 * request arrives; nothing ticks in the background, so fifty chargers polled
 * every second cost little.
 *
 * Each charger's car (`cars()`, `carByVin()`) is what the fake car-control
 * services running in the same process command; GET /sim/cars lists them
 * for a process that is not.
 */

export interface SimulatedChargerInfo {
  index: number;
  name: string;
  serial: string;
  /** "127.0.0.1:port" */
  host: string;
  port: number;
  /** The car behind this charger. */
  vin: string;
}

export interface SimulatorOptions {
  chargers: number;
  /** First port; charger i listens on basePort + i. 0 or absent: any free port. */
  basePort?: number;
  /** Interface to listen on; loopback by default. */
  listenHost?: string;
  phase?: PhaseWiring;
  scenario?: ScenarioName;
  /** Simulated milliseconds per real millisecond (sim = start + elapsed x acceleration). */
  acceleration?: number;
  seed?: number;
  /** Simulated time at start(); the real time then by default. */
  startTimeMs?: number;
  firmware?: FirmwareGeneration | 'mixed';
  /** The real clock, for tests that drive time themselves. */
  now?: () => number;
  logger?: Logger;
}

export interface SimulatorStats {
  /** Requests to /api/... (control paths not counted). */
  requests: number;
  /** Requests that arrived while another was in flight, and had their connection destroyed. */
  overlaps: number;
  /** Responses sent, by status code. */
  responses: Record<string, number>;
  /** Response faults applied, Wi-Fi drop-outs, reboots and resets injected, by kind. */
  faults: Partial<Record<SimFaultKind, number>>;
  /** False during a Wi-Fi drop-out. */
  online: boolean;
}

export type SimulatorTruth = ChargerTruth & { name: string; serial: string };

export interface Simulator {
  start(): Promise<SimulatedChargerInfo[]>;
  stop(): Promise<void>;
  chargers(): SimulatedChargerInfo[];
  /** The simulated time now. */
  simTimeMs(): number;
  /** How real time maps to simulated time, so another process can keep the same clock. */
  clock(): SimClock;
  /** Validates and applies a fault at the current simulated time; throws on an invalid fault. */
  injectFault(index: number, fault: SimFault): void;
  truth(): SimulatorTruth[];
  truth(index: number): SimulatorTruth;
  stats(index: number): SimulatorStats;
  /** The car behind each charger, in charger order (empty before start()). */
  cars(): SimulatedCar[];
  /** The car with this VIN, if one of the chargers has it. */
  carByVin(vin: string): SimulatedCar | undefined;
  /** The owner's command from the Tesla app to charger `index`'s car, at the current simulated time. */
  appCommand(index: number, command: SimCarCommand): ReturnType<SimulatedCar['appCommand']>;
}

/** Which numeric field a bare `nan` replaces, per endpoint (the firmware prints NaN floats as `nan`). */
const NAN_FIELDS: Record<string, string> = {
  '/api/1/vitals': 'pcba_temp_c',
  '/api/1/lifetime': 'avg_startup_temp',
  '/api/1/wifi_status': 'wifi_snr',
};
const DATA_PATHS = new Set(['/api/1/vitals', '/api/1/lifetime', '/api/1/version', '/api/1/wifi_status']);
const CONTROL_BODY_LIMIT_BYTES = 64 * 1024;
const RELISTEN_RETRY_MS = 1_000;

interface PendingFault {
  fault: ResponseFault;
  remaining: number;
}

interface ChargerRuntime {
  info: SimulatedChargerInfo;
  model: ChargerModel;
  firmware: FirmwareGeneration;
  server: Server;
  logger: Logger;
  inFlight: number;
  pending: PendingFault[];
  stats: SimulatorStats;
  offlineTimer: NodeJS.Timeout | undefined;
  relistenFailures: number;
}

export function createSimulator(options: SimulatorOptions): Simulator {
  const now = options.now ?? Date.now;
  const acceleration = options.acceleration ?? 1;
  const seed = options.seed ?? 1;
  const listenHost = options.listenHost ?? '127.0.0.1';
  const logger = (options.logger ?? silentLogger()).child({ module: 'charger-simulator' });
  let runtimes: ChargerRuntime[] = [];
  let realStartMs = 0;
  let simStartMs = 0;
  let stopping = false;
  const timers = new Set<NodeJS.Timeout>();

  function simTimeMs(): number {
    return simulatedTimeMs({ simStartMs, realStartMs, acceleration }, now());
  }

  function runtime(index: number): ChargerRuntime {
    const rt = runtimes[index];
    if (!rt) throw new Error(`no simulated charger ${index} (have ${runtimes.length})`);
    return rt;
  }

  function later(fn: () => void, delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, delayMs);
    timers.add(timer);
    return timer;
  }

  function cancel(timer: NodeJS.Timeout | undefined): void {
    if (!timer) return;
    clearTimeout(timer);
    timers.delete(timer);
  }

  function count(rt: ChargerRuntime, kind: SimFaultKind): void {
    rt.stats.faults[kind] = (rt.stats.faults[kind] ?? 0) + 1;
  }

  function send(rt: ChargerRuntime, res: ServerResponse, status: number, contentType: string, body: string): void {
    rt.stats.responses[status] = (rt.stats.responses[status] ?? 0) + 1;
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  function takeFaults(rt: ChargerRuntime, path: string): ResponseFault[] {
    const taken: ResponseFault[] = [];
    for (const entry of rt.pending) {
      const { fault } = entry;
      if (fault.path !== undefined && fault.path !== path) continue;
      if (fault.kind === 'invalid-json-nan' && !NAN_FIELDS[path]) continue;
      if (taken.some((t) => t.kind === fault.kind)) continue;
      taken.push(fault);
      entry.remaining -= 1;
    }
    rt.pending = rt.pending.filter((entry) => entry.remaining > 0);
    return taken;
  }

  function dataBody(rt: ChargerRuntime, path: string): string {
    const simMs = simTimeMs();
    switch (path) {
      case '/api/1/vitals':
        return JSON.stringify(buildVitals(rt.model.stateAt(simMs), rt.firmware));
      case '/api/1/lifetime':
        return JSON.stringify(buildLifetime(rt.model.stateAt(simMs)));
      case '/api/1/version':
        return JSON.stringify(buildVersion(rt.model.identity, rt.firmware));
      default:
        return JSON.stringify(buildWifiStatus(rt.model.identity, rt.model.wifiAt(simMs)));
    }
  }

  function answerData(rt: ChargerRuntime, req: IncomingMessage, res: ServerResponse, path: string): void {
    if (!DATA_PATHS.has(path)) {
      // The device answers 500 for the /api/1 paths it does not serve, 404 for everything else.
      if (path.startsWith('/api/1/')) send(rt, res, 500, 'text/plain', 'Internal Server Error');
      else send(rt, res, 404, 'text/plain', 'Not Found');
      return;
    }
    if (req.method !== 'GET') {
      send(rt, res, 405, 'text/plain', 'Method Not Allowed');
      return;
    }
    const faults = takeFaults(rt, path);
    const has = (kind: ResponseFault['kind']) => faults.some((f) => f.kind === kind);
    for (const fault of faults) count(rt, fault.kind);
    const respond = () => {
      if (has('drop-connection')) {
        req.socket.destroy();
        return;
      }
      if (has('http-500')) {
        send(rt, res, 500, 'text/plain', 'Internal Server Error');
        return;
      }
      let body = dataBody(rt, path);
      const nanField = NAN_FIELDS[path];
      if (has('invalid-json-nan') && nanField) {
        body = body.replace(new RegExp(`"${nanField}":-?[0-9.eE+-]+`), `"${nanField}":nan`);
      }
      if (has('invalid-json-truncated')) body = body.slice(0, -1);
      send(rt, res, 200, 'application/json', body);
    };
    const slow = faults.find((f) => f.kind === 'slow-first-byte');
    if (slow && slow.kind === 'slow-first-byte' && slow.delayMs > 0) {
      const timer = later(respond, slow.delayMs);
      res.on('close', () => cancel(timer));
    } else {
      respond();
    }
  }

  async function answerControl(rt: ChargerRuntime, req: IncomingMessage, res: ServerResponse, path: string) {
    const json = (status: number, value: unknown) => {
      const body = JSON.stringify(value);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (path === '/sim/truth' && req.method === 'GET') return json(200, truthOf(rt));
    if (path === '/sim/stats' && req.method === 'GET') return json(200, rt.stats);
    if (path === '/sim/clock' && req.method === 'GET') return json(200, { simStartMs, realStartMs, acceleration });
    if (path === '/sim/cars' && req.method === 'GET') {
      return json(
        200,
        runtimes.map((other) => ({
          index: other.info.index,
          name: other.info.name,
          host: other.info.host,
          ...other.model.car.identity,
        })),
      );
    }
    if (path === '/sim/car' && req.method === 'GET') {
      const car = rt.model.car;
      const nowMs = Math.round(simTimeMs());
      // The owner's plan for this plug-in: when the car leaves (what an owner tells a planner).
      const plan = rt.model.ownerPlanAt(nowMs);
      return json(200, {
        ...car.identity,
        state: car.state(nowMs),
        owner: plan
          ? { plug_in: new Date(plan.plugInMs).toISOString(), leaves: new Date(plan.unplugMs).toISOString() }
          : null,
      });
    }
    if (path === '/sim/car/app' && req.method === 'POST') {
      // The owner in the Tesla app: the command reaches the car whether it slept or not.
      let command: SimCarCommand;
      try {
        command = parseSimCarCommand(JSON.parse(await readBody(req, CONTROL_BODY_LIMIT_BYTES)));
      } catch (error) {
        return json(400, { error: error instanceof Error ? error.message : String(error) });
      }
      return json(200, appCommand(rt, command));
    }
    if (path === '/sim/fault' && req.method === 'POST') {
      let fault: ParsedSimFault;
      try {
        const text = await readBody(req, CONTROL_BODY_LIMIT_BYTES);
        fault = parseSimFault(JSON.parse(text));
      } catch (error) {
        return json(400, { error: error instanceof Error ? error.message : String(error) });
      }
      if (fault.kind !== 'wifi-dropout') {
        apply(rt, fault);
        return json(200, { ok: true });
      }
      // Answer before the drop-out takes the listener (and this connection) away.
      res.on('finish', () => apply(rt, fault));
      return json(200, { ok: true });
    }
    return json(404, { error: `no control path ${req.method} ${path}` });
  }

  function handle(rt: ChargerRuntime, req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://simulator').pathname;
    if (path.startsWith('/sim/')) {
      answerControl(rt, req, res, path).catch((error: unknown) => {
        rt.logger.error({ err: error }, 'control request failed');
        res.destroy();
      });
      return;
    }
    rt.stats.requests += 1;
    // The real charger's small web server fails under concurrent requests:
    // a second request while one is in flight loses its connection.
    if (rt.inFlight > 0) {
      rt.stats.overlaps += 1;
      req.socket.destroy();
      return;
    }
    rt.inFlight += 1;
    res.on('close', () => {
      rt.inFlight -= 1;
    });
    answerData(rt, req, res, path);
  }

  function apply(rt: ChargerRuntime, fault: ParsedSimFault): void {
    const atMs = Math.round(simTimeMs());
    if (fault.kind === 'wifi-dropout') {
      rt.model.injectFault(fault, atMs, atMs + fault.durationMs * acceleration);
      count(rt, fault.kind);
      goOffline(rt, fault.durationMs);
    } else if (isResponseFault(fault)) {
      rt.model.injectFault(fault, atMs);
      rt.pending.push({ fault, remaining: fault.count });
    } else {
      rt.model.injectFault(fault, atMs);
      count(rt, fault.kind);
    }
    rt.logger.info({ fault, simTime: new Date(atMs).toISOString() }, 'fault injected');
  }

  function goOffline(rt: ChargerRuntime, durationMs: number): void {
    cancel(rt.offlineTimer);
    if (rt.stats.online) {
      rt.stats.online = false;
      rt.server.close();
      rt.server.closeAllConnections();
    }
    rt.offlineTimer = later(() => comeBack(rt), durationMs);
  }

  function comeBack(rt: ChargerRuntime): void {
    rt.offlineTimer = undefined;
    if (stopping) return;
    listen(rt.server, rt.info.port, listenHost).then(
      () => {
        if (stopping) {
          rt.server.close();
          return;
        }
        rt.stats.online = true;
        rt.relistenFailures = 0;
        rt.logger.info('back on the network');
      },
      (error: unknown) => {
        // Log the first failure only; a port taken for a while would otherwise log every second.
        if (rt.relistenFailures === 0) {
          rt.logger.warn({ err: error }, 'could not listen again after a Wi-Fi drop-out; retrying every second');
        }
        rt.relistenFailures += 1;
        if (!stopping) rt.offlineTimer = later(() => comeBack(rt), RELISTEN_RETRY_MS);
      },
    );
  }

  function appCommand(rt: ChargerRuntime, command: SimCarCommand) {
    const atMs = Math.round(simTimeMs());
    const result = rt.model.car.appCommand(command, atMs);
    rt.logger.info({ command, result, simTime: new Date(atMs).toISOString() }, 'command from the Tesla app');
    return result;
  }

  function truthOf(rt: ChargerRuntime): SimulatorTruth {
    return { ...rt.model.truth(simTimeMs()), name: rt.info.name, serial: rt.info.serial };
  }

  function firmwareOf(index: number): FirmwareGeneration {
    const firmware = options.firmware ?? 'new';
    if (firmware === 'mixed') return index % 2 === 1 ? 'old' : 'new';
    return firmware;
  }

  function truth(): SimulatorTruth[];
  function truth(index: number): SimulatorTruth;
  function truth(index?: number): SimulatorTruth | SimulatorTruth[] {
    if (index === undefined) return runtimes.map(truthOf);
    return truthOf(runtime(index));
  }

  async function start(): Promise<SimulatedChargerInfo[]> {
    if (runtimes.length > 0) throw new Error('simulator already started');
    if (!Number.isInteger(options.chargers) || options.chargers < 1) {
      throw new Error(`chargers must be a positive integer, got ${options.chargers}`);
    }
    if (!(acceleration > 0)) throw new Error(`acceleration must be positive, got ${acceleration}`);
    stopping = false;
    realStartMs = now();
    simStartMs = options.startTimeMs ?? realStartMs;
    const created: ChargerRuntime[] = [];
    for (let index = 0; index < options.chargers; index += 1) {
      const firmware = firmwareOf(index);
      const model = createChargerModel({
        index,
        seed,
        startTimeMs: simStartMs,
        phase: options.phase ?? 'split',
        firmware,
        scenario: options.scenario ?? 'day',
      });
      const name = `sim-${index + 1}`;
      const rt: ChargerRuntime = {
        info: { index, name, serial: model.identity.serialNumber, host: '', port: 0, vin: model.car.vin },
        model,
        firmware,
        server: createServer(),
        logger: logger.child({ charger: name }),
        inFlight: 0,
        pending: [],
        stats: { requests: 0, overlaps: 0, responses: {}, faults: {}, online: true },
        offlineTimer: undefined,
        relistenFailures: 0,
      };
      rt.server.on('request', (req, res) => handle(rt, req, res));
      created.push(rt);
    }
    runtimes = created;
    try {
      for (const rt of created) {
        const port = options.basePort ? options.basePort + rt.info.index : 0;
        await listen(rt.server, port, listenHost);
        rt.info.port = (rt.server.address() as AddressInfo).port;
        rt.info.host = `${listenHost}:${rt.info.port}`;
      }
    } catch (error) {
      await stop();
      throw error;
    }
    logger.info({ chargers: created.length, acceleration, seed }, 'simulated chargers listening');
    return chargers();
  }

  async function stop(): Promise<void> {
    stopping = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    const closing = runtimes.map(
      (rt) =>
        new Promise<void>((resolve) => {
          rt.offlineTimer = undefined;
          if (!rt.server.listening) {
            rt.server.closeAllConnections();
            resolve();
            return;
          }
          rt.server.close(() => resolve());
          rt.server.closeAllConnections();
        }),
    );
    await Promise.all(closing);
    runtimes = [];
  }

  function chargers(): SimulatedChargerInfo[] {
    return runtimes.map((rt) => ({ ...rt.info }));
  }

  return {
    start,
    stop,
    chargers,
    simTimeMs,
    clock: () => ({ simStartMs, realStartMs, acceleration }),

    injectFault(index, fault) {
      apply(runtime(index), parseSimFault(fault));
    },

    truth,

    stats(index) {
      const stats = runtime(index).stats;
      return { ...stats, responses: { ...stats.responses }, faults: { ...stats.faults } };
    },

    cars: () => runtimes.map((rt) => rt.model.car),
    carByVin: (vin) => runtimes.find((rt) => rt.model.car.vin === vin)?.model.car,
    appCommand: (index, command) => appCommand(runtime(index), parseSimCarCommand(command)),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function readBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        reject(new Error(`body larger than ${limitBytes} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
