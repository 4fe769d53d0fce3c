import { describe, expect, it } from 'vitest';
import { TAPER_MS } from '../../src/simulator/charge-profile.js';
import {
  BOOT_MS,
  type ChargerModelOptions,
  type ChargerState,
  createChargerModel,
  RESUME_AFTER_BOOT_MS,
} from '../../src/simulator/charger-model.js';
import { parseSimFault } from '../../src/simulator/faults.js';
import { must } from './must.js';

const START_MS = Date.UTC(2025, 5, 2, 12, 0, 0);
const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

function sessionModel(overrides: Partial<ChargerModelOptions> = {}) {
  return createChargerModel({ index: 0, seed: 42, startTimeMs: START_MS, scenario: 'session', ...overrides });
}

/** The single session of the `session` scenario, as the truth record tells it once it is over. */
function onlySession(model: ReturnType<typeof createChargerModel>) {
  const truth = model.truth(START_MS + 12 * HOUR_MS);
  expect(truth.sessions).toHaveLength(1);
  const session = truth.sessions[0];
  if (!session || session.unplugMs === null) throw new Error('session not over');
  return session;
}

/** Power by the reference's rules, from the reported (unrounded) electrical fields only. */
function powerFromReadings(state: ChargerState, phase: 'split' | 'three'): number {
  if (!state.contactorClosed) return 0;
  if (phase === 'split') return state.gridV * state.vehicleCurrentA;
  return state.voltageAV * state.currentAA + state.voltageBV * state.currentBA + state.voltageCV * state.currentCA;
}

describe('charger model: energy', () => {
  it.each([
    { phase: 'split' as const, seed: 1 },
    { phase: 'split' as const, seed: 99 },
    { phase: 'three' as const, seed: 7 },
  ])('a full $phase-phase session (seed $seed) delivers the integral of power', ({ phase, seed }) => {
    const model = sessionModel({ phase, seed });
    const session = onlySession(model);
    const stepMs = SECOND_MS;
    let independentWh = 0;
    // Midpoint sums over one-second steps of power computed from the readings.
    for (let t = session.plugInMs; t < must(session.unplugMs); t += stepMs) {
      independentWh += (powerFromReadings(model.stateAt(t + stepMs / 2), phase) * stepMs) / 3_600_000;
    }
    expect(independentWh).toBeGreaterThan(5_000);
    expect(session.energyWh).toBeCloseTo(independentWh, 0);

    const before = model.stateAt(session.plugInMs - SECOND_MS);
    const after = model.stateAt(must(session.unplugMs) + SECOND_MS);
    expect(model.stateAt(must(session.unplugMs) - SECOND_MS).sessionEnergyWh).toBeCloseTo(session.energyWh, 6);
    expect(after.lifetime.energyWh - before.lifetime.energyWh).toBeCloseTo(session.energyWh, 6);
    expect(after.lifetime.chargingTimeS - before.lifetime.chargingTimeS).toBeCloseTo(
      (must(must(session.charging[0]).stopMs) - must(session.charging[0]).startMs) / 1000,
      -1,
    );
  });

  it('gives the same energy however often and in whatever order it is asked', () => {
    const a = sessionModel();
    const b = sessionModel();
    const session = onlySession(a);
    const times = Array.from({ length: 50 }, (_, i) => session.plugInMs + i * 137_003);
    const forward = times.map((t) => a.stateAt(t).sessionEnergyWh);
    const backward = [...times].reverse().map((t) => b.stateAt(t).sessionEnergyWh);
    expect(backward.reverse()).toEqual(forward);
  });
});

