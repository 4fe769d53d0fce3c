/**
 * The car behind a simulated Wall Connector, as the car-control services see
 * it (Tesla's Fleet API and vehicle-command proxy, Tessie: see
 * tesla-fleet-server.ts and tessie-server.ts). The charger model owns the car:
 * what the car is told changes what the Wall Connector's vitals show (a
 * charge_stop opens the contactor, set_charging_amps changes the current) and
 * the state of charge rises with the energy delivered.
 *
 * Times are simulated milliseconds; every call names the instant it happens
 * at, so the car stays a function of its seed and the commands it was given.
 */

import { z } from 'zod';
import type { SimCarIdentity } from './car-profile.js';

export type { SimCarIdentity };

/** Tesla's `charge_state.charging_state` values. */
export type SimChargingState = 'Disconnected' | 'NoPower' | 'Starting' | 'Charging' | 'Stopped' | 'Complete';

export interface SimCarState {
  vin: string;
  displayName: string;
  /** `online` or `asleep`; an asleep car answers nothing but wake_up. */
  online: boolean;
  /** Percent, whole numbers as the car reports them. */
  batteryLevelPct: number;
  chargeLimitPct: number;
  usableCapacityKwh: number;
  chargingState: SimChargingState;
  /** The current the car asks for (set_charging_amps), and the most it may. */
  chargeAmps: number;
  chargeCurrentRequestMax: number;
  chargerActualCurrentA: number;
  chargerPowerKw: number;
  chargerVoltage: number;
  /** kWh added since plug-in. */
  chargeEnergyAddedKwh: number;
  minutesToFullCharge: number;
  pluggedIn: boolean;
  simMs: number;
  /** The exact state of charge behind `batteryLevelPct` (its rounding). */
  batteryLevelExactPct: number;
  /** Waiting for the car's own scheduled start (Tesla's `scheduled_charging_pending`). */
  scheduledChargingPending: boolean;
  /** When that scheduled start is, simulated ms; null when none is pending. */
  scheduledChargingStartMs: number | null;
}

export type SimCarCommand =
  | { name: 'charge_start' }
  | { name: 'charge_stop' }
  | { name: 'set_charging_amps'; amps: number }
  | { name: 'set_charge_limit'; percent: number };

/** A command as JSON (the simulator's POST /sim/car/app body). */
export const simCarCommandSchema = z.discriminatedUnion('name', [
  z.object({ name: z.literal('charge_start') }),
  z.object({ name: z.literal('charge_stop') }),
  z.object({ name: z.literal('set_charging_amps'), amps: z.number().finite() }),
  z.object({ name: z.literal('set_charge_limit'), percent: z.number().finite() }),
]);

/** Validates a command; throws an Error whose message names the offending field. */
export function parseSimCarCommand(input: unknown): SimCarCommand {
  const result = simCarCommandSchema.safeParse(input);
  if (!result.success) throw new Error(`invalid car command: ${z.prettifyError(result.error)}`);
  return result.data;
}

/**
 * Tesla's command answer: `result` false with a reason such as `is_charging`,
 * `not_charging`, `complete`, `disconnected`, `already_set`. An asleep (or
 * still waking) car answers `{result: false, reason: 'vehicle_unavailable'}`
 * (VEHICLE_UNAVAILABLE): Tesla's Fleet API says that with HTTP 408 instead,
 * which the fake services translate.
 */
export interface SimCommandResult {
  result: boolean;
  reason: string;
}

export const VEHICLE_UNAVAILABLE = 'vehicle_unavailable';

/** Who gave a command: a car-control service (the fakes of Tesla's Fleet API and Tessie) or the owner in the Tesla app. */
export type SimCommandSource = 'api' | 'app';

export interface TruthCarCommand {
  atMs: number;
  source: SimCommandSource;
  command: SimCarCommand | { name: 'wake_up' };
  result: SimCommandResult;
  /** For a wake_up: when the car is online. */
  onlineAtMs?: number;
}

export type CarRunStart = 'plan' | 'charge_start' | 'app' | 'resume' | 'limit';
export type CarRunEnd = 'complete' | 'charge_stop' | 'app' | 'limit' | 'reboot' | 'unplug';

/** A charging run as the car saw it: what started it and what ended it. */
export interface TruthCarRun {
  plugInMs: number;
  startMs: number;
  /** null while still charging at the time asked. */
  stopMs: number | null;
  /** plan: the car's own plan (right away, or its scheduled time); resume: after a charger reboot; limit: a raised charge limit. */
  startedBy: CarRunStart;
  /** null while still charging at the time asked. */
  endedBy: CarRunEnd | null;
}

export interface TruthCarSession {
  plugInMs: number;
  socAtPlugInPct: number;
  /** At unplug, or at the time asked while still plugged in; exact. */
  socPct: number;
  chargeLimitPct: number;
}

export interface CarTruth {
  vin: string;
  displayName: string;
  usableCapacityKwh: number;
  efficiency: number;
  commands: TruthCarCommand[];
  runs: TruthCarRun[];
  sessions: TruthCarSession[];
}

export interface SimulatedCar {
  readonly vin: string;
  readonly identity: SimCarIdentity;
  state(simMs: number): SimCarState;
  /** Wakes the car; it is online from the returned instant (`simMs` itself when it was awake). */
  wake(simMs: number): { onlineAtMs: number };
  /** Carries out a command at `simMs` (the car must be online). Throws on a non-numeric amps or percent. */
  command(command: SimCarCommand, simMs: number): SimCommandResult;
  /** The owner's command from the Tesla app: recorded like the others, and it reaches the car asleep or not. */
  appCommand(command: SimCarCommand, simMs: number): SimCommandResult;
  /** Whether the car is online at `simMs` (awake and answering commands). */
  online(simMs: number): boolean;
  truth(asOfMs: number): CarTruth;
}
