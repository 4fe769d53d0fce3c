/**
 * What to tell the car, now: the decisions of the loop that keeps a charge
 * plan true (charge-plan.ts), as a pure state machine. The car is commanded
 * through a controller (Tesla's Fleet API, Tessie, ...); the Wall Connector's
 * vitals say what actually happens. State, observation and time in; the
 * command to send (if any) and the next state out.
 *
 * The rules, in order:
 * - Smart charging off, no plan, or "charge now": the car may charge. A car
 *   this loop stopped is started again.
 * - Unplugged: everything is forgotten; the next plug-in starts afresh.
 * - The user wins: when the car charges although the plan says wait and the
 *   last stop we sent was carried out, somebody started it (the Tesla app,
 *   the car's screen); the loop stops commanding until the car is unplugged.
 * - Fail safe: after `maxFailures` failed commands in a row the loop gives up
 *   commanding stops and asks for charging, so a car is never left
 *   uncharged by our bug or a controller's outage.
 * - Commands are paced: the same command is not sent again within
 *   `minIntervalMs` of the last, and after a failure only after a backoff
 *   doubling from `retryBaseMs` up to `retryMaxMs`.
 */

export type ControlMode = 'smart' | 'charge_now' | 'off';

export type ChargeCommand = 'start' | 'stop';

export interface ControlSettings {
  /** The same command is not repeated sooner than this. */
  minIntervalMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Failed commands in a row before the loop falls back to charging. */
  maxFailures: number;
  /** A command is taken as carried out when the vitals agree within this time. */
  settleMs: number;
}

export const DEFAULT_CONTROL_SETTINGS: ControlSettings = {
  minIntervalMs: 2 * 60_000,
  retryBaseMs: 60_000,
  retryMaxMs: 15 * 60_000,
  maxFailures: 4,
  settleMs: 3 * 60_000,
};

export interface ControlState {
  /** The last command sent, and what came of it (null: no answer yet). */
  lastCommand: { command: ChargeCommand; atMs: number; ok: boolean | null } | null;
  /** Failed commands in a row. */
  failures: number;
  /** A stop of ours is in effect: answered ok and seen in the vitals. */
  stoppedByUs: boolean;
  /** The user took over this plug-in: no more commands until unplugged. */
  userOverride: boolean;
  /** Given up on commanding stops after repeated failures, until unplugged. */
  failSafe: boolean;
}

export const INITIAL_CONTROL_STATE: ControlState = {
  lastCommand: null,
  failures: 0,
  stoppedByUs: false,
  userOverride: false,
  failSafe: false,
};

export interface Observation {
  nowMs: number;
  mode: ControlMode;
  /** Whether the plan wants the car charging now; undefined without a plan. */
  planSaysCharge: boolean | undefined;
  /** From the Wall Connector's vitals. */
  vehicleConnected: boolean;
  /** The contactor is closed and current flows (vitals `charging`). */
  charging: boolean;
  /** The car's own state, when the controller can read it: at its charge limit it will not charge whatever we send. */
  complete?: boolean;
}

export type DecisionReason =
  | 'unplugged'
  | 'user_override'
  | 'fail_safe'
  | 'complete'
  | 'in_step'
  | 'waiting'
  | 'backoff'
  | 'start_allowed'
  | 'plan_start'
  | 'plan_stop'
  /** Starting a car we stopped because smart charging is off, "charge now", or there is no plan. */
  | 'release';

export interface Decision {
  /** The command to send now, if any; report its outcome with `commandResult`. */
  send: ChargeCommand | null;
  /** Whether the car may charge now, by the rules above (what Home Assistant's "charging allowed" shows). */
  chargingAllowed: boolean;
  reason: DecisionReason;
  state: ControlState;
}

function backoffMs(settings: ControlSettings, failures: number): number {
  return Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.max(0, failures - 1));
}

/** The next step: what to send now, given what the vitals show. */
export function decide(
  state: ControlState,
  observation: Observation,
  settings: ControlSettings = DEFAULT_CONTROL_SETTINGS,
): Decision {
  const { nowMs, charging } = observation;
  if (!observation.vehicleConnected) {
    return { send: null, chargingAllowed: true, reason: 'unplugged', state: INITIAL_CONTROL_STATE };
  }
  let next: ControlState = { ...state };
  const last = next.lastCommand;
  // What the vitals say of the last command.
  if (last?.ok === true && last.command === 'stop' && !charging) next.stoppedByUs = true;
  if (last?.ok === true && last.command === 'start' && charging) next.stoppedByUs = false;
  if (next.stoppedByUs && charging && last?.command === 'stop') {
    // Charging again after a stop of ours took effect, with no start of ours since: the user did it.
    next = { ...next, stoppedByUs: false, userOverride: true };
  } else if (
    last?.ok === true &&
    nowMs - last.atMs > settings.settleMs &&
    ((last.command === 'stop' && charging && !next.stoppedByUs) ||
      (last.command === 'start' && !charging && !observation.complete))
  ) {
    // Answered ok, but the vitals never followed: a failure like any other.
    next = commandResult(next, false, settings);
  }

  const allowedByMode = observation.mode !== 'smart' || observation.planSaysCharge !== false;
  const chargingAllowed = allowedByMode || next.userOverride || next.failSafe;
  const decision = (send: ChargeCommand | null, reason: DecisionReason): Decision => ({
    send,
    chargingAllowed,
    reason,
    state: send ? { ...next, lastCommand: { command: send, atMs: nowMs, ok: null } } : next,
  });
  if (next.userOverride) return decision(null, 'user_override');
  const want: ChargeCommand = chargingAllowed ? 'start' : 'stop';
  if ((want === 'start') === charging) return decision(null, 'in_step');
  if (want === 'start') {
    if (observation.complete) return decision(null, 'complete');
    const ours =
      next.stoppedByUs || next.failSafe || (next.lastCommand?.command === 'start' && next.lastCommand.ok === false);
    // Not charging, allowed to, and not because of us: the car's own business (its schedule, its limit).
    if (!ours) return decision(null, 'start_allowed');
  }
  const previous = next.lastCommand;
  if (previous?.ok === null && nowMs - previous.atMs < settings.settleMs) return decision(null, 'waiting');
  // The same command answered ok is given time to show in the vitals before it counts as failed and is sent again.
  if (
    previous?.command === want &&
    previous.ok === true &&
    nowMs - previous.atMs <= Math.max(settings.minIntervalMs, settings.settleMs)
  ) {
    return decision(null, 'waiting');
  }
  if (previous?.ok === false && nowMs - previous.atMs < backoffMs(settings, next.failures)) {
    return decision(null, 'backoff');
  }
  if (want === 'stop') return decision('stop', 'plan_stop');
  if (next.failSafe) return decision('start', 'fail_safe');
  return decision(
    'start',
    allowedByMode && observation.mode === 'smart' && observation.planSaysCharge ? 'plan_start' : 'release',
  );
}

/**
 * The answer to the command `decide` asked for. Repeated failures put the
 * loop in fail-safe: it stops commanding stops and asks for charging.
 */
export function commandResult(
  state: ControlState,
  ok: boolean,
  settings: ControlSettings = DEFAULT_CONTROL_SETTINGS,
): ControlState {
  const lastCommand = state.lastCommand && { ...state.lastCommand, ok };
  // Fail-safe holds until the car is unplugged: a controller that failed four times is not trusted to stop it again.
  if (ok) return { ...state, lastCommand, failures: 0 };
  const failures = state.failures + 1;
  return { ...state, lastCommand, failures, failSafe: state.failSafe || failures >= settings.maxFailures };
}
