/**
 * A local stand-in for Tessie's API (https://developer.tessie.com), for tests
 * and the demo, serving the simulated cars by VIN:
 * - one access token, as `Authorization: Bearer` or `?access_token=`;
 * - `GET /{vin}/state`: the whole vehicle with `state` (`online`, `asleep`)
 *   and `charge_state`; it never wakes the car (Tessie answers the car's
 *   last report while it sleeps);
 * - `GET /{vin}/status`: `{"status":"awake"|"asleep"}`;
 * - `POST /{vin}/wake`: `{"result":true}` once the car is awake, false after
 *   90 seconds;
 * - `POST /{vin}/command/{start_charging,stop_charging,set_charging_amps?amps=,
 *   set_charge_limit?percent=}`: Tessie wakes the car itself, retries for
 *   `retry_duration` seconds (default 40) and, with `wait_for_completion`
 *   (default true), answers when the car has: `{"result":true}`, with
 *   `"woke":true` when it had to wake it. The car's refusal is `result`
 *   false with the car's reason.
 * Tessie documents the success shape; the shape of its refusals and errors
 * (401, 429, 5xx) here is our reading, and our controller keys on the status
 * and `result` only.
 *
 * Faults (car-service-faults.ts) through `POST /sim/fault` or `setFault`;
 * `revoke-tokens` makes the token invalid. Calls counted by endpoint.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  bearerToken,
  CarPresence,
  type CarServiceFault,
  CarServiceFaults,
  closeServer,
  delayUnlessClosed,
  listenOn,
  readBody,
  sendJson,
  teslaChargeState,
} from './car-service-faults.js';
import type { SimCarCommand, SimulatedCar } from './sim-car.js';

export interface TessieServerOptions {
  car: (vin: string) => SimulatedCar | undefined;
  cars: () => SimulatedCar[];
  /** The one access token Tessie accepts. */
  token: string;
  /** The cars' clock (simulated ms). Default Date.now. */
  simNow?: () => number;
  host?: string;
  port?: number;
  /** How often a waiting command looks whether the car is awake, real ms. Default 50. */
  wakePollMs?: number;
}

export interface TessieServer {
  /** `url` is the API base, like https://api.tessie.com. */
  start(): Promise<{ url: string }>;
  stop(): Promise<void>;
  setFault(fault: CarServiceFault): void;
  clearFaults(): void;
  /** Calls by endpoint: `state`, `status`, `wake`, `start_charging`, `stop_charging`, `set_charging_amps`, `set_charge_limit`. */
  calls(): Record<string, number>;
  clearCalls(): void;
}

const COMMANDS = new Set(['start_charging', 'stop_charging', 'set_charging_amps', 'set_charge_limit']);
const WAKE_TIMEOUT_S = 90;
const DEFAULT_RETRY_DURATION_S = 40;

