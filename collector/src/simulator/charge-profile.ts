/**
 * The current a car draws during one charging run, as piecewise-linear
 * phases: ramp up from 0, hold at the full rate (with an optional thermal
 * foldback), taper near full. Piecewise-linear current makes the energy
 * integral exact (see charger-model.ts). Pure functions of time.
 */

export type PhaseKind = 'ramp' | 'hold' | 'thermal' | 'taper';

export interface ProfilePhase {
  kind: PhaseKind;
  startMs: number;
  endMs: number;
  fromA: number;
  toA: number;
}

/** What is left to do when a run (re)starts. */
export interface RunSpec {
  rampMs: number;
  /** Where the ramp starts; 0 (a fresh start) when absent, the present current when the car changes its request. */
  rampFromA?: number;
  holdA: number;
  holdMs: number;
  thermal?: { afterHoldMs: number; durationMs: number; factor: number };
  taperMs: number;
  taperToA: number;
}

/** A Tesla ramps its request up over about three quarters of a minute after the contactor closes. */
export const RAMP_MS = 45_000;
/** The taper near full charge, from the full rate down to TAPER_END_FRACTION of it. */
export const TAPER_MS = 12 * 60_000;
export const TAPER_END_FRACTION = 0.3;

/** The run spec for a car that wants `energyWantedWh` at `currentA`, sized with the nominal power. */
export function initialRunSpec(
  currentA: number,
  energyWantedWh: number,
  nominalWattsPerAmp: number,
  thermal?: RunSpec['thermal'],
): RunSpec {
  const fullW = currentA * nominalWattsPerAmp;
  const rampWh = (fullW * RAMP_MS) / 2 / 3_600_000;
  const taperWh = (fullW * (1 + TAPER_END_FRACTION) * TAPER_MS) / 2 / 3_600_000;
  const holdMs = Math.max(0, Math.round(((energyWantedWh - rampWh - taperWh) / fullW) * 3_600_000));
  return {
    rampMs: RAMP_MS,
    holdA: currentA,
    holdMs,
    thermal,
    taperMs: TAPER_MS,
    taperToA: currentA * TAPER_END_FRACTION,
  };
}

export function phasesFor(spec: RunSpec, startMs: number): ProfilePhase[] {
  const phases: ProfilePhase[] = [];
  let t = startMs;
  const push = (kind: PhaseKind, durationMs: number, fromA: number, toA: number) => {
    if (durationMs <= 0) return;
    phases.push({ kind, startMs: t, endMs: t + durationMs, fromA, toA });
    t += durationMs;
  };
  push('ramp', spec.rampMs, spec.rampFromA ?? 0, spec.holdA);
  const thermal = spec.thermal;
  if (thermal && thermal.afterHoldMs < spec.holdMs) {
    push('hold', thermal.afterHoldMs, spec.holdA, spec.holdA);
    const reducedA = spec.holdA * thermal.factor;
    push('thermal', thermal.durationMs, reducedA, reducedA);
    push('hold', spec.holdMs - thermal.afterHoldMs, spec.holdA, spec.holdA);
  } else {
    push('hold', spec.holdMs, spec.holdA, spec.holdA);
  }
  push('taper', spec.taperMs, spec.holdA, spec.taperToA);
  return phases;
}

export function phaseCurrentA(phase: ProfilePhase, timeMs: number): number {
  const span = phase.endMs - phase.startMs;
  const fraction = span > 0 ? (timeMs - phase.startMs) / span : 0;
  return phase.fromA + (phase.toA - phase.fromA) * fraction;
}

/** The phase in force at `timeMs` (start inclusive, end exclusive), if any. */
export function phaseAt(phases: readonly ProfilePhase[], timeMs: number): ProfilePhase | undefined {
  return phases.find((phase) => phase.startMs <= timeMs && timeMs < phase.endMs);
}

/** The phases up to `atMs`, the last one cut there. */
export function truncatePhases(phases: readonly ProfilePhase[], atMs: number): ProfilePhase[] {
  const kept: ProfilePhase[] = [];
  for (const phase of phases) {
    if (phase.startMs >= atMs) break;
    if (phase.endMs <= atMs) kept.push(phase);
    else kept.push({ ...phase, endMs: atMs, toA: phaseCurrentA(phase, atMs) });
  }
  return kept;
}

/** What remains of `spec` when its run (laid out as `phases`) is interrupted at `atMs`. */
export function remainingSpec(spec: RunSpec, phases: readonly ProfilePhase[], atMs: number): RunSpec {
  const current = phaseAt(phases, atMs);
  if (!current || current.kind === 'ramp') return spec;
  if (current.kind === 'taper') {
    return {
      rampMs: spec.rampMs,
      holdA: phaseCurrentA(current, atMs),
      holdMs: 0,
      taperMs: current.endMs - atMs,
      taperToA: spec.taperToA,
    };
  }
  let heldMs = 0;
  for (const phase of phases) {
    if (phase.kind !== 'hold') continue;
    if (phase.endMs <= atMs) heldMs += phase.endMs - phase.startMs;
    else if (phase.startMs <= atMs) heldMs += atMs - phase.startMs;
  }
  const thermalLeft =
    current.kind === 'hold' && spec.thermal && spec.thermal.afterHoldMs > heldMs
      ? { ...spec.thermal, afterHoldMs: spec.thermal.afterHoldMs - heldMs }
      : undefined;
  return { ...spec, holdMs: Math.max(0, spec.holdMs - heldMs), thermal: thermalLeft };
}

/**
 * A run that delivers `energyWh` (at the nominal power per ampere) at
 * `currentA`: ramp from `rampFromA` over `rampMs`, hold, then the taper. Too
 * little energy for a whole taper shortens it, so a car near its limit does
 * not overshoot. With plenty of energy and a ramp from 0 it is exactly
 * `initialRunSpec`.
 */
export function sizedRunSpec(
  currentA: number,
  energyWh: number,
  nominalWattsPerAmp: number,
  rampMs: number,
  rampFromA = 0,
): RunSpec {
  const rampWh = (nominalWattsPerAmp * (rampFromA + currentA) * rampMs) / 2 / 3_600_000;
  const taperWattsMean = (nominalWattsPerAmp * currentA * (1 + TAPER_END_FRACTION)) / 2;
  const taperWh = (taperWattsMean * TAPER_MS) / 3_600_000;
  const spec: RunSpec = {
    rampMs,
    holdA: currentA,
    holdMs: 0,
    taperMs: TAPER_MS,
    taperToA: currentA * TAPER_END_FRACTION,
  };
  if (rampFromA !== 0) spec.rampFromA = rampFromA;
  if (energyWh >= rampWh + taperWh) {
    spec.holdMs = Math.round(((energyWh - rampWh - taperWh) / (nominalWattsPerAmp * currentA)) * 3_600_000);
  } else {
    spec.taperMs = Math.max(1_000, Math.round((Math.max(0, energyWh - rampWh) / taperWattsMean) * 3_600_000));
  }
  return spec;
}

/** Energy at the nominal power per ampere that `phases` deliver from `fromMs` on (exact: the current is linear). */
export function nominalWhFrom(phases: readonly ProfilePhase[], fromMs: number, nominalWattsPerAmp: number): number {
  let ampMs = 0;
  for (const phase of phases) {
    const a = Math.max(fromMs, phase.startMs);
    if (a >= phase.endMs) continue;
    ampMs += ((phaseCurrentA(phase, a) + phase.toA) / 2) * (phase.endMs - a);
  }
  return (ampMs * nominalWattsPerAmp) / 3_600_000;
}
