import { describe, expect, it } from 'vitest';
import {
  CAR_SLEEP_AFTER_MS,
  CAR_START_DELAY_MS,
  CAR_STOP_DELAY_MS,
  CAR_WAKE_MAX_MS,
  CAR_WAKE_MIN_MS,
  vinCheckDigit,
} from '../../src/simulator/car-profile.js';
import { RAMP_MS } from '../../src/simulator/charge-profile.js';
import { type ChargerModelOptions, type ChargerState, createChargerModel } from '../../src/simulator/charger-model.js';
import { parseSimFault } from '../../src/simulator/faults.js';
import type { SimCarCommand } from '../../src/simulator/sim-car.js';
import { must } from './must.js';

const START_MS = Date.UTC(2025, 5, 2, 12, 0, 0);
const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

type Model = ReturnType<typeof createChargerModel>;

function sessionModel(overrides: Partial<ChargerModelOptions> = {}): Model {
  return createChargerModel({ index: 0, seed: 42, startTimeMs: START_MS, scenario: 'session', ...overrides });
}

/** The single session of the `session` scenario, and its one run, before any command. */
function planOf(model: Model) {
  const session = must(model.truth(START_MS + 12 * HOUR_MS).sessions[0], 'session');
  const run = must(session.charging[0], 'run');
  return {
    plugInMs: session.plugInMs,
    unplugMs: must(session.unplugMs),
    startMs: run.startMs,
    stopMs: must(run.stopMs),
  };
}

/** Percent of the car's battery that `wh` delivered at the wall puts in. */
function socGainPct(model: Model, wh: number): number {
  const { efficiency, usableCapacityKwh } = model.car.identity;
  return (wh * efficiency) / (usableCapacityKwh * 10);
}

/** Power by the reference's rules, from the reported (unrounded) readings only. */
function powerFromReadings(state: ChargerState): number {
  return state.contactorClosed ? state.gridV * state.vehicleCurrentA : 0;
}

describe('the car: who it is', () => {
  it('has a VIN of Tesla form with a valid check digit, the same for a seed and index, another per index', () => {
    const vins = new Set<string>();
    for (let index = 0; index < 12; index += 1) {
      const car = createChargerModel({ index, seed: 7, startTimeMs: START_MS }).car;
      expect(car.vin).toMatch(/^(5YJ|7SA|LRW)[A-HJ-NPR-Z0-9]{14}$/);
      expect(car.vin.charAt(8)).toBe(vinCheckDigit(car.vin));
      expect(createChargerModel({ index, seed: 7, startTimeMs: START_MS }).car.identity).toEqual(car.identity);
      expect([57.5, 75, 78.1]).toContain(car.identity.usableCapacityKwh);
      expect([80, 90]).toContain(car.identity.chargeLimitPct);
      expect(car.identity.efficiency).toBeGreaterThanOrEqual(0.88);
      expect(car.identity.efficiency).toBeLessThanOrEqual(0.92);
      expect(car.identity.displayName.length).toBeGreaterThan(0);
      vins.add(car.vin);
    }
    expect(vins.size).toBe(12);
    // The textbook example of the North American check digit.
    expect(vinCheckDigit('1M8GDM9AXKP042788')).toBe('X');
  });
});