export function createTessieServer(options: TessieServerOptions): TessieServer {
  const simNow = options.simNow ?? Date.now;
  const host = options.host ?? '127.0.0.1';
  const wakePollMs = options.wakePollMs ?? 50;
  const faults = new CarServiceFaults();
  const presence = new CarPresence();
  let revoked = false;
  let server: Server | undefined;

  function vehicleJson(car: SimulatedCar): Record<string, unknown> {
    const simMs = simNow();
    const state = car.state(simMs);
    return {
      vin: car.vin,
      display_name: state.displayName,
      state: presence.online(car, simMs) ? 'online' : 'asleep',
      in_service: false,
      charge_state: {
        ...teslaChargeState(state),
        // Tessie adds the energy left in the pack, kWh.
        energy_remaining: Math.round(state.usableCapacityKwh * state.batteryLevelPct) / 100,
      },
    };
  }

  /** Wakes the car and waits (real time) until it is online; false after `timeoutS`. */
  async function awake(car: SimulatedCar, response: ServerResponse | undefined, timeoutS: number): Promise<boolean> {
    const deadline = Date.now() + timeoutS * 1000;
    presence.wake(car, simNow());
    while (!presence.online(car, simNow())) {
      if (Date.now() >= deadline) return false;
      if (response) {
        if (!(await delayUnlessClosed(response, wakePollMs))) return false;
      } else {
        await new Promise((resolve) => setTimeout(resolve, wakePollMs));
      }
    }
    return true;
  }

  function simCommand(name: string, query: URLSearchParams): SimCarCommand | undefined {
    if (name === 'start_charging') return { name: 'charge_start' };
    if (name === 'stop_charging') return { name: 'charge_stop' };
    const number = (key: string) => {
      const text = query.get(key);
      const value = text === null ? Number.NaN : Number(text);
      return Number.isFinite(value) ? value : undefined;
    };
    if (name === 'set_charging_amps') {
      const amps = number('amps');
      return amps === undefined ? undefined : { name, amps };
    }
    const percent = number('percent');
    return percent === undefined ? undefined : { name: 'set_charge_limit', percent };
  }

  async function answerCommand(
    response: ServerResponse,
    car: SimulatedCar,
    name: string,
    query: URLSearchParams,
  ): Promise<void> {
    const command = simCommand(name, query);
    if (!command) return sendJson(response, 400, { error: `${name}: missing or invalid parameter` });
    const waitForCompletion = query.get('wait_for_completion') !== 'false';
    const retryText = query.get('retry_duration');
    const retryS = retryText !== null && Number(retryText) >= 0 ? Number(retryText) : DEFAULT_RETRY_DURATION_S;
    const woke = !presence.online(car, simNow());
    const carryOut = async () => {
      if (woke && !(await awake(car, waitForCompletion ? response : undefined, retryS)))
        return { result: false, woke: true };
      const refusal = faults.takeRefusal(name);
      const result = refusal ? { result: false, reason: refusal.reason } : car.command(command, simNow());
      const answer: Record<string, unknown> = { result: result.result };
      if (!result.result) answer.reason = result.reason;
      if (woke) answer.woke = true;
      return answer;
    };
    if (!waitForCompletion) {
      sendJson(response, 200, { result: true });
      await carryOut();
      return;
    }
    const answer = await carryOut();
    if (!response.destroyed) sendJson(response, 200, answer);
  }

  async function answer(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const parts = url.pathname.split('/').filter(Boolean);
    const [vin, action, name] = parts;
    const endpoint = action === 'command' ? (name ?? 'command') : (action ?? 'vehicle');
    faults.count(endpoint);
    if (request.method === 'POST') await readBody(request);
    const presented = bearerToken(request, url.searchParams);
    if (revoked || presented !== options.token) return sendJson(response, 401, { error: 'Unauthorized' });
    const delayMs = faults.takeDelayMs(endpoint);
    if (delayMs > 0 && !(await delayUnlessClosed(response, delayMs))) return;
    const status = faults.takeServerError(endpoint);
    if (status !== undefined) return sendJson(response, status, { error: 'Internal Server Error' });
    const limited = faults.takeRateLimit(endpoint);
    if (limited) {
      return sendJson(response, 429, { error: 'Too Many Requests' }, { 'retry-after': String(limited.retryAfterS) });
    }
    const car = vin === undefined ? undefined : options.car(vin);
    if (!car) return sendJson(response, 404, { error: 'Vehicle not found' });
    if (action === 'state' && request.method === 'GET') return sendJson(response, 200, vehicleJson(car));
    if (action === 'status' && request.method === 'GET') {
      return sendJson(response, 200, { status: presence.online(car, simNow()) ? 'awake' : 'asleep' });
    }
    if (action === 'wake' && request.method === 'POST') {
      const ok = await awake(car, response, WAKE_TIMEOUT_S);
      if (!response.destroyed) sendJson(response, 200, { result: ok });
      return;
    }
    if (action === 'command' && name !== undefined && COMMANDS.has(name) && request.method === 'POST') {
      return answerCommand(response, car, name, url.searchParams);
    }
    sendJson(response, 404, { error: 'Not found' });
  }

  async function answerControl(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    if (path === '/sim/calls' && request.method === 'GET') return sendJson(response, 200, faults.calls());
    if (path === '/sim/fault' && request.method === 'POST') {
      try {
        setFault(JSON.parse(await readBody(request)));
      } catch (error) {
        return sendJson(response, 400, { error: error instanceof Error ? error.message : String(error) });
      }
      return sendJson(response, 200, { ok: true });
    }
    if (path === '/sim/clear' && request.method === 'POST') {
      faults.clear();
      revoked = false;
      return sendJson(response, 200, { ok: true });
    }
    sendJson(response, 404, { error: `no control path ${request.method} ${path}` });
  }

  function setFault(fault: CarServiceFault): void {
    const parsed = faults.add(fault);
    if (parsed.kind === 'asleep') {
      const cars = parsed.vin ? [options.car(parsed.vin)].filter((car) => car !== undefined) : options.cars();
      for (const car of cars) presence.sleep(car.vin);
    } else if (parsed.kind === 'revoke-tokens' || parsed.kind === 'expire-access-tokens') {
      // Tessie's token does not expire; revoking it (or deleting it in Tessie's settings) is the only end.
      revoked = true;
    }
  }

  return {
    async start() {
      if (server) throw new Error('Tessie stand-in already started');
      const listening = createServer((request, response) => {
        const url = new URL(request.url ?? '/', 'http://localhost');
        const work = url.pathname.startsWith('/sim/')
          ? answerControl(request, response, url.pathname)
          : answer(request, response, url);
        work.catch(() => {
          if (!response.headersSent) sendJson(response, 500, { error: 'Internal Server Error' });
          else response.destroy();
        });
      });
      server = listening;
      return { url: await listenOn(listening, options.port ?? 0, host) };
    },
    async stop() {
      const stopping = server;
      server = undefined;
      await closeServer(stopping);
    },
    setFault,
    clearFaults() {
      faults.clear();
      revoked = false;
    },
    calls: () => faults.calls(),
    clearCalls: () => faults.clearCalls(),
  };
}
