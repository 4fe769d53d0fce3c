import { describe, expect, it } from 'vitest';
import { type Vitals, vitalsSchema } from '../../src/charger/models.js';
import {
  computePowerW,
  detectPhaseMode,
  evseStateName,
  type NormalizedVitals,
  normalizeVitals,
  type PhaseMode,
} from '../../src/charger/normalize.js';
import {
  payload,
  VITALS_NEW_FIRMWARE,
  VITALS_SPLIT_PHASE_CHARGING,
  VITALS_THREE_PHASE_IDLE,
} from '../../src/charger/reference-payloads.js';

function vitals(text: string, change: Record<string, unknown> = {}): Vitals {
  return vitalsSchema.parse({ ...payload(text), ...change });
}

const threePhaseIdle = vitals(VITALS_THREE_PHASE_IDLE);
const splitCharging = vitals(VITALS_SPLIT_PHASE_CHARGING);
// The European sample with its contactor closed, so power is not forced to 0.
const threePhaseCharging = vitals(VITALS_THREE_PHASE_IDLE, {
  contactor_closed: true,
  currentA_a: 16,
  currentB_a: 15.9,
  currentC_a: 16.1,
});

describe('normalizeVitals', () => {
  it('maps the three-phase European sample', () => {
    expect(normalizeVitals(threePhaseIdle)).toEqual<NormalizedVitals>({
      vehicle_connected: true,
      contactor_closed: false,
      session_energy_wh: 22128.301,
      vehicle_current_a: 0.5,
      grid_v: 228.8,
      grid_hz: 50.003,
      voltageA_v: 230.1,
      voltageB_v: 230.2,
      voltageC_v: 230.3,
      currentA_a: 0.4,
      currentB_a: 0.35,
      currentC_a: 0.3,
      pcba_temp_c: 13.8,
      handle_temp_c: 9.9,
      mcu_temp_c: 20.8,
      session_s: 0,
      evse_state: 1,
      power_w: 0,
      uptime_s: 35779,
      charging: false,
      evse_state_name: 'not_connected',
      phase_mode: 'three',
      current_alerts: ['alert1', 'alert2'],
      evse_not_ready_reasons: [],
    });
  });

  it('maps the North American sample while charging', () => {
    const normalized = normalizeVitals(splitCharging);
    expect(normalized.phase_mode).toBe('split');
    expect(normalized.power_w).toBeCloseTo(238.5 * 30.8, 9);
    expect(normalized.charging).toBe(true);
    expect(normalized.evse_state).toBe(11);
    expect(normalized.evse_state_name).toBe('charging');
    expect(normalized.current_alerts).toEqual([]);
  });

  it('turns integer alerts into strings and keeps not-ready reasons', () => {
    const normalized = normalizeVitals(vitals(VITALS_NEW_FIRMWARE));
    expect(normalized.current_alerts).toEqual(['18', '42']);
    expect(normalized.evse_not_ready_reasons).toEqual([4, 8]);
    expect(normalized.evse_state_name).toBe('waiting_for_car');
  });

  it('fills fields missing from the payload with null', () => {
    const { pcba_temp_c: _t, voltageA_v: _v, grid_hz: _h, ...rest } = payload(VITALS_SPLIT_PHASE_CHARGING);
    const normalized = normalizeVitals(vitalsSchema.parse(rest));
    expect(normalized.pcba_temp_c).toBeNull();
    expect(normalized.voltageA_v).toBeNull();
    expect(normalized.grid_hz).toBeNull();
  });

  it('takes charging from the contactor, not from evse_state', () => {
    expect(normalizeVitals(vitals(VITALS_SPLIT_PHASE_CHARGING, { contactor_closed: false })).charging).toBe(false);
    expect(normalizeVitals(vitals(VITALS_SPLIT_PHASE_CHARGING, { evse_state: 9 })).charging).toBe(true);
  });

  it.each<{ phaseMode: 'auto' | PhaseMode; expected: PhaseMode; powerW: number }>([
    { phaseMode: 'auto', expected: 'three', powerW: 230.1 * 16 + 230.2 * 15.9 + 230.3 * 16.1 },
    { phaseMode: 'three', expected: 'three', powerW: 230.1 * 16 + 230.2 * 15.9 + 230.3 * 16.1 },
    { phaseMode: 'split', expected: 'split', powerW: 228.8 * 0.5 },
  ])('phase mode $phaseMode gives $expected', ({ phaseMode, expected, powerW }) => {
    const normalized = normalizeVitals(threePhaseCharging, { phaseMode });
    expect(normalized.phase_mode).toBe(expected);
    expect(normalized.power_w).toBeCloseTo(powerW, 9);
  });
});