describe('the car: state of charge', () => {
  it('rises with the energy delivered and reaches the limit exactly when the charge completes', () => {
    const model = sessionModel();
    const plan = planOf(model);
    const { chargeLimitPct } = model.car.identity;
    const atPlugIn = model.car.state(plan.plugInMs + SECOND_MS);
    expect(atPlugIn.pluggedIn).toBe(true);
    for (const t of [plan.startMs + 10 * MINUTE_MS, plan.startMs + 40 * MINUTE_MS, plan.stopMs - MINUTE_MS]) {
      const state = model.car.state(t);
      const delivered = model.stateAt(t).sessionEnergyWh;
      expect(state.chargingState).toBe('Charging');
      expect(state.batteryLevelExactPct - atPlugIn.batteryLevelExactPct).toBeCloseTo(socGainPct(model, delivered), 6);
      expect(state.batteryLevelPct).toBe(Math.round(state.batteryLevelExactPct));
      expect(state.chargeEnergyAddedKwh).toBeCloseTo((delivered * model.car.identity.efficiency) / 1000, 9);
    }
    const done = model.car.state(plan.stopMs + MINUTE_MS);
    expect(done.chargingState).toBe('Complete');
    expect(done.batteryLevelExactPct).toBeCloseTo(chargeLimitPct, 9);
    expect(done.batteryLevelPct).toBe(chargeLimitPct);
    expect(model.stateAt(plan.stopMs + MINUTE_MS).evseState).toBe(8);
    expect(model.car.state(plan.unplugMs + MINUTE_MS)).toMatchObject({
      chargingState: 'Disconnected',
      pluggedIn: false,
      batteryLevelPct: chargeLimitPct,
    });
  });
});