describe('charger model: one session, phase by phase', () => {
  const model = sessionModel();
  const session = onlySession(model);
  const run = must(session.charging[0]);
  const stopMs = must(run.stopMs);
  const unplugMs = must(session.unplugMs);
  const cases: {
    label: string;
    at: number;
    evse: number;
    connected: boolean;
    closed: boolean;
    current?: [number, number];
  }[] = [
    { label: 'before plug-in', at: session.plugInMs - MINUTE_MS / 2, evse: 1, connected: false, closed: false },
    { label: 'handshake after plug-in', at: session.plugInMs + 5 * SECOND_MS, evse: 2, connected: true, closed: false },
    { label: 'ready', at: run.startMs - 3 * SECOND_MS, evse: 4, connected: true, closed: false },
    { label: 'ramp', at: run.startMs + 20 * SECOND_MS, evse: 11, connected: true, closed: true, current: [5, 40] },
    { label: 'hold', at: run.startMs + 30 * MINUTE_MS, evse: 11, connected: true, closed: true, current: [47, 49] },
    { label: 'taper', at: stopMs - TAPER_MS / 2, evse: 10, connected: true, closed: true, current: [20, 40] },
    { label: 'finished', at: stopMs + 5 * MINUTE_MS, evse: 8, connected: true, closed: false },
    { label: 'unplugged', at: unplugMs + 5 * MINUTE_MS, evse: 1, connected: false, closed: false },
  ];
  it.each(cases)('$label: evse_state $evse', ({ at, evse, connected, closed, current }) => {
    const state = model.stateAt(at);
    expect(state.evseState).toBe(evse);
    expect(state.vehicleConnected).toBe(connected);
    expect(state.contactorClosed).toBe(closed);
    if (current) {
      expect(state.chargingCurrentA).toBeGreaterThan(current[0]);
      expect(state.chargingCurrentA).toBeLessThan(current[1]);
      expect(state.powerW).toBeCloseTo(state.gridV * state.chargingCurrentA, 6);
    } else {
      expect(state.chargingCurrentA).toBe(0);
      expect(state.powerW).toBe(0);
    }
  });

  it('counts session_s from plug-in, and resets it to 0 at unplug', () => {
    expect(model.stateAt(session.plugInMs + 90 * SECOND_MS).sessionS).toBe(90);
    expect(model.stateAt(unplugMs - SECOND_MS).sessionS).toBe(
      Math.floor((unplugMs - SECOND_MS - session.plugInMs) / 1000),
    );
    expect(model.stateAt(unplugMs + SECOND_MS).sessionS).toBe(0);
  });

  it('keeps session energy after the charge ends and after unplug, and the car counters move', () => {
    const atStop = model.stateAt(stopMs).sessionEnergyWh;
    expect(model.stateAt(stopMs + 10 * MINUTE_MS).sessionEnergyWh).toBe(atStop);
    expect(model.stateAt(unplugMs + HOUR_MS).sessionEnergyWh).toBe(atStop);
    const before = model.stateAt(session.plugInMs - SECOND_MS).lifetime;
    const after = model.stateAt(unplugMs + SECOND_MS).lifetime;
    expect(after.connectorCycles - before.connectorCycles).toBe(1);
    expect(after.chargeStarts - before.chargeStarts).toBe(1);
    expect(after.contactorCycles - before.contactorCycles).toBe(1);
    expect(after.contactorCyclesLoaded).toBe(before.contactorCyclesLoaded);
  });

  it('warms the handle while charging and cools it afterwards', () => {
    const cold = model.stateAt(run.startMs);
    const warm = model.stateAt(run.startMs + 45 * MINUTE_MS);
    const cooled = model.stateAt(unplugMs + 3 * HOUR_MS);
    expect(warm.handleTempC - cold.handleTempC).toBeGreaterThan(10);
    expect(warm.pcbaTempC).toBeGreaterThan(cold.pcbaTempC + 5);
    expect(cooled.handleTempC).toBeLessThan(warm.handleTempC - 10);
  });
});