describe('detectPhaseMode', () => {
  it.each<{ name: string; change: Record<string, unknown>; base: Vitals; expected: PhaseMode }>([
    { name: 'North American sample', base: splitCharging, change: {}, expected: 'split' },
    { name: 'European three-phase sample', base: threePhaseIdle, change: {}, expected: 'three' },
    {
      name: 'split, grid_v missing: voltageA is the reference',
      base: splitCharging,
      change: { grid_v: null },
      expected: 'split',
    },
    {
      name: 'three, grid_v zero: voltageA is the reference',
      base: threePhaseIdle,
      change: { grid_v: 0, grid_hz: null },
      expected: 'three',
    },
    { name: 'voltageC missing, 60 Hz', base: splitCharging, change: { voltageC_v: null }, expected: 'split' },
    {
      name: 'voltageC zero, 50 Hz (single-phase Europe)',
      base: threePhaseIdle,
      change: { voltageC_v: 0, voltageB_v: 0 },
      expected: 'three',
    },
    {
      name: 'all voltages missing, 50 Hz',
      base: threePhaseIdle,
      change: { grid_v: null, voltageA_v: null, voltageB_v: null, voltageC_v: null },
      expected: 'three',
    },
    {
      name: 'all voltages missing, 60 Hz',
      base: splitCharging,
      change: { grid_v: null, voltageA_v: null, voltageB_v: null, voltageC_v: null },
      expected: 'split',
    },
    {
      name: 'no voltages and no frequency: split-phase (ComEd service)',
      base: threePhaseIdle,
      change: { grid_v: null, voltageA_v: null, voltageB_v: null, voltageC_v: null, grid_hz: null },
      expected: 'split',
    },
    { name: 'ratio matching neither, 50 Hz', base: threePhaseIdle, change: { voltageC_v: 170 }, expected: 'three' },
    { name: 'ratio matching neither, 60 Hz', base: splitCharging, change: { voltageC_v: 175 }, expected: 'split' },
  ])('$name -> $expected', ({ base, change, expected }) => {
    expect(detectPhaseMode(vitalsSchema.parse({ ...base, ...change }))).toBe(expected);
  });
});

describe('computePowerW', () => {
  it.each<{ name: string; base: Vitals; change: Record<string, unknown>; mode: PhaseMode; powerW: number }>([
    { name: 'split: grid_v x vehicle current', base: splitCharging, change: {}, mode: 'split', powerW: 238.5 * 30.8 },
    {
      name: 'three: sum over phases',
      base: threePhaseCharging,
      change: {},
      mode: 'three',
      powerW: 230.1 * 16 + 230.2 * 15.9 + 230.3 * 16.1,
    },
    {
      name: 'split, contactor open',
      base: splitCharging,
      change: { contactor_closed: false },
      mode: 'split',
      powerW: 0,
    },
    { name: 'three, contactor open', base: threePhaseIdle, change: {}, mode: 'three', powerW: 0 },
    {
      name: 'split, grid_v missing: voltageA',
      base: splitCharging,
      change: { grid_v: null },
      mode: 'split',
      powerW: 242.6 * 30.8,
    },
    {
      name: 'split, no current reading',
      base: splitCharging,
      change: { vehicle_current_a: null },
      mode: 'split',
      powerW: 0,
    },
    {
      name: 'three, a phase without reading counts 0',
      base: threePhaseCharging,
      change: { currentB_a: null },
      mode: 'three',
      powerW: 230.1 * 16 + 230.3 * 16.1,
    },
    {
      name: 'split, sensor noise below zero',
      base: splitCharging,
      change: { vehicle_current_a: -0.2 },
      mode: 'split',
      powerW: 0,
    },
  ])('$name', ({ base, change, mode, powerW }) => {
    expect(computePowerW(vitalsSchema.parse({ ...base, ...change }), mode)).toBeCloseTo(powerW, 9);
  });

  it('split-phase power is not the phase sum, which overstates it', () => {
    const sumW = 242.6 * 11.4 + 242.7 * 13.1 + 119.2 * 12.7;
    expect(computePowerW(splitCharging, 'split')).not.toBeCloseTo(sumW, 0);
    expect(computePowerW(splitCharging, 'three')).toBeCloseTo(sumW, 9);
  });
});

describe('evseStateName', () => {
  it.each<[number | null, string]>([
    [0, 'booting'],
    [1, 'not_connected'],
    [2, 'connected'],
    [3, 'unknown'],
    [4, 'ready'],
    [5, 'unknown'],
    [6, 'negotiating'],
    [7, 'handshake'],
    [8, 'charging_finished'],
    [9, 'waiting_for_car'],
    [10, 'charging_reduced_power'],
    [11, 'charging'],
    [12, 'unknown'],
    [99, 'unknown'],
    [-1, 'unknown'],
    [null, 'unknown'],
  ])('%s -> %s', (code, name) => {
    expect(evseStateName(code)).toBe(name);
  });

  it('keeps the raw code of an unknown state', () => {
    const normalized = normalizeVitals(vitals(VITALS_SPLIT_PHASE_CHARGING, { evse_state: 12 }));
    expect(normalized.evse_state).toBe(12);
    expect(normalized.evse_state_name).toBe('unknown');
  });
});
