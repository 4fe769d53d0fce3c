/**
 * Local stand-ins for Tesla's car-control services, for tests and the demo:
 * the Fleet API, its OAuth token endpoint and Tesla's vehicle-command proxy
 * (`tesla-http-proxy`, github.com/teslamotors/vehicle-command), each serving
 * the simulated cars by VIN in the real formats.
 *
 * Fleet API (one listener, which also answers the token endpoint of
 * auth.tesla.com at `/oauth2/v3/token`):
 * - `GET /api/1/vehicles`, `GET /api/1/vehicles/{vin}`: the vehicle with its
 *   `state` (`online`, `asleep`); free of charge at Tesla.
 * - `GET /api/1/vehicles/{vin}/vehicle_data?endpoints=charge_state`: 408
 *   `vehicle unavailable: vehicle is offline or asleep` when the car sleeps.
 * - `POST /api/1/vehicles/{vin}/wake_up`: answers the vehicle at once (still
 *   asleep); the car is online some seconds later.
 * - `POST /api/1/vehicles/{vin}/command/...`: refused with 403 "Tesla Vehicle
 *   Command Protocol required", as the Fleet API answers unsigned commands
 *   for cars built since late 2023 and for every car since 2024.
 * - Tokens: `grant_type=refresh_token` issues an access token (8 hours) and a
 *   new refresh token; the used one is refused from then on (rotation), 401
 *   `login_required`. An expired or unknown access token gets 401.
 *
 * Proxy (a second listener): signs `POST .../command/{charge_start,
 * charge_stop,set_charging_amps,set_charge_limit,wake_up}` and forwards
 * everything else to the Fleet API. As the real proxy answers: success
 * `{"response":{"result":true,"reason":""}}`; the car's refusal 200 with
 * `result` false and its reason; an asleep car 500 `vehicle unavailable:
 * vehicle is offline or asleep`; the Fleet API's own errors (401, 429) with
 * its status and body but none of its headers, so no Retry-After; no token
 * 403 `client did not provide an OAuth token`. The real proxy listens on
 * HTTPS only, with a certificate of your own: so does this one when given
 * `proxyTls`; without, it speaks plain HTTP (the demo, most tests).
 *
 * Faults (car-service-faults.ts) are set with `POST /sim/fault` on either
 * listener or `setFault`; calls are counted by endpoint (`GET /sim/calls`).
 * The faults apply to the `/api/1` endpoints, not to the token endpoint.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
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

export interface TeslaFleetServerOptions {
  /** The car with this VIN, if the account has it. */
  car: (vin: string) => SimulatedCar | undefined;
  /** Every car of the account, for `GET /api/1/vehicles`. */
  cars: () => SimulatedCar[];
  /** The cars' clock (simulated ms). Default Date.now. */
  simNow?: () => number;
  /** The clock tokens expire by (real ms). Default Date.now. */
  now?: () => number;
  /** The client id of the developer app; the token endpoint refuses others. Any when absent. */
  clientId?: string;
  /** Lifetime of an access token. Default 28800 s, as Tesla issues them. */
  accessTokenTtlS?: number;
  host?: string;
  /** Ports; 0 (default) picks a free one. */
  apiPort?: number;
  proxyPort?: number;
  /** PEM certificate and key: the proxy answers HTTPS, as Tesla's does. */
  proxyTls?: { cert: string; key: string };
}

export interface TeslaFleetServerUrls {
  /** Base of the Fleet API, like https://fleet-api.prd.na.vn.cloud.tesla.com. */
  apiUrl: string;
  /** Base of the token endpoint, like https://auth.tesla.com (the path is /oauth2/v3/token). */
  authUrl: string;
  /** Base of the vehicle-command proxy, like https://localhost:4443. */
  proxyUrl: string;
}

export interface TeslaFleetServer {
  start(): Promise<TeslaFleetServerUrls>;
  stop(): Promise<void>;
  /** A refresh token the token endpoint accepts once, as the owner's sign-in would give. */
  issueRefreshToken(): string;
  setFault(fault: CarServiceFault): void;
  clearFaults(): void;
  /** Calls by endpoint: `vehicles`, `vehicle`, `vehicle_data`, `wake_up`, `charge_start`, ..., `token`, `command_unsigned`. */
  calls(): Record<string, number>;
  clearCalls(): void;
}