describe('the car: commands', () => {
  it('charge_stop opens the contactor within seconds; charge_start resumes and the energy carries on', () => {
    const model = sessionModel();
    const plan = planOf(model);
    const stopAtMs = plan.startMs + 20 * MINUTE_MS;
    expect(model.car.command({ name: 'charge_stop' }, stopAtMs)).toEqual({ result: true, reason: '' });
    expect(model.stateAt(stopAtMs + SECOND_MS).contactorClosed).toBe(true);
    const stopped = model.stateAt(stopAtMs + CAR_STOP_DELAY_MS + SECOND_MS);
    expect(stopped).toMatchObject({ contactorClosed: false, vehicleConnected: true, evseState: 9, powerW: 0 });
    expect(stopped.vehicleCurrentA).toBeLessThan(1);
    expect(model.car.state(stopAtMs + 5 * MINUTE_MS).chargingState).toBe('Stopped');
    const frozenWh = model.stateAt(stopAtMs + 5 * MINUTE_MS).sessionEnergyWh;
    expect(model.stateAt(stopAtMs + 30 * MINUTE_MS - SECOND_MS).sessionEnergyWh).toBe(frozenWh);

    const startAtMs = stopAtMs + 30 * MINUTE_MS;
    // Stopped for half an hour, the car has gone to sleep: wake it first, as the services do.
    expect(model.car.command({ name: 'charge_start' }, startAtMs - MINUTE_MS).reason).toBe('vehicle_unavailable');
    model.car.wake(startAtMs - MINUTE_MS);
    expect(model.car.command({ name: 'charge_start' }, startAtMs)).toEqual({ result: true, reason: '' });
    expect(model.stateAt(startAtMs + CAR_START_DELAY_MS - SECOND_MS).contactorClosed).toBe(false);
    const ramping = model.stateAt(startAtMs + CAR_START_DELAY_MS + RAMP_MS / 2);
    expect(ramping).toMatchObject({ contactorClosed: true, evseState: 11 });
    expect(ramping.chargingCurrentA).toBeLessThan(40);
    const resumed = model.stateAt(startAtMs + 10 * MINUTE_MS);
    expect(resumed.chargingCurrentA).toBeCloseTo(48, 0);
    expect(resumed.sessionEnergyWh).toBeGreaterThan(frozenWh + 1_000);

    const truth = must(model.truth(START_MS + 12 * HOUR_MS).sessions[0]);
    expect(truth.charging.map((run) => run.interrupted)).toEqual([false, false]);
    expect(must(truth.charging[0]).stopMs).toBe(stopAtMs + CAR_STOP_DELAY_MS);
    expect(must(truth.charging[1]).startMs).toBe(startAtMs + CAR_START_DELAY_MS);
    // The car still ends at its limit, half an hour later than planned.
    const end = model.car.state(must(truth.unplugMs) - SECOND_MS);
    expect(end.chargingState).toBe('Complete');
    expect(end.batteryLevelPct).toBe(model.car.identity.chargeLimitPct);
    expect(Math.abs(end.batteryLevelExactPct - model.car.identity.chargeLimitPct)).toBeLessThan(0.3);
  });

  it('keeps the energy exact across a stop and a start: the integral of power, and the lifetime counter', () => {
    const model = sessionModel({ seed: 3 });
    const plan = planOf(model);
    model.car.command({ name: 'charge_stop' }, plan.startMs + 15 * MINUTE_MS);
    model.car.wake(plan.startMs + 34 * MINUTE_MS);
    model.car.command({ name: 'charge_start' }, plan.startMs + 35 * MINUTE_MS);
    model.car.command({ name: 'set_charging_amps', amps: 44 }, plan.startMs + 45 * MINUTE_MS);
    const session = must(model.truth(START_MS + 12 * HOUR_MS).sessions[0]);
    const unplugMs = must(session.unplugMs);
    let independentWh = 0;
    for (let t = session.plugInMs; t < unplugMs; t += SECOND_MS) {
      independentWh += (powerFromReadings(model.stateAt(t + SECOND_MS / 2)) * SECOND_MS) / 3_600_000;
    }
    expect(model.truth(unplugMs).car.runs.map((run) => run.endedBy)).toEqual(['charge_stop', 'complete']);
    expect(independentWh).toBeGreaterThan(5_000);
    expect(session.energyWh).toBeCloseTo(independentWh, 0);
    const before = model.stateAt(session.plugInMs - SECOND_MS).lifetime;
    const after = model.stateAt(unplugMs + SECOND_MS).lifetime;
    expect(after.energyWh - before.energyWh).toBeCloseTo(session.energyWh, 6);
    expect(after.chargeStarts - before.chargeStarts).toBe(2);
    // A car that stops on command winds down first: no contactor cycle under load.
    expect(after.contactorCyclesLoaded).toBe(before.contactorCyclesLoaded);
    const socDelta =
      must(model.truth(unplugMs).car.sessions[0]).socPct - must(model.truth(unplugMs).car.sessions[0]).socAtPlugInPct;
    expect(socDelta).toBeCloseTo(socGainPct(model, session.energyWh), 6);
  });

  it('set_charging_amps changes the current the charger reports, within the charger and Tesla limits', () => {
    const model = sessionModel();
    const plan = planOf(model);
    const atMs = plan.startMs + 10 * MINUTE_MS;
    expect(model.car.command({ name: 'set_charging_amps', amps: 16 }, atMs).result).toBe(true);
    const lower = model.stateAt(atMs + 10 * SECOND_MS);
    expect(lower.contactorClosed).toBe(true);
    expect(lower.vehicleCurrentA).toBeCloseTo(16, 0);
    expect(lower.powerW).toBeCloseTo(lower.gridV * lower.vehicleCurrentA, 6);
    expect(model.car.state(atMs + 10 * SECOND_MS)).toMatchObject({ chargeAmps: 16, chargerActualCurrentA: 16 });

    // Above the charger's maximum: the car asks for the maximum.
    model.car.command({ name: 'set_charging_amps', amps: 80 }, atMs + MINUTE_MS);
    expect(model.car.state(atMs + 2 * MINUTE_MS).chargeAmps).toBe(48);
    expect(model.stateAt(atMs + 2 * MINUTE_MS).vehicleCurrentA).toBeCloseTo(48, 0);

    // Below 5 A: the first request sets 5 A, the same request again sets it.
    model.car.command({ name: 'set_charging_amps', amps: 3 }, atMs + 3 * MINUTE_MS);
    expect(model.car.state(atMs + 4 * MINUTE_MS).chargeAmps).toBe(5);
    expect(model.stateAt(atMs + 4 * MINUTE_MS).vehicleCurrentA).toBeCloseTo(5, 0);
    model.car.command({ name: 'set_charging_amps', amps: 3 }, atMs + 5 * MINUTE_MS);
    expect(model.car.state(atMs + 6 * MINUTE_MS).chargeAmps).toBe(3);
    expect(model.stateAt(atMs + 6 * MINUTE_MS).vehicleCurrentA).toBeCloseTo(3, 0);
    // Still one charging run, and it still ends at the limit.
    const session = must(model.truth(START_MS + 3 * DAY_MS).sessions[0]);
    expect(session.charging).toHaveLength(1);
  });

  it('a lower amps setting lengthens the charge, which still ends at the limit', () => {
    const model = sessionModel();
    const plan = planOf(model);
    model.car.command({ name: 'set_charging_amps', amps: 40 }, plan.startMs + 5 * MINUTE_MS);
    const run = must(must(model.truth(START_MS + 12 * HOUR_MS).sessions[0]).charging[0]);
    expect(must(run.stopMs)).toBeGreaterThan(plan.stopMs + 5 * MINUTE_MS);
    expect(model.truth(START_MS + 12 * HOUR_MS).car.runs.map((r) => r.endedBy)).toEqual(['complete']);
    const done = model.car.state(must(run.stopMs) + SECOND_MS);
    expect(done.chargingState).toBe('Complete');
    expect(Math.abs(done.batteryLevelExactPct - model.car.identity.chargeLimitPct)).toBeLessThan(0.3);
  });

  it('set_charge_limit: lower than the battery ends the charge (complete), higher starts it again', () => {
    const model = sessionModel();
    const plan = planOf(model);
    const atMs = plan.startMs + 30 * MINUTE_MS;
    const soc = model.car.state(atMs).batteryLevelExactPct;
    expect(model.car.command({ name: 'set_charge_limit', percent: model.car.identity.chargeLimitPct }, atMs)).toEqual({
      result: false,
      reason: 'already_set',
    });
    const lowPct = Math.max(50, Math.floor(soc) - 1);
    expect(model.car.command({ name: 'set_charge_limit', percent: lowPct }, atMs).result).toBe(true);
    const ended = model.stateAt(atMs + CAR_STOP_DELAY_MS + SECOND_MS);
    expect(ended.contactorClosed).toBe(false);
    expect(ended.evseState).toBe(8);
    expect(model.car.state(atMs + MINUTE_MS)).toMatchObject({ chargingState: 'Complete', chargeLimitPct: lowPct });
    expect(model.car.command({ name: 'charge_start' }, atMs + 2 * MINUTE_MS)).toEqual({
      result: false,
      reason: 'complete',
    });

    const raiseMs = atMs + 5 * MINUTE_MS;
    expect(model.car.command({ name: 'set_charge_limit', percent: 100 }, raiseMs).result).toBe(true);
    expect(model.stateAt(raiseMs + CAR_START_DELAY_MS + 5 * MINUTE_MS).contactorClosed).toBe(true);
    const car = model.truth(START_MS + 12 * HOUR_MS).car;
    expect(car.runs.map((run) => [run.startedBy, run.endedBy])).toEqual([
      ['plan', 'limit'],
      ['limit', 'unplug'],
    ]);
  });

  it('answers with Tesla reasons: is_charging, not_charging, complete, disconnected', () => {
    const model = sessionModel();
    const plan = planOf(model);
    const no = (reason: string) => ({ result: false, reason });
    const ask = (command: SimCarCommand, atMs: number) => model.car.command(command, atMs);
    expect(ask({ name: 'charge_start' }, plan.startMs + 10 * MINUTE_MS)).toEqual(no('is_charging'));
    expect(ask({ name: 'charge_start' }, plan.stopMs + MINUTE_MS)).toEqual(no('complete'));
    expect(ask({ name: 'charge_stop' }, plan.stopMs + 2 * MINUTE_MS)).toEqual(no('not_charging'));
    // Unplugged (and still awake from the unplug).
    expect(ask({ name: 'charge_start' }, plan.unplugMs + 30 * SECOND_MS)).toEqual(no('disconnected'));
    expect(ask({ name: 'charge_stop' }, plan.unplugMs + 40 * SECOND_MS)).toEqual(no('not_charging'));
    // Commands between sessions change the car's settings all the same.
    expect(ask({ name: 'set_charging_amps', amps: 20 }, plan.unplugMs + MINUTE_MS)).toEqual({
      result: true,
      reason: '',
    });
    expect(model.car.state(plan.unplugMs + 2 * MINUTE_MS).chargeAmps).toBe(20);
    // Neither answer changed the charge itself.
    expect(model.truth(START_MS + 12 * HOUR_MS).sessions[0]?.charging).toHaveLength(1);
  });

  it('a car waiting for its scheduled time starts when told charge_start', () => {
    const { model, session } = scheduledSession();
    const plannedStartMs = must(session.charging[0]).startMs;
    const askMs = session.plugInMs + 5 * MINUTE_MS;
    expect(model.car.state(askMs)).toMatchObject({
      chargingState: 'Stopped',
      scheduledChargingPending: true,
      scheduledChargingStartMs: plannedStartMs,
    });
    expect(model.stateAt(askMs).evseState).toBe(9);
    expect(model.car.command({ name: 'charge_start' }, askMs).result).toBe(true);
    expect(model.stateAt(askMs + CAR_START_DELAY_MS + 5 * MINUTE_MS)).toMatchObject({
      contactorClosed: true,
      evseState: 11,
    });
    const run = must(model.truth(session.plugInMs + DAY_MS).car.runs.find((r) => r.plugInMs === session.plugInMs));
    expect(run.startMs).toBe(askMs + CAR_START_DELAY_MS);
    expect(run.startedBy).toBe('charge_start');
  });
});

