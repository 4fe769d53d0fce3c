/**
 * What the stand-ins for the car-control services (tesla-fleet-server.ts,
 * tessie-server.ts) share: the failures they can be told to show, the count
 * of calls by endpoint (Tesla bills every call, so the tests check how few
 * our controllers make), and the small node:http helpers.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { SimCarState, SimulatedCar } from './sim-car.js';

/** A failure to show, set through `POST /sim/fault` or `setFault`. Counts apply to the next calls of the car endpoints. */
export const carServiceFaultSchema = z.discriminatedUnion('kind', [
  /** The car goes to sleep: reads answer "asleep" until a wake-up. */
  z.object({ kind: z.literal('asleep'), vin: z.string().optional() }),
  /** 429 Too Many Requests for the next `count` calls, with Retry-After in seconds. */
  z.object({
    kind: z.literal('rate-limit'),
    count: z.number().int().positive().default(1),
    retryAfterS: z.number().int().min(0).default(1),
    /** Only calls to this endpoint (a name as counted, e.g. `charge_start`); any when absent. */
    endpoint: z.string().optional(),
  }),
  /** Every access token issued so far expires now. */
  z.object({ kind: z.literal('expire-access-tokens') }),
  /** Every refresh token and access token issued so far is revoked (the owner signed out everywhere). */
  z.object({ kind: z.literal('revoke-tokens') }),
  /** The car refuses the next `count` commands with `reason`. */
  z.object({
    kind: z.literal('refuse'),
    reason: z.string().min(1),
    count: z.number().int().positive().default(1),
    endpoint: z.string().optional(),
  }),
  /** The next `count` answers come after `delayMs`. */
  z.object({
    kind: z.literal('slow'),
    delayMs: z.number().int().positive(),
    count: z.number().int().positive().default(1),
    endpoint: z.string().optional(),
  }),
  /** The next `count` calls answer this 5xx status. */
  z.object({
    kind: z.literal('server-error'),
    status: z.number().int().min(500).max(599).default(503),
    count: z.number().int().positive().default(1),
    endpoint: z.string().optional(),
  }),
]);

export type CarServiceFault = z.input<typeof carServiceFaultSchema>;
type ParsedFault = z.output<typeof carServiceFaultSchema>;

interface Counted<T> {
  fault: T;
  remaining: number;
}

/** The faults in effect and the call counts of one service. */
export class CarServiceFaults {
  private rateLimits: Counted<Extract<ParsedFault, { kind: 'rate-limit' }>>[] = [];
  private refusals: Counted<Extract<ParsedFault, { kind: 'refuse' }>>[] = [];
  private slows: Counted<Extract<ParsedFault, { kind: 'slow' }>>[] = [];
  private errors: Counted<Extract<ParsedFault, { kind: 'server-error' }>>[] = [];
  private counts: Record<string, number> = {};

  /** Parses and applies a fault; the token and sleep faults are returned for the server to apply. */
  add(input: unknown): ParsedFault {
    const fault = carServiceFaultSchema.parse(input);
    switch (fault.kind) {
      case 'rate-limit':
        this.rateLimits.push({ fault, remaining: fault.count });
        break;
      case 'refuse':
        this.refusals.push({ fault, remaining: fault.count });
        break;
      case 'slow':
        this.slows.push({ fault, remaining: fault.count });
        break;
      case 'server-error':
        this.errors.push({ fault, remaining: fault.count });
        break;
      default:
        break;
    }
    return fault;
  }

  clear(): void {
    this.rateLimits = [];
    this.refusals = [];
    this.slows = [];
    this.errors = [];
  }

  count(endpoint: string): void {
    this.counts[endpoint] = (this.counts[endpoint] ?? 0) + 1;
  }

  calls(): Record<string, number> {
    return { ...this.counts };
  }

  clearCalls(): void {
    this.counts = {};
  }

  takeRateLimit(endpoint: string): { retryAfterS: number } | undefined {
    return take(
      this.rateLimits,
      (list) => {
        this.rateLimits = list;
      },
      endpoint,
    );
  }

  takeRefusal(endpoint: string): { reason: string } | undefined {
    return take(
      this.refusals,
      (list) => {
        this.refusals = list;
      },
      endpoint,
    );
  }

  takeDelayMs(endpoint: string): number {
    return (
      take(
        this.slows,
        (list) => {
          this.slows = list;
        },
        endpoint,
      )?.delayMs ?? 0
    );
  }

  takeServerError(endpoint: string): number | undefined {
    return take(
      this.errors,
      (list) => {
        this.errors = list;
      },
      endpoint,
    )?.status;
  }
}