/** The commands the proxy signs (the ones our controllers send). */
const SIGNED_COMMANDS = new Set(['charge_start', 'charge_stop', 'set_charging_amps', 'set_charge_limit', 'wake_up']);
const ASLEEP_ERROR = 'vehicle unavailable: vehicle is offline or asleep';
const UNSIGNED_ERROR =
  'Tesla Vehicle Command Protocol required, please refer to the documentation here: ' +
  'https://developer.tesla.com/docs/fleet-api#2023-10-09-rest-api-vehicle-commands-endpoint-deprecation-warning';
const VIN_LENGTH = 17;

function errorBody(error: string, description = ''): Record<string, unknown> {
  return { response: null, error, error_description: description };
}

function token(prefix: string): string {
  return `${prefix}.${randomBytes(24).toString('base64url')}`;
}

/** A stable numeric id per VIN, as the Fleet API gives each vehicle. */
function vehicleId(vin: string): number {
  let hash = 0;
  for (const char of vin) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return 1_000_000_000_000 + hash;
}

export function createTeslaFleetServer(options: TeslaFleetServerOptions): TeslaFleetServer {
  const simNow = options.simNow ?? Date.now;
  const now = options.now ?? Date.now;
  const host = options.host ?? '127.0.0.1';
  const ttlS = options.accessTokenTtlS ?? 28_800;
  const faults = new CarServiceFaults();
  const presence = new CarPresence();
  const accessTokens = new Map<string, { expiresAtMs: number }>();
  const refreshTokens = new Set<string>();
  let api: Server | undefined;
  let proxy: Server | undefined;

  function vehicleJson(car: SimulatedCar, simMs: number): Record<string, unknown> {
    const id = vehicleId(car.vin);
    return {
      id,
      vehicle_id: id % 1_000_000_000,
      vin: car.vin,
      display_name: car.state(simMs).displayName,
      color: null,
      access_type: 'OWNER',
      granular_access: { hide_private: false },
      tokens: null,
      state: presence.online(car, simMs) ? 'online' : 'asleep',
      in_service: false,
      id_s: String(id),
      calendar_enabled: true,
      api_version: 81,
      backseat_token: null,
      backseat_token_updated_at: null,
    };
  }

  /** 401 unless the request carries a live access token. */
  function authorized(request: IncomingMessage, response: ServerResponse): boolean {
    const presented = bearerToken(request);
    const known = presented ? accessTokens.get(presented) : undefined;
    if (!known) {
      sendJson(response, 401, errorBody('invalid bearer token'));
      return false;
    }
    if (now() >= known.expiresAtMs) {
      sendJson(response, 401, errorBody('token expired (401)'));
      return false;
    }
    return true;
  }

  async function answerToken(request: IncomingMessage, response: ServerResponse): Promise<void> {
    faults.count('token');
    const text = await readBody(request);
    const contentType = request.headers['content-type'] ?? '';
    let fields: Record<string, string>;
    try {
      fields = contentType.includes('application/json')
        ? (JSON.parse(text) as Record<string, string>)
        : Object.fromEntries(new URLSearchParams(text));
    } catch {
      sendJson(response, 400, { error: 'invalid_request', error_description: 'The request body is not valid JSON.' });
      return;
    }
    if (fields.grant_type !== 'refresh_token') {
      sendJson(response, 400, {
        error: 'unsupported_grant_type',
        error_description: 'The authorization grant type is not supported by the authorization server.',
      });
      return;
    }
    if (options.clientId !== undefined && fields.client_id !== options.clientId) {
      sendJson(response, 401, { error: 'invalid_client', error_description: 'Client authentication failed.' });
      return;
    }
    const presented = fields.refresh_token ?? '';
    if (!refreshTokens.delete(presented)) {
      sendJson(response, 401, { error: 'login_required', error_description: 'Login required' });
      return;
    }
    const accessToken = token('access');
    const refreshToken = token('refresh');
    accessTokens.set(accessToken, { expiresAtMs: now() + ttlS * 1000 });
    refreshTokens.add(refreshToken);
    sendJson(response, 200, {
      access_token: accessToken,
      refresh_token: refreshToken,
      id_token: token('id'),
      expires_in: ttlS,
      state: fields.state ?? '',
      token_type: 'Bearer',
    });
  }

  /** The delay, 5xx and 429 faults; true when one of them answered. */
  async function faulted(response: ServerResponse, endpoint: string, viaProxy: boolean): Promise<boolean> {
    const delayMs = faults.takeDelayMs(endpoint);
    if (delayMs > 0 && !(await delayUnlessClosed(response, delayMs))) return true;
    const status = faults.takeServerError(endpoint);
    if (status !== undefined) {
      // The proxy reads a 503 from Tesla as "vehicle unavailable" (pkg/connector/inet).
      if (viaProxy && status === 503) sendJson(response, 500, errorBody(ASLEEP_ERROR));
      else sendJson(response, status, errorBody(status === 503 ? 'Service Unavailable' : 'Internal Server Error'));
      return true;
    }
    const limited = faults.takeRateLimit(endpoint);
    if (limited) {
      // Through the proxy, Tesla's error comes back without its headers.
      const headers: Record<string, string> = viaProxy ? {} : { 'retry-after': String(limited.retryAfterS) };
      sendJson(response, 429, errorBody('Too Many Requests'), headers);
      return true;
    }
    return false;
  }

  async function answerFleet(
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
    viaProxy: boolean,
  ): Promise<void> {
    const parts = url.pathname.split('/').filter(Boolean); // api, 1, vehicles, vin, ...
    if (parts[0] !== 'api' || parts[1] !== '1' || parts[2] !== 'vehicles') {
      sendJson(response, 404, errorBody('not_found'));
      return;
    }
    const vin = parts[3];
    const action = parts[4];
    const endpoint =
      vin === undefined
        ? 'vehicles'
        : action === undefined
          ? 'vehicle'
          : action === 'command'
            ? 'command_unsigned'
            : action;
    faults.count(endpoint);
    // Read the whole request before answering, so the connection stays usable.
    if (request.method === 'POST') await readBody(request);
    if (!authorized(request, response)) return;
    if (await faulted(response, endpoint, viaProxy)) return;
    const simMs = simNow();
    if (vin === undefined) {
      const cars = options.cars();
      sendJson(response, 200, { response: cars.map((car) => vehicleJson(car, simMs)), count: cars.length });
      return;
    }
    const car = options.car(vin);
    if (!car) {
      sendJson(response, 404, errorBody('not_found', `vehicle ${vin} not found`));
      return;
    }
    if (action === undefined && request.method === 'GET') {
      sendJson(response, 200, { response: vehicleJson(car, simMs) });
      return;
    }
    if (action === 'vehicle_data' && request.method === 'GET') {
      if (!presence.online(car, simMs)) {
        sendJson(response, 408, errorBody(ASLEEP_ERROR));
        return;
      }
      const state = car.state(simMs);
      sendJson(response, 200, {
        response: { ...vehicleJson(car, simMs), charge_state: teslaChargeState(state) },
      });
      return;
    }
    if (action === 'wake_up' && request.method === 'POST') {
      const answer = vehicleJson(car, simMs);
      presence.wake(car, simMs);
      sendJson(response, 200, { response: answer });
      return;
    }
    if (action === 'command') {
      sendJson(response, 403, errorBody(UNSIGNED_ERROR));
      return;
    }
    sendJson(response, 404, errorBody('not_found'));
  }

  function simCommand(name: string, body: Record<string, unknown>): SimCarCommand | string {
    switch (name) {
      case 'charge_start':
      case 'charge_stop':
        return { name };
      case 'set_charging_amps':
        return typeof body.charging_amps === 'number'
          ? { name, amps: body.charging_amps }
          : 'error occurred while parsing request parameters';
      case 'set_charge_limit':
        return typeof body.percent === 'number'
          ? { name, percent: body.percent }
          : 'error occurred while parsing request parameters';
      default:
        return `unknown command ${name}`;
    }
  }

  async function answerProxyCommand(
    request: IncomingMessage,
    response: ServerResponse,
    vin: string,
    name: string,
  ): Promise<void> {
    faults.count(name);
    const text = await readBody(request);
    if (request.method !== 'POST') {
      sendJson(response, 405, errorBody('Method Not Allowed'));
      return;
    }
    // The proxy needs a token to reach Tesla; an expired one comes back as Tesla's 401.
    if (!authorized(request, response)) return;
    if (await faulted(response, name, true)) return;
    const car = options.car(vin);
    if (!car) {
      sendJson(response, 404, errorBody('not_found'));
      return;
    }
    const simMs = simNow();
    if (name === 'wake_up') {
      presence.wake(car, simMs);
      sendJson(response, 200, { response: { result: true, reason: '' } });
      return;
    }
    if (!presence.online(car, simMs)) {
      sendJson(response, 500, errorBody(ASLEEP_ERROR));
      return;
    }
    let body: Record<string, unknown> = {};
    try {
      body = text.trim() ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      sendJson(response, 400, errorBody('could not parse JSON body'));
      return;
    }
    const command = simCommand(name, body);
    if (typeof command === 'string') {
      sendJson(response, 400, errorBody(command));
      return;
    }
    const refusal = faults.takeRefusal(name);
    const result = refusal ? { result: false, reason: refusal.reason } : car.command(command, simMs);
    if (!result.result) {
      sendJson(response, 200, { response: { result: false, reason: result.reason }, error: '', error_description: '' });
      return;
    }
    sendJson(response, 200, { response: { result: true, reason: '' } });
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
      return sendJson(response, 200, { ok: true });
    }
    if (path === '/sim/refresh-token' && request.method === 'POST') {
      return sendJson(response, 200, { refresh_token: issueRefreshToken() });
    }
    sendJson(response, 404, { error: `no control path ${request.method} ${path}` });
  }

  function handler(viaProxy: boolean) {
    return (request: IncomingMessage, response: ServerResponse) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const path = url.pathname;
      const work = async () => {
        if (path.startsWith('/sim/')) return answerControl(request, response, path);
        if (!viaProxy && path === '/oauth2/v3/token' && request.method === 'POST') {
          return answerToken(request, response);
        }
        if (viaProxy) {
          if (path === '/health') {
            response.writeHead(200);
            response.end('OK');
            return;
          }
          if (!request.headers.authorization) {
            return sendJson(response, 403, errorBody('client did not provide an OAuth token'));
          }
          const parts = path.split('/');
          if (parts.length === 7 && parts[1] === 'api' && parts[3] === 'vehicles' && parts[5] === 'command') {
            const vin = parts[4] ?? '';
            if (vin.length !== VIN_LENGTH) {
              return sendJson(response, 404, errorBody('expected 17-character VIN in path (do not user Fleet API ID)'));
            }
            const name = parts[6] ?? '';
            if (SIGNED_COMMANDS.has(name)) return answerProxyCommand(request, response, vin, name);
          }
        }
        return answerFleet(request, response, url, viaProxy);
      };
      work().catch(() => {
        if (!response.headersSent) sendJson(response, 500, errorBody('internal server error'));
        else response.destroy();
      });
    };
  }

  function setFault(fault: CarServiceFault): void {
    const parsed = faults.add(fault);
    if (parsed.kind === 'asleep') {
      const cars = parsed.vin ? [options.car(parsed.vin)].filter((car) => car !== undefined) : options.cars();
      for (const car of cars) presence.sleep(car.vin);
    } else if (parsed.kind === 'expire-access-tokens') {
      for (const entry of accessTokens.values()) entry.expiresAtMs = Math.min(entry.expiresAtMs, now());
    } else if (parsed.kind === 'revoke-tokens') {
      accessTokens.clear();
      refreshTokens.clear();
    }
  }

  function issueRefreshToken(): string {
    const issued = token('refresh');
    refreshTokens.add(issued);
    return issued;
  }

  return {
    async start() {
      if (api) throw new Error('Tesla Fleet stand-in already started');
      api = createServer(handler(false));
      proxy = options.proxyTls ? createHttpsServer(options.proxyTls, handler(true)) : createServer(handler(true));
      try {
        const apiUrl = await listenOn(api, options.apiPort ?? 0, host);
        const proxyUrl = await listenOn(proxy, options.proxyPort ?? 0, host, options.proxyTls ? 'https' : 'http');
        return { apiUrl, authUrl: apiUrl, proxyUrl };
      } catch (error) {
        await this.stop();
        throw error;
      }
    },
    async stop() {
      const closing = [closeServer(api), closeServer(proxy)];
      api = undefined;
      proxy = undefined;
      await Promise.all(closing);
    },
    issueRefreshToken,
    setFault,
    clearFaults: () => faults.clear(),
    calls: () => faults.calls(),
    clearCalls: () => faults.clearCalls(),
  };
}