describe('the car: sleep', () => {
  it('falls asleep after about 15 minutes without a word, answers only a wake-up, then obeys', () => {
    const model = createChargerModel({ index: 0, seed: 8, startTimeMs: START_MS, scenario: 'idle' });
    expect(model.car.online(START_MS + CAR_SLEEP_AFTER_MS - SECOND_MS)).toBe(true);
    const asleepMs = START_MS + CAR_SLEEP_AFTER_MS + SECOND_MS;
    expect(model.car.online(asleepMs)).toBe(false);
    expect(model.car.state(asleepMs)).toMatchObject({ online: false, chargingState: 'Disconnected' });
    expect(model.car.command({ name: 'set_charge_limit', percent: 70 }, asleepMs)).toEqual({
      result: false,
      reason: 'vehicle_unavailable',
    });
    expect(model.car.state(asleepMs + MINUTE_MS).chargeLimitPct).toBe(model.car.identity.chargeLimitPct);

    const wakeMs = asleepMs + MINUTE_MS;
    const { onlineAtMs } = model.car.wake(wakeMs);
    expect(onlineAtMs - wakeMs).toBeGreaterThanOrEqual(CAR_WAKE_MIN_MS);
    expect(onlineAtMs - wakeMs).toBeLessThanOrEqual(CAR_WAKE_MAX_MS);
    expect(model.car.online(onlineAtMs - 1)).toBe(false);
    expect(model.car.online(onlineAtMs)).toBe(true);
    expect(model.car.wake(onlineAtMs + SECOND_MS)).toEqual({ onlineAtMs: onlineAtMs + SECOND_MS });
    expect(model.car.command({ name: 'set_charge_limit', percent: 70 }, onlineAtMs + 2 * SECOND_MS).result).toBe(true);
    expect(model.car.state(onlineAtMs + 3 * SECOND_MS)).toMatchObject({ online: true, chargeLimitPct: 70 });
    // The command kept it awake for another 15 minutes, no more.
    expect(model.car.online(onlineAtMs + 2 * SECOND_MS + CAR_SLEEP_AFTER_MS - SECOND_MS)).toBe(true);
    expect(model.car.online(onlineAtMs + 2 * SECOND_MS + CAR_SLEEP_AFTER_MS + SECOND_MS)).toBe(false);
    // The same seed wakes the same way.
    const again = createChargerModel({ index: 0, seed: 8, startTimeMs: START_MS, scenario: 'idle' });
    expect(again.car.wake(wakeMs)).toEqual({ onlineAtMs });
  });

  it('stays awake while charging and sleeps 15 minutes after the charge ends', () => {
    const model = sessionModel();
    const plan = planOf(model);
    expect(plan.stopMs - plan.startMs).toBeGreaterThan(CAR_SLEEP_AFTER_MS * 3);
    expect(model.car.online(plan.startMs + 2 * CAR_SLEEP_AFTER_MS)).toBe(true);
    expect(model.car.online(plan.stopMs + CAR_SLEEP_AFTER_MS - SECOND_MS)).toBe(true);
    expect(model.car.online(plan.stopMs + CAR_SLEEP_AFTER_MS + SECOND_MS)).toBe(false);
  });

  it('the owner in the Tesla app reaches an asleep car, and the truth says who started the charge', () => {
    const { model, session } = scheduledSession();
    const askMs = session.plugInMs + CAR_SLEEP_AFTER_MS + 5 * MINUTE_MS;
    expect(model.car.online(askMs)).toBe(false);
    expect(model.car.command({ name: 'charge_start' }, askMs)).toEqual({
      result: false,
      reason: 'vehicle_unavailable',
    });
    expect(model.car.appCommand({ name: 'charge_start' }, askMs)).toEqual({ result: true, reason: '' });
    expect(model.stateAt(askMs + 10 * MINUTE_MS).contactorClosed).toBe(true);
    const car = model.truth(askMs + HOUR_MS).car;
    expect(car.commands.map((c) => [c.source, c.command.name, c.result.result])).toEqual([
      ['api', 'charge_start', false],
      ['app', 'charge_start', true],
    ]);
    const run = must(car.runs.find((r) => r.plugInMs === session.plugInMs));
    expect(run).toMatchObject({ startMs: askMs + CAR_START_DELAY_MS, startedBy: 'app' });
  });
});