describe('charger model: wiring', () => {
  it('split-phase: about 240 V, 60 Hz, leg C about half of grid_v, power = grid_v x current', () => {
    const model = sessionModel({ phase: 'split' });
    const run = must(onlySession(model).charging[0]);
    const state = model.stateAt(run.startMs + 20 * MINUTE_MS);
    expect(state.gridV).toBeGreaterThan(235);
    expect(state.gridV).toBeLessThan(245);
    expect(state.gridHz).toBeCloseTo(60, 1);
    expect(state.voltageCV).toBeCloseTo(state.gridV / 2, 0);
    expect(state.chargingCurrentA).toBeCloseTo(48, 0);
    expect(state.powerW).toBeCloseTo(state.gridV * state.vehicleCurrentA, 6);
    expect(state.powerW).toBeGreaterThan(11_000);
    expect(state.powerW).toBeLessThan(12_000);
  });

  it('three-phase: about 230 V per phase, 50 Hz, power = sum over phases', () => {
    const model = sessionModel({ phase: 'three' });
    const run = must(onlySession(model).charging[0]);
    const state = model.stateAt(run.startMs + 20 * MINUTE_MS);
    for (const v of [state.voltageAV, state.voltageBV, state.voltageCV]) {
      expect(v).toBeGreaterThan(225);
      expect(v).toBeLessThan(235);
    }
    expect(state.gridHz).toBeCloseTo(50, 1);
    expect(state.chargingCurrentA).toBeCloseTo(16, 0);
    const sum =
      state.voltageAV * state.currentAA + state.voltageBV * state.currentBA + state.voltageCV * state.currentCA;
    expect(state.powerW).toBeCloseTo(sum, 6);
    expect(state.powerW).toBeGreaterThan(10_500);
    expect(state.powerW).toBeLessThan(11_500);
  });
});

describe('charger model: determinism', () => {
  const sample = (model: ReturnType<typeof createChargerModel>) =>
    Array.from({ length: 200 }, (_, i) => model.stateAt(START_MS + i * 17 * MINUTE_MS));

  it('the same seed gives the same run', () => {
    const options = { index: 3, seed: 1234, startTimeMs: START_MS, scenario: 'day' as const };
    expect(sample(createChargerModel(options))).toEqual(sample(createChargerModel(options)));
    expect(createChargerModel(options).identity).toEqual(createChargerModel(options).identity);
  });

  it('another seed, or another charger index, gives another run', () => {
    const base = { index: 3, seed: 1234, startTimeMs: START_MS, scenario: 'day' as const };
    const reference = sample(createChargerModel(base));
    expect(sample(createChargerModel({ ...base, seed: 1235 }))).not.toEqual(reference);
    expect(sample(createChargerModel({ ...base, index: 4 }))).not.toEqual(reference);
  });
});

describe('charger model: counters over days', () => {
  it('lifetime counters and uptime never go backwards without a fault', () => {
    const model = createChargerModel({ index: 1, seed: 5, startTimeMs: START_MS, scenario: 'day' });
    let previous = model.stateAt(START_MS);
    for (let t = START_MS + MINUTE_MS; t <= START_MS + 4 * DAY_MS; t += MINUTE_MS) {
      const state = model.stateAt(t);
      for (const key of Object.keys(state.lifetime) as (keyof ChargerState['lifetime'])[]) {
        if (key === 'avgStartupTempC') continue;
        expect(state.lifetime[key], `${key} at ${new Date(t).toISOString()}`).toBeGreaterThanOrEqual(
          previous.lifetime[key],
        );
      }
      expect(state.uptimeS).toBeGreaterThan(previous.uptimeS);
      expect(state.lifetime.contactorCycles - state.lifetime.chargeStarts).toBe(
        previous.lifetime.contactorCycles - previous.lifetime.chargeStarts,
      );
      previous = state;
    }
    const truth = model.truth(START_MS + 4 * DAY_MS);
    const first = model.stateAt(START_MS).lifetime;
    expect(previous.lifetime.connectorCycles - first.connectorCycles).toBe(truth.sessions.length);
    const delivered = truth.sessions.reduce((sum, s) => sum + s.energyWh, 0);
    expect(previous.lifetime.energyWh - first.energyWh).toBeCloseTo(delivered, 6);
  });
});

