/**
 * A controller: how the planner tells one charger's car to charge or wait.
 * The Wall Connector Gen 3's local API is read-only, so control goes through
 * the car: Tesla's Fleet API (commands signed by Tesla's vehicle-command
 * proxy), Tessie, or nobody (`mqtt`: Home Assistant drives its own Tesla
 * integration from the published plan; `none`: advice only).
 *
 * A controller never throws for the car's or the service's failures: every
 * call answers with an outcome the loop records as an event. The loop
 * decides what to send and when (core/src/planning/charge-control.ts);
 * controllers carry out one call, waking the car only when a command is due.
 */

export type ControllerKind = 'tesla-fleet' | 'tessie' | 'mqtt' | 'none';

export type ChargingState = 'disconnected' | 'no_power' | 'starting' | 'charging' | 'stopped' | 'complete';

/** What the car says of its charging, when the controller can read it. */
export interface CarChargeState {
  /** When the car reported it (its own timestamp where it gives one). */
  atMs: number;
  batteryLevelPct: number | null;
  chargeLimitPct: number | null;
  /** Usable battery capacity, kWh, where the service tells it or the user configured it. */
  usableCapacityKwh: number | null;
  chargingState: ChargingState | null;
  chargeAmps: number | null;
  maxAmps: number | null;
}

export type ControlCommandName = 'charge_start' | 'charge_stop' | 'set_charging_amps' | 'wake_up';

/** Why a call failed, in words the status page and the alerts can show. */
export type ControlFailure =
  | 'asleep' // the car did not wake in time
  | 'rate_limited' // 429, after the retries
  | 'unauthorized' // a token that cannot be refreshed
  | 'refused' // the car answered result false for a reason that is not "already so"
  | 'timeout'
  | 'unreachable' // connection refused, DNS, TLS
  | 'bad_response'; // an answer we could not read

export interface ControlOutcome {
  command: ControlCommandName | 'read_state';
  ok: boolean;
  /** On failure, why; on success null. */
  failure: ControlFailure | null;
  /** The service's own words: a reason such as `is_charging`, an error text. */
  detail: string;
  /** Calls made to the service for this one (retries and wake-ups included). */
  calls: number;
  /** The car was woken for it. */
  woke: boolean;
  durationMs: number;
}

export interface ControllerUsage {
  /** Calls to the service since start, by endpoint name (`vehicle_data`, `charge_start`, `token`, ...). */
  calls: Record<string, number>;
  failures: number;
  lastFailure: { atMs: number; failure: ControlFailure; detail: string } | null;
}

export interface ChargeController {
  readonly kind: ControllerKind;
  /** false for `mqtt` and `none`: they never reach the car. */
  readonly commandsCar: boolean;
  /** The car's charge state; undefined when this controller cannot read it or the read failed (the outcome says why). */
  readChargeState(): Promise<{ state: CarChargeState | undefined; outcome: ControlOutcome }>;
  startCharging(): Promise<ControlOutcome>;
  stopCharging(): Promise<ControlOutcome>;
  setChargingAmps(amps: number): Promise<ControlOutcome>;
  usage(): ControllerUsage;
  close(): Promise<void>;
}