describe('the car: determinism', () => {
  const commands = (model: Model, plan: ReturnType<typeof planOf>) => [
    () => model.car.command({ name: 'charge_stop' }, plan.startMs + 12 * MINUTE_MS),
    () => model.car.command({ name: 'set_charging_amps', amps: 20 }, plan.startMs + 30 * MINUTE_MS),
    () => model.car.command({ name: 'charge_start' }, plan.startMs + 45 * MINUTE_MS),
    () => model.car.command({ name: 'set_charge_limit', percent: 85 }, plan.startMs + 70 * MINUTE_MS),
  ];

  it('the same commands give the same state, whatever was asked before and in whatever order', () => {
    const a = sessionModel({ seed: 5 });
    const b = sessionModel({ seed: 5 });
    const plan = planOf(a);
    const times = Array.from({ length: 60 }, (_, i) => plan.plugInMs + i * 191_003);
    // a: every command first, then questions forward.
    for (const give of commands(a, plan)) give();
    const forward = times.map((t) => [a.stateAt(t), a.car.state(t)]);
    // b: questions before, between and after the commands, which come out of time order.
    b.car.state(plan.startMs + 3 * HOUR_MS);
    const [stop, amps, start, limit] = commands(b, plan);
    limit?.();
    b.stateAt(plan.startMs + 20 * MINUTE_MS);
    stop?.();
    start?.();
    b.truth(plan.startMs + HOUR_MS);
    amps?.();
    const backward = [...times].reverse().map((t) => [b.stateAt(t), b.car.state(t)]);
    expect(backward.reverse()).toEqual(forward);
    expect(b.truth(START_MS + DAY_MS).car.runs).toEqual(a.truth(START_MS + DAY_MS).car.runs);
  });

  it('a charger reboot after a stop does not start the car again; one while charging still resumes', () => {
    const stoppedFirst = sessionModel();
    const plan = planOf(stoppedFirst);
    stoppedFirst.car.command({ name: 'charge_stop' }, plan.startMs + 10 * MINUTE_MS);
    stoppedFirst.injectFault(parseSimFault({ kind: 'reboot' }), plan.startMs + 20 * MINUTE_MS);
    expect(must(stoppedFirst.truth(START_MS + DAY_MS).sessions[0]).charging).toHaveLength(1);
    expect(stoppedFirst.stateAt(plan.startMs + 2 * HOUR_MS).contactorClosed).toBe(false);

    const charging = sessionModel();
    charging.car.command({ name: 'set_charging_amps', amps: 40 }, plan.startMs + 5 * MINUTE_MS);
    charging.injectFault(parseSimFault({ kind: 'reboot' }), plan.startMs + 20 * MINUTE_MS);
    const runs = charging.truth(START_MS + DAY_MS).car.runs;
    expect(runs.map((run) => [run.startedBy, run.endedBy])).toEqual([
      ['plan', 'reboot'],
      ['resume', 'complete'],
    ]);
    expect(charging.stateAt(plan.startMs + HOUR_MS).vehicleCurrentA).toBeCloseTo(40, 0);
  });
});