describe('charger model: the day scenario', () => {
  // Chicago standard time, the model's default local time.
  const localHour = (ms: number) => ((((ms - 6 * HOUR_MS) % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS;

  it('differs per charger: evening arrivals, morning departures, charging right away or overnight', () => {
    const plans: string[] = [];
    let sessions = 0;
    for (let index = 0; index < 10; index += 1) {
      const model = createChargerModel({ index, seed: 11, startTimeMs: START_MS, scenario: 'day' });
      const truth = model.truth(START_MS + 7 * DAY_MS);
      plans.push(JSON.stringify(truth.sessions.map((session) => [session.plugInMs, session.energyWh])));
      for (const session of truth.sessions) {
        sessions += 1;
        const plugHour = localHour(session.plugInMs);
        const evening = plugHour >= 17;
        if (evening) {
          expect(plugHour).toBeLessThan(21);
          if (session.unplugMs !== null) {
            expect(session.unplugMs - session.plugInMs).toBeLessThan(16 * HOUR_MS);
            expect(localHour(session.unplugMs)).toBeGreaterThanOrEqual(6.5);
            expect(localHour(session.unplugMs)).toBeLessThanOrEqual(8);
          }
          const startHour = localHour(must(session.charging[0]).startMs);
          const rightAway = must(session.charging[0]).startMs - session.plugInMs < MINUTE_MS;
          expect(rightAway || startHour >= 23 || startHour <= 1.05).toBe(true);
        } else {
          expect(plugHour).toBeGreaterThanOrEqual(11);
          expect(plugHour).toBeLessThanOrEqual(14);
        }
        expect(session.energyWh).toBeGreaterThan(1_000);
      }
    }
    expect(sessions).toBeGreaterThan(50);
    // No two chargers plan the same week. (Two may share a plug-in minute now and then: with
    // ten chargers arriving within the same few evening hours, that is the birthday problem.)
    expect(new Set(plans).size).toBe(10);
  });

  it('plans the same days from the same seed and start time of day, whatever the date', () => {
    // When cars plug in, start charging and leave; the energy itself follows the simulated grid.
    const week = (startTimeMs: number, seed = 11) =>
      createChargerModel({ index: 3, seed, startTimeMs, scenario: 'day' })
        .truth(startTimeMs + 7 * DAY_MS)
        .sessions.map((session) =>
          [session.plugInMs, must(session.charging[0]).startMs, session.unplugMs ?? 0].map((ms) => ms - startTimeMs),
        );
    const first = week(START_MS);
    expect(first.length).toBeGreaterThan(4);
    expect(week(START_MS + 40 * DAY_MS)).toEqual(first);
    expect(week(START_MS, 12)).not.toEqual(first);
  });

  it('idle never plugs in', () => {
    const model = createChargerModel({ index: 0, seed: 1, startTimeMs: START_MS, scenario: 'idle' });
    expect(model.truth(START_MS + 3 * DAY_MS).sessions).toEqual([]);
    expect(model.stateAt(START_MS + DAY_MS).evseState).toBe(1);
  });
});

describe('charger model: faults', () => {
  it('a reboot mid-charge resets uptime and the session counters, then charging resumes', () => {
    const model = sessionModel();
    const run = must(onlySession(sessionModel()).charging[0]);
    const rebootMs = run.startMs + 20 * MINUTE_MS;
    const before = model.stateAt(rebootMs - SECOND_MS);
    expect(before.contactorClosed).toBe(true);
    model.injectFault(parseSimFault({ kind: 'reboot' }), rebootMs);

    const booting = model.stateAt(rebootMs + 10 * SECOND_MS);
    expect(booting.evseState).toBe(0);
    expect(booting.contactorClosed).toBe(false);
    expect(booting.uptimeS).toBe(10);
    expect(booting.sessionS).toBe(0);
    expect(booting.sessionEnergyWh).toBe(0);
    expect(booting.vehicleConnected).toBe(true);

    const resumeMs = rebootMs + BOOT_MS + RESUME_AFTER_BOOT_MS;
    expect(model.stateAt(resumeMs - SECOND_MS).contactorClosed).toBe(false);
    const resumed = model.stateAt(resumeMs + 10 * MINUTE_MS);
    expect(resumed.contactorClosed).toBe(true);
    expect(resumed.evseState).toBe(11);
    expect(resumed.sessionS).toBe(Math.floor((resumeMs + 10 * MINUTE_MS - rebootMs - BOOT_MS) / 1000));
    expect(resumed.sessionEnergyWh).toBeGreaterThan(1_000);
    expect(resumed.sessionEnergyWh).toBeLessThan(2_500);
    expect(resumed.lifetime.energyWh).toBeGreaterThan(before.lifetime.energyWh);

    const session = onlySession(model);
    expect(session.charging).toHaveLength(2);
    expect(session.charging[0]).toEqual({ startMs: run.startMs, stopMs: rebootMs, interrupted: true });
    expect(must(session.charging[1]).startMs).toBe(resumeMs);
    const end = model.stateAt(must(session.unplugMs) + SECOND_MS).lifetime;
    const start = model.stateAt(session.plugInMs - SECOND_MS).lifetime;
    expect(end.energyWh - start.energyWh).toBeCloseTo(session.energyWh, 6);
    expect(end.chargeStarts - start.chargeStarts).toBe(2);
    expect(end.contactorCyclesLoaded - start.contactorCyclesLoaded).toBe(1);
    expect(end.alertCount - start.alertCount).toBeGreaterThanOrEqual(1);
    expect(model.truth(must(session.unplugMs)).faults.map((f) => [f.kind, f.atMs])).toEqual([['reboot', rebootMs]]);
  });

  it('a reboot with no car only restarts the uptime count', () => {
    const model = createChargerModel({ index: 0, seed: 3, startTimeMs: START_MS, scenario: 'idle' });
    const before = model.stateAt(START_MS + HOUR_MS);
    model.injectFault(parseSimFault({ kind: 'reboot' }), START_MS + HOUR_MS + SECOND_MS);
    const after = model.stateAt(START_MS + 2 * HOUR_MS);
    expect(after.uptimeS).toBe(HOUR_MS / 1000 - 1);
    expect(after.lifetime.uptimeS).toBeGreaterThan(before.lifetime.uptimeS);
    expect(after.evseState).toBe(1);
  });

  it('a session-energy reset drops the counter to 0 while the car charges on; the truth keeps the total', () => {
    const clean = sessionModel();
    const model = sessionModel();
    const run = must(onlySession(clean).charging[0]);
    const resetMs = run.startMs + 30 * MINUTE_MS;
    const beforeReset = model.stateAt(resetMs - SECOND_MS).sessionEnergyWh;
    model.injectFault(parseSimFault({ kind: 'session-energy-reset' }), resetMs);
    expect(beforeReset).toBeGreaterThan(4_000);
    expect(model.stateAt(resetMs).sessionEnergyWh).toBe(0);
    const later = model.stateAt(resetMs + 10 * MINUTE_MS);
    expect(later.contactorClosed).toBe(true);
    expect(later.sessionEnergyWh).toBeGreaterThan(1_500);
    expect(later.sessionEnergyWh).toBeCloseTo(
      clean.stateAt(resetMs + 10 * MINUTE_MS).sessionEnergyWh - clean.stateAt(resetMs).sessionEnergyWh,
      6,
    );
    expect(onlySession(model).energyWh).toBeCloseTo(onlySession(clean).energyWh, 6);
    expect(model.stateAt(resetMs + 10 * MINUTE_MS).lifetime.energyWh).toBeCloseTo(
      clean.stateAt(resetMs + 10 * MINUTE_MS).lifetime.energyWh,
      6,
    );
  });

  it('records response faults with their simulated time, without changing state', () => {
    const model = sessionModel();
    const clean = sessionModel();
    const atMs = START_MS + 2 * HOUR_MS;
    model.injectFault(parseSimFault({ kind: 'http-500', count: 3 }), atMs);
    model.injectFault(parseSimFault({ kind: 'wifi-dropout', durationMs: 1000 }), atMs + 5, atMs + 60_005);
    expect(model.truth(atMs + HOUR_MS).faults).toEqual([
      { kind: 'http-500', atMs, fault: { kind: 'http-500', count: 3 } },
      {
        kind: 'wifi-dropout',
        atMs: atMs + 5,
        untilMs: atMs + 60_005,
        fault: { kind: 'wifi-dropout', durationMs: 1000 },
      },
    ]);
    expect(model.truth(atMs - 1).faults).toEqual([]);
    expect(model.stateAt(atMs + MINUTE_MS)).toEqual(clean.stateAt(atMs + MINUTE_MS));
  });
});