function take<T extends { endpoint?: string | undefined }>(
  list: Counted<T>[],
  store: (list: Counted<T>[]) => void,
  endpoint?: string,
): T | undefined {
  const first = list.find((entry) => entry.fault.endpoint === undefined || entry.fault.endpoint === endpoint);
  if (!first) return undefined;
  first.remaining -= 1;
  store(list.filter((entry) => entry.remaining > 0));
  return first.fault;
}

export function sendJson(
  response: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
) {
  const body = `${JSON.stringify(value)}\n`;
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  response.end(body);
}

export function readBody(request: IncomingMessage, limitBytes = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        reject(new Error(`body larger than ${limitBytes} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

export function bearerToken(request: IncomingMessage, query?: URLSearchParams): string | undefined {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1] ?? query?.get('access_token') ?? undefined;
}

export async function listenOn(server: Server, port: number, host: string, scheme = 'http'): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${hostInUrl}:${address.port}`;
}

export async function closeServer(server: Server | undefined): Promise<void> {
  if (!server?.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Answers held back by the slow fault would keep close() waiting.
  server.closeAllConnections();
  await closed;
}

/** Waits `ms` real milliseconds, or less when the client hangs up; false when it did. */
export function delayUnlessClosed(response: ServerResponse, ms: number): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      response.off('close', onClose);
      resolve(!response.destroyed);
    }, ms);
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    response.once('close', onClose);
  });
}

/**
 * Whether each car answers, as a service sees it: asleep when the car says
 * so or when the `asleep` fault put it to sleep, and online again from the
 * instant its wake-up says. Times are the car's (simulated) milliseconds.
 */
export class CarPresence {
  private readonly forcedAsleep = new Set<string>();
  private readonly onlineFromMs = new Map<string, number>();

  sleep(vin: string): void {
    this.forcedAsleep.add(vin);
    this.onlineFromMs.delete(vin);
  }

  online(car: SimulatedCar, simMs: number): boolean {
    if (this.forcedAsleep.has(car.vin)) return false;
    const fromMs = this.onlineFromMs.get(car.vin);
    if (fromMs !== undefined && simMs < fromMs) return false;
    return car.state(simMs).online;
  }

  /** Starts waking the car; the answer comes at once, the car is online later. */
  wake(car: SimulatedCar, simMs: number): void {
    if (this.online(car, simMs)) return;
    const fromMs = this.onlineFromMs.get(car.vin);
    // A wake-up already under way is not started again.
    if (this.forcedAsleep.has(car.vin) || fromMs === undefined || simMs >= fromMs) {
      this.forcedAsleep.delete(car.vin);
      this.onlineFromMs.set(car.vin, car.wake(simMs).onlineAtMs);
    }
  }
}

/** Tesla's `charge_state` object (the fields a charging app reads), from the car's state. */
export function teslaChargeState(state: SimCarState): Record<string, unknown> {
  const hoursToFull = Math.round((state.minutesToFullCharge / 60) * 100) / 100;
  return {
    battery_level: state.batteryLevelPct,
    usable_battery_level: state.batteryLevelPct,
    charge_limit_soc: state.chargeLimitPct,
    charge_limit_soc_min: 50,
    charge_limit_soc_max: 100,
    charge_limit_soc_std: 80,
    charging_state: state.chargingState,
    charge_amps: state.chargeAmps,
    charge_current_request: state.chargeAmps,
    charge_current_request_max: state.chargeCurrentRequestMax,
    charger_actual_current: state.chargerActualCurrentA,
    charger_pilot_current: state.chargeCurrentRequestMax,
    // The car reports whole kilowatts here.
    charger_power: Math.round(state.chargerPowerKw),
    charger_voltage: state.chargerVoltage,
    charger_phases: state.chargingState === 'Charging' ? 1 : null,
    charge_energy_added: Math.round(state.chargeEnergyAddedKwh * 100) / 100,
    minutes_to_full_charge: state.minutesToFullCharge,
    time_to_full_charge: hoursToFull,
    charge_port_door_open: state.pluggedIn,
    charge_port_latch: state.pluggedIn ? 'Engaged' : 'Disengaged',
    conn_charge_cable: state.pluggedIn ? 'SAE' : '<invalid>',
    fast_charger_present: false,
    charge_enable_request: state.chargingState !== 'Stopped',
    scheduled_charging_pending: state.scheduledChargingPending,
    // Seconds since the epoch, as the car reports it.
    scheduled_charging_start_time:
      state.scheduledChargingStartMs === null ? null : Math.round(state.scheduledChargingStartMs / 1000),
    timestamp: Math.round(state.simMs),
  };
}