/** A `day`-scenario session whose car waits for its scheduled hour, without commands. */
function scheduledSession() {
  for (let index = 0; index < 20; index += 1) {
    const options = { index, seed: 11, startTimeMs: START_MS, scenario: 'day' as const };
    const session = createChargerModel(options)
      .truth(START_MS + 3 * DAY_MS)
      .sessions.find((s) => {
        const run = s.charging[0];
        return run !== undefined && run.startMs - s.plugInMs > 2 * HOUR_MS;
      });
    if (session) return { model: createChargerModel(options), session };
  }
  throw new Error('no scheduled session in the first days of seed 11');
}

describe('the night scenario', () => {
  it('plugs in at 18:00 local wanting 40 kWh, charges at once unless told otherwise, and leaves at 07:00', () => {
    // Tuesday 2026-01-13 12:00 Chicago (UTC-6).
    const start = Date.UTC(2026, 0, 13, 18, 0);
    const model = createChargerModel({ index: 0, seed: 3, startTimeMs: start, scenario: 'night' });
    const plugIn = Date.UTC(2026, 0, 14, 0, 0); // 18:00 local
    const leave = Date.UTC(2026, 0, 14, 13, 0); // 07:00 local
    expect(model.stateAt(plugIn - 60_000).vehicleConnected).toBe(false);
    expect(model.stateAt(plugIn + 60_000).vehicleConnected).toBe(true);
    expect(model.stateAt(plugIn + 60_000).contactorClosed).toBe(true);
    const { efficiency, usableCapacityKwh } = model.car.identity;
    const car = model.car.state(plugIn + 60_000);
    // The state of charge the car arrives with leaves room for 40 kWh from the wall, to the percent it shows.
    const roomKwh = (((car.chargeLimitPct - car.batteryLevelPct) / 100) * usableCapacityKwh) / efficiency;
    expect(Math.abs(roomKwh - 40)).toBeLessThan((0.5 / 100) * (usableCapacityKwh / efficiency) + 0.01);
    expect(model.stateAt(leave - 60_000).vehicleConnected).toBe(true);
    expect(model.stateAt(leave + 60_000).vehicleConnected).toBe(false);
    const session = model.truth(leave + 60_000).sessions.at(-1);
    expect(session?.plugInMs).toBe(plugIn);
    expect((session?.energyWh ?? 0) / 1000).toBeCloseTo(40, 0);
  });
});
