/**
 * Values derived from a vitals payload: the wiring (split- or three-phase),
 * power, whether the car is charging, and the EVSE state's name. Pure.
 */
import type { Vitals } from './models.js';

export type PhaseMode = 'split' | 'three';

export interface NormalizedVitals {
  // The twc_vitals field names.
  vehicle_connected: boolean;
  contactor_closed: boolean;
  session_energy_wh: number | null;
  vehicle_current_a: number | null;
  grid_v: number | null;
  grid_hz: number | null;
  voltageA_v: number | null;
  voltageB_v: number | null;
  voltageC_v: number | null;
  currentA_a: number | null;
  currentB_a: number | null;
  currentC_a: number | null;
  pcba_temp_c: number | null;
  handle_temp_c: number | null;
  mcu_temp_c: number | null;
  session_s: number | null;
  evse_state: number | null;
  power_w: number;
  uptime_s: number | null;
  charging: boolean;
  evse_state_name: string;
  phase_mode: PhaseMode;
  current_alerts: string[];
  evse_not_ready_reasons: number[];
}

// The most agreed mapping of the undocumented evse_state codes; 3, 5 and 12 have no agreed meaning.
const EVSE_STATE_NAMES: Readonly<Record<number, string>> = {
  0: 'booting',
  1: 'not_connected',
  2: 'connected',
  4: 'ready',
  6: 'negotiating',
  7: 'handshake',
  8: 'charging_finished',
  9: 'waiting_for_car',
  10: 'charging_reduced_power',
  11: 'charging',
};

/** Name of an evse_state code, or 'unknown' for codes without an agreed meaning. */
export function evseStateName(code: number | null): string {
  if (code === null) return 'unknown';
  return EVSE_STATE_NAMES[code] ?? 'unknown';
}

function positive(value: number | null | undefined): number | undefined {
  return typeof value === 'number' && value > 0 ? value : undefined;
}

/**
 * How the unit is wired, from its voltages. A North American split-phase unit
 * measures voltageC_v against neutral, about half of grid_v (119 V against
 * 238 V); on a three-phase unit every phase reads about grid_v. The reference
 * is grid_v, or the larger of voltageA_v/voltageB_v when grid_v is missing.
 * When the voltages cannot tell (missing after a `nan` repair, zero, or a
 * ratio matching neither), the grid frequency decides: 60 Hz grids are North
 * American split-phase, 50 Hz grids three-phase (a single-phase 50 Hz install
 * reads zero on B and C, so summing the phases is still right). Without a
 * frequency either, split-phase: this project serves ComEd customers.
 */
export function detectPhaseMode(vitals: Vitals): PhaseMode {
  const reference = positive(vitals.grid_v) ?? positive(Math.max(vitals.voltageA_v ?? 0, vitals.voltageB_v ?? 0));
  const phaseC = positive(vitals.voltageC_v);
  if (reference !== undefined && phaseC !== undefined) {
    const ratio = phaseC / reference;
    if (ratio >= 0.35 && ratio <= 0.65) return 'split';
    if (ratio >= 0.8 && ratio <= 1.25) return 'three';
  }
  const hz = positive(vitals.grid_hz);
  if (hz !== undefined && hz >= 45 && hz < 55) return 'three';
  return 'split';
}

/**
 * Power delivered to the car in watts: 0 while the contactor is open. Split
 * phase: grid_v x vehicle_current_a (summing the phases would overstate it by
 * about a third, since phase C is measured against neutral). Three phase: the
 * sum of voltage x current over the phases. A missing reading contributes 0.
 */
export function computePowerW(vitals: Vitals, mode: PhaseMode): number {
  if (!vitals.contactor_closed) return 0;
  if (mode === 'split') {
    const volts = vitals.grid_v ?? vitals.voltageA_v ?? null;
    const amps = vitals.vehicle_current_a;
    if (volts === null || amps === null) return 0;
    return Math.max(0, volts * amps);
  }
  const phases: Array<[number | null | undefined, number | null | undefined]> = [
    [vitals.voltageA_v, vitals.currentA_a],
    [vitals.voltageB_v, vitals.currentB_a],
    [vitals.voltageC_v, vitals.currentC_a],
  ];
  let powerW = 0;
  for (const [volts, amps] of phases) {
    if (typeof volts === 'number' && typeof amps === 'number') powerW += volts * amps;
  }
  return Math.max(0, powerW);
}

export function normalizeVitals(vitals: Vitals, options: { phaseMode?: 'auto' | PhaseMode } = {}): NormalizedVitals {
  const requested = options.phaseMode ?? 'auto';
  const phaseMode = requested === 'auto' ? detectPhaseMode(vitals) : requested;
  return {
    vehicle_connected: vitals.vehicle_connected,
    contactor_closed: vitals.contactor_closed,
    session_energy_wh: vitals.session_energy_wh,
    vehicle_current_a: vitals.vehicle_current_a,
    grid_v: vitals.grid_v,
    grid_hz: vitals.grid_hz ?? null,
    voltageA_v: vitals.voltageA_v ?? null,
    voltageB_v: vitals.voltageB_v ?? null,
    voltageC_v: vitals.voltageC_v ?? null,
    currentA_a: vitals.currentA_a ?? null,
    currentB_a: vitals.currentB_a ?? null,
    currentC_a: vitals.currentC_a ?? null,
    pcba_temp_c: vitals.pcba_temp_c ?? null,
    handle_temp_c: vitals.handle_temp_c ?? null,
    mcu_temp_c: vitals.mcu_temp_c ?? null,
    session_s: vitals.session_s,
    evse_state: vitals.evse_state,
    power_w: computePowerW(vitals, phaseMode),
    uptime_s: vitals.uptime_s,
    // The contactor, not evse_state, says whether current can flow.
    charging: vitals.contactor_closed,
    evse_state_name: evseStateName(vitals.evse_state),
    phase_mode: phaseMode,
    current_alerts: (vitals.current_alerts ?? []).map(String),
    evse_not_ready_reasons: vitals.evse_not_ready_reasons ?? [],
  };
}
