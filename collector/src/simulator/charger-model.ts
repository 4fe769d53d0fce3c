import {
  initialRunSpec,
  type PhaseKind,
  type ProfilePhase,
  phaseAt,
  phaseCurrentA,
  phasesFor,
  type RunSpec,
  remainingSpec,
  truncatePhases,
} from './charge-profile.js';
import type { ParsedSimFault } from './faults.js';
import { between, createRandom, hash32, noiseFrom, smoothNoise, unitFrom } from './random.js';
import { createSessionPlanner, type ScenarioName, type SessionPlan } from './scenario.js';

/**
 * One simulated Wall Connector, as a pure function of simulated time: ask
 * for its state at any instant and get the same answer for the same seed,
 * options and injected faults, whatever was asked before. No timers, no I/O;
 * the HTTP server computes state lazily when a request arrives.
 *
 * Energy is exact: grid voltage and a small current-measurement wobble are
 * constant within each simulated minute, the current is piecewise linear, so
 * the integral of power over any span is a sum of trapezoids.
 */

export type PhaseWiring = 'split' | 'three';
export type FirmwareGeneration = 'old' | 'new';

export interface ChargerModelOptions {
  index: number;
  seed: number;
  startTimeMs: number;
  phase?: PhaseWiring;
  firmware?: FirmwareGeneration;
  scenario?: ScenarioName;
  /** Full-rate charging current; 48 A split-phase, 16 A per phase three-phase by default. */
  currentA?: number;
  /** Local time for the `day` scenario; Chicago standard time by default. */
  utcOffsetMinutes?: number;
}

export interface LifetimeCounters {
  contactorCycles: number;
  contactorCyclesLoaded: number;
  alertCount: number;
  thermalFoldbacks: number;
  avgStartupTempC: number;
  chargeStarts: number;
  /** Exact; the payload shows it as an integer. */
  energyWh: number;
  connectorCycles: number;
  uptimeS: number;
  chargingTimeS: number;
}

export interface ChargerState {
  simMs: number;
  booting: boolean;
  vehicleConnected: boolean;
  contactorClosed: boolean;
  evseState: number;
  sessionS: number;
  sessionEnergyWh: number;
  /** The current that flows (0 while the contactor is open). */
  chargingCurrentA: number;
  /** What the charger reports; a small residual reading while the contactor is open. */
  vehicleCurrentA: number;
  /** grid_v x current split-phase, the sum over phases three-phase; 0 while the contactor is open. */
  powerW: number;
  gridV: number;
  gridHz: number;
  voltageAV: number;
  voltageBV: number;
  voltageCV: number;
  currentAA: number;
  currentBA: number;
  currentCA: number;
  currentNA: number;
  pcbaTempC: number;
  handleTempC: number;
  mcuTempC: number;
  inputThermopileUv: number;
  proxV: number;
  pilotHighV: number;
  pilotLowV: number;
  uptimeS: number;
  lifetime: LifetimeCounters;
}

export interface TruthChargingRun {
  startMs: number;
  /** null while still charging at the time asked. */
  stopMs: number | null;
  /** The contactor opened under load (a reboot, or the car unplugged mid-charge). */
  interrupted: boolean;
}

export interface TruthSession {
  plugInMs: number;
  /** null while still plugged in at the time asked. */
  unplugMs: number | null;
  charging: TruthChargingRun[];
  /** Energy delivered in the session up to the time asked, exact. */
  energyWh: number;
}

export interface TruthFault {
  kind: ParsedSimFault['kind'];
  atMs: number;
  /** End of the fault in simulated time, for faults that last (a Wi-Fi drop-out). */
  untilMs?: number;
  fault: ParsedSimFault;
}

export interface ChargerTruth {
  index: number;
  asOfMs: number;
  sessions: TruthSession[];
  faults: TruthFault[];
  lifetimeEnergyWh: number;
}

export interface ChargerIdentity {
  serialNumber: string;
  firmwareVersion: string;
  partNumber: string;
  wifiSsidName: string;
  wifiMac: string;
  wifiIp: string;
}

export interface ChargerModel {
  readonly options: Readonly<Required<ChargerModelOptions>>;
  readonly identity: ChargerIdentity;
  stateAt(simMs: number): ChargerState;
  /** Wi-Fi link quality at `simMs`: 0-100 quality, RSSI dBm, SNR dB. */
  wifiAt(simMs: number): { signalStrength: number; rssiDbm: number; snrDb: number };
  /** Records a fault at `atMs`; a reboot or a session-energy reset also changes state from then on. */
  injectFault(fault: ParsedSimFault, atMs: number, untilMs?: number): void;
  truth(asOfMs: number): ChargerTruth;
}

/** A reboot takes this long before the charger answers with a live state again (evse_state 0 meanwhile). */
export const BOOT_MS = 30_000;
/** After a reboot, the car is offered current again this long after boot (handshake). */
export const RESUME_AFTER_BOOT_MS = 15_000;
/** evse_state 2 (connected) this long after plug-in or boot, before ready/waiting. */
const HANDSHAKE_MS = 10_000;
/** Within this long before the charge starts the charger reads ready (4) rather than waiting (9). */
const READY_WINDOW_MS = 60_000;
const MINUTE_MS = 60_000;
/** Chicago standard time; a simulation needs no DST. */
const CHICAGO_STANDARD_OFFSET_MINUTES = -360;
/** Heating of the handle and board follows current with this time constant. */
const THERMAL_TAU_MS = 15 * MINUTE_MS;

// Noise channels: each quantity draws from its own stream.
const CH_GRID_SLOW = 1;
const CH_GRID_FAST = 2;
const CH_PHASE_A = 3;
const CH_PHASE_B = 4;
const CH_PHASE_C = 5;
const CH_CURRENT = 6;
const CH_HZ = 7;
const CH_AMBIENT = 8;
const CH_TEMPS = 9;
const CH_WIFI = 10;
const CH_RESIDUAL = 11;

interface ChargeRun {
  startMs: number;
  endMs: number;
  phases: ProfilePhase[];
  interrupted: boolean;
}

interface ResolvedSession {
  plan: SessionPlan;
  runs: ChargeRun[];
}

interface SessionTotals {
  connectorCycles: number;
  chargeStarts: number;
  contactorCyclesLoaded: number;
  chargingMs: number;
  energyWh: number;
  thermalFoldbacks: number;
  startupTempSumC: number;
}

interface Baseline {
  uptimeS: number;
  lifetime: LifetimeCounters;
  leftoverSessionEnergyWh: number;
  ambientBaseC: number;
  wifiBaseQuality: number;
}

const ZERO_TOTALS: SessionTotals = {
  connectorCycles: 0,
  chargeStarts: 0,
  contactorCyclesLoaded: 0,
  chargingMs: 0,
  energyWh: 0,
  thermalFoldbacks: 0,
  startupTempSumC: 0,
};

export function createChargerModel(input: ChargerModelOptions): ChargerModel {
  const phase = input.phase ?? 'split';
  const options: Required<ChargerModelOptions> = {
    index: input.index,
    seed: input.seed,
    startTimeMs: input.startTimeMs,
    phase,
    firmware: input.firmware ?? 'new',
    scenario: input.scenario ?? 'day',
    currentA: input.currentA ?? (phase === 'three' ? 16 : 48),
    utcOffsetMinutes: input.utcOffsetMinutes ?? CHICAGO_STANDARD_OFFSET_MINUTES,
  };
  const { seed, index } = options;
  const nominalWattsPerAmp = phase === 'three' ? 3 * 230 : 240;
  const planner = createSessionPlanner({
    scenario: options.scenario,
    seed,
    index,
    startTimeMs: options.startTimeMs,
    currentA: options.currentA,
    nominalWattsPerAmp,
    utcOffsetMinutes: options.utcOffsetMinutes,
  });
  const baseline = drawBaseline(seed, index);
  const identity = drawIdentity(seed, index, options.firmware);

  const rebootsMs: number[] = [];
  const counterResetsMs: number[] = [];
  const faults: TruthFault[] = [];
  // Caches, valid until the next injected fault.
  let resolved: ResolvedSession[] = [];
  let completedTotals: SessionTotals[] = [ZERO_TOTALS];

  // --- electrical quantities, constant within a simulated minute ---
  function gridVAt(minute: number): number {
    if (phase === 'three')
      return (phaseVAt(minute, CH_PHASE_A) + phaseVAt(minute, CH_PHASE_B) + phaseVAt(minute, CH_PHASE_C)) / 3;
    return (
      240 +
      2.5 * smoothNoise(minute / 10, seed, index, CH_GRID_SLOW) +
      0.3 * noiseFrom(seed, index, CH_GRID_FAST, minute)
    );
  }
  function phaseVAt(minute: number, channel: number): number {
    return (
      230 + 2 * smoothNoise(minute / 10, seed, index, CH_GRID_SLOW) + 0.8 * noiseFrom(seed, index, channel, minute)
    );
  }
  /** The volts that multiply the vehicle current to give power: grid_v split-phase, the phase sum three-phase. */
  function powerVoltsAt(minute: number): number {
    if (phase === 'three')
      return phaseVAt(minute, CH_PHASE_A) + phaseVAt(minute, CH_PHASE_B) + phaseVAt(minute, CH_PHASE_C);
    return gridVAt(minute);
  }
  /** The charger's current reading wobbles a little around what the car draws. */
  function currentScaleAt(minute: number): number {
    return 1 + 0.004 * noiseFrom(seed, index, CH_CURRENT, minute);
  }
  function ambientCAt(simMs: number): number {
    return baseline.ambientBaseC + 3 * smoothNoise(simMs / (3 * 60 * MINUTE_MS), seed, index, CH_AMBIENT);
  }

  // --- sessions with faults applied ---
  function resolveSession(plan: SessionPlan): ResolvedSession {
    const runs: ChargeRun[] = [];
    let spec: RunSpec = initialRunSpec(plan.currentA, plan.energyWantedWh, nominalWattsPerAmp, plan.thermal);
    let startMs = plan.chargeStartMs;
    for (;;) {
      startMs = afterBoots(startMs);
      if (startMs >= plan.unplugMs) break;
      const phases = phasesFor(spec, startMs);
      const last = phases.at(-1);
      if (!last) break;
      const runEndMs = last.endMs;
      const rebootMs = rebootsMs.find((r) => r > startMs && r < runEndMs && r < plan.unplugMs);
      if (rebootMs !== undefined) {
        runs.push({ startMs, endMs: rebootMs, phases: truncatePhases(phases, rebootMs), interrupted: true });
        spec = remainingSpec(spec, phases, rebootMs);
        startMs = rebootMs;
        continue;
      }
      if (plan.unplugMs < runEndMs) {
        runs.push({ startMs, endMs: plan.unplugMs, phases: truncatePhases(phases, plan.unplugMs), interrupted: true });
        break;
      }
      runs.push({ startMs, endMs: runEndMs, phases, interrupted: false });
      break;
    }
    return { plan, runs };
  }

  /** A run cannot start while the charger boots, nor before the handshake after it. */
  function afterBoots(timeMs: number): number {
    let t = timeMs;
    for (const r of rebootsMs) {
      if (r <= t && t < r + BOOT_MS + RESUME_AFTER_BOOT_MS) t = r + BOOT_MS + RESUME_AFTER_BOOT_MS;
    }
    return t;
  }

  function sessionsThrough(simMs: number): ResolvedSession[] {
    const plans = planner.sessionsThrough(simMs);
    while (resolved.length < plans.length) {
      const plan = plans[resolved.length] as SessionPlan;
      if (plan.plugInMs > simMs) break;
      resolved.push(resolveSession(plan));
    }
    return resolved;
  }

  /** The index of the last session plugged in at or before `simMs`, or -1. */
  function sessionIndexAt(sessions: readonly ResolvedSession[], simMs: number): number {
    let low = 0;
    let high = sessions.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if ((sessions[mid] as ResolvedSession).plan.plugInMs <= simMs) {
        found = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    return found;
  }

  function energyWh(runs: readonly ChargeRun[], fromMs: number, toMs: number): number {
    let wattMs = 0;
    for (const run of runs) {
      if (run.endMs <= fromMs || run.startMs >= toMs) continue;
      for (const p of run.phases) {
        const a = Math.max(fromMs, p.startMs);
        const b = Math.min(toMs, p.endMs);
        if (a >= b) continue;
        let minute = Math.floor(a / MINUTE_MS);
        let segmentStart = a;
        while (segmentStart < b) {
          const segmentEnd = Math.min(b, (minute + 1) * MINUTE_MS);
          const meanA = (phaseCurrentA(p, segmentStart) + phaseCurrentA(p, segmentEnd)) / 2;
          wattMs += powerVoltsAt(minute) * currentScaleAt(minute) * meanA * (segmentEnd - segmentStart);
          minute += 1;
          segmentStart = segmentEnd;
        }
      }
    }
    return wattMs / 3_600_000;
  }

  function totalsUpTo(session: ResolvedSession, simMs: number): SessionTotals {
    const totals = { ...ZERO_TOTALS, connectorCycles: 1 };
    for (const run of session.runs) {
      if (run.startMs > simMs) break;
      totals.chargeStarts += 1;
      totals.startupTempSumC += ambientCAt(run.startMs);
      if (run.interrupted && run.endMs <= simMs) totals.contactorCyclesLoaded += 1;
      totals.chargingMs += Math.min(run.endMs, simMs) - run.startMs;
      for (const p of run.phases) if (p.kind === 'thermal' && p.startMs <= simMs) totals.thermalFoldbacks += 1;
    }
    totals.energyWh = energyWh(session.runs, session.plan.plugInMs, Math.min(simMs, session.plan.unplugMs));
    return totals;
  }

  function addTotals(a: SessionTotals, b: SessionTotals): SessionTotals {
    return {
      connectorCycles: a.connectorCycles + b.connectorCycles,
      chargeStarts: a.chargeStarts + b.chargeStarts,
      contactorCyclesLoaded: a.contactorCyclesLoaded + b.contactorCyclesLoaded,
      chargingMs: a.chargingMs + b.chargingMs,
      energyWh: a.energyWh + b.energyWh,
      thermalFoldbacks: a.thermalFoldbacks + b.thermalFoldbacks,
      startupTempSumC: a.startupTempSumC + b.startupTempSumC,
    };
  }

  /** Totals of the sessions before `count` (all complete by then), from a prefix cache. */
  function totalsBefore(sessions: readonly ResolvedSession[], count: number): SessionTotals {
    while (completedTotals.length <= count) {
      const i = completedTotals.length - 1;
      const session = sessions[i] as ResolvedSession;
      completedTotals.push(addTotals(completedTotals[i] as SessionTotals, totalsUpTo(session, session.plan.unplugMs)));
    }
    return completedTotals[count] as SessionTotals;
  }

  function lifetimeAt(simMs: number, sessions: readonly ResolvedSession[], current: number): LifetimeCounters {
    let totals = totalsBefore(sessions, Math.max(0, current));
    if (current >= 0) totals = addTotals(totals, totalsUpTo(sessions[current] as ResolvedSession, simMs));
    const reboots = rebootsMs.filter((r) => r <= simMs).length;
    const base = baseline.lifetime;
    const starts = base.chargeStarts + totals.chargeStarts;
    const elapsedS = Math.max(0, (simMs - options.startTimeMs) / 1000);
    return {
      contactorCycles: base.contactorCycles + totals.chargeStarts,
      contactorCyclesLoaded: base.contactorCyclesLoaded + totals.contactorCyclesLoaded,
      alertCount: base.alertCount + reboots + totals.thermalFoldbacks,
      thermalFoldbacks: base.thermalFoldbacks + totals.thermalFoldbacks,
      avgStartupTempC: (base.avgStartupTempC * base.chargeStarts + totals.startupTempSumC) / starts,
      chargeStarts: starts,
      energyWh: base.energyWh + totals.energyWh,
      connectorCycles: base.connectorCycles + totals.connectorCycles,
      uptimeS: Math.floor(base.uptimeS + elapsedS),
      chargingTimeS: Math.floor(base.chargingTimeS + totals.chargingMs / 1000),
    };
  }

  /** 0..1: how hot the handle and board run, a first-order response to current squared. */
  function heatAt(session: ResolvedSession | undefined, simMs: number): number {
    if (!session) return 0;
    let heat = 0;
    for (const run of session.runs) {
      if (run.startMs > simMs) break;
      const rise = (t: number) => {
        const p = phaseAt(run.phases, t);
        const load = p ? phaseCurrentA(p, t) / options.currentA : 0;
        return load * load * (1 - Math.exp(-(t - run.startMs) / THERMAL_TAU_MS));
      };
      if (simMs < run.endMs) heat += rise(simMs);
      else {
        const last = run.phases.at(-1);
        const atEnd = last
          ? (last.toA / options.currentA) ** 2 * (1 - Math.exp(-(run.endMs - run.startMs) / THERMAL_TAU_MS))
          : 0;
        heat += atEnd * Math.exp(-(simMs - run.endMs) / THERMAL_TAU_MS);
      }
    }
    return Math.min(1.2, heat);
  }

  function evseStateAt(
    session: ResolvedSession,
    simMs: number,
    phaseKind: PhaseKind | undefined,
    liveSinceMs: number,
  ): number {
    if (phaseKind) return phaseKind === 'taper' || phaseKind === 'thermal' ? 10 : 11;
    if (simMs - liveSinceMs < HANDSHAKE_MS) return 2;
    const nextRun = session.runs.find((run) => run.startMs > simMs);
    if (nextRun) return nextRun.startMs - simMs <= READY_WINDOW_MS ? 4 : 9;
    const lastRun = session.runs.at(-1);
    if (lastRun && !lastRun.interrupted && lastRun.endMs <= simMs && liveSinceMs <= lastRun.endMs) return 8;
    return 9;
  }

  function stateAt(simMs: number): ChargerState {
    const sessions = sessionsThrough(simMs);
    const current = sessionIndexAt(sessions, simMs);
    const session = current >= 0 ? (sessions[current] as ResolvedSession) : undefined;
    const lastRebootMs = latestAtOrBefore(rebootsMs, simMs);
    const booting = lastRebootMs !== undefined && simMs < lastRebootMs + BOOT_MS;
    const vehicleConnected = session !== undefined && simMs < session.plan.unplugMs;
    const run = vehicleConnected ? session.runs.find((r) => r.startMs <= simMs && simMs < r.endMs) : undefined;
    const phaseNow = run ? phaseAt(run.phases, simMs) : undefined;
    const contactorClosed = phaseNow !== undefined && !booting;
    const minute = Math.floor(simMs / MINUTE_MS);
    const chargingCurrentA = contactorClosed && phaseNow ? phaseCurrentA(phaseNow, simMs) * currentScaleAt(minute) : 0;

    const bootEndMs = lastRebootMs === undefined ? Number.NEGATIVE_INFINITY : lastRebootMs + BOOT_MS;
    const liveSinceMs = session ? Math.max(session.plan.plugInMs, bootEndMs) : bootEndMs;
    let evseState = 1;
    if (booting) evseState = 0;
    else if (vehicleConnected) evseState = evseStateAt(session, simMs, phaseNow?.kind, liveSinceMs);

    const sessionS = vehicleConnected && !booting ? Math.floor((simMs - liveSinceMs) / 1000) : 0;
    const sessionEnergyWh = sessionEnergyAt(session, simMs);

    const gridV = gridVAt(minute);
    const residualA = 0.1 + 0.4 * unitFrom(seed, index, CH_RESIDUAL, minute);
    const vehicleCurrentA = contactorClosed ? chargingCurrentA : vehicleConnected ? residualA : 0;
    const hz = phase === 'three' ? 50 : 60;
    const heat = heatAt(session, simMs);
    const ambientC = ambientCAt(simMs);
    const tempNoise = (k: number) => 0.15 * noiseFrom(seed, index, CH_TEMPS, k, minute);

    let voltageAV: number;
    let voltageBV: number;
    let voltageCV: number;
    let currentAA: number;
    let currentBA: number;
    let currentCA: number;
    let currentNA: number;
    if (phase === 'three') {
      voltageAV = phaseVAt(minute, CH_PHASE_A);
      voltageBV = phaseVAt(minute, CH_PHASE_B);
      voltageCV = phaseVAt(minute, CH_PHASE_C);
      currentAA = vehicleCurrentA;
      currentBA = vehicleCurrentA;
      currentCA = vehicleCurrentA;
      currentNA = 0.3 + 0.3 * unitFrom(seed, index, CH_RESIDUAL, minute, 1);
    } else {
      // The split-phase unit's per-leg readings do not add up to the vehicle current
      // (see the reference sample: 30.8 A to the car, 11-13 A on each of A, B, C, N).
      voltageAV = gridV + 4 + 0.1 * noiseFrom(seed, index, CH_PHASE_A, minute);
      voltageBV = gridV + 4.1 + 0.1 * noiseFrom(seed, index, CH_PHASE_B, minute);
      voltageCV = gridV / 2 + 0.1 * noiseFrom(seed, index, CH_PHASE_C, minute);
      currentAA = vehicleCurrentA * 0.37;
      currentBA = vehicleCurrentA * 0.425;
      currentCA = vehicleCurrentA * 0.41;
      currentNA = vehicleCurrentA * 0.38;
    }
    const powerW = contactorClosed ? powerVoltsAt(minute) * chargingCurrentA : 0;
    return {
      simMs,
      booting,
      vehicleConnected,
      contactorClosed,
      evseState,
      sessionS,
      sessionEnergyWh,
      chargingCurrentA,
      vehicleCurrentA,
      powerW,
      gridV,
      gridHz: hz + (phase === 'three' ? 0.01 : 0.03) * noiseFrom(seed, index, CH_HZ, minute),
      voltageAV,
      voltageBV,
      voltageCV,
      currentAA,
      currentBA,
      currentCA,
      currentNA,
      pcbaTempC: ambientC + 5 + 14 * heat + tempNoise(1),
      handleTempC: ambientC + 22 * heat + tempNoise(2),
      mcuTempC: ambientC + 10 + 8 * heat + tempNoise(3),
      inputThermopileUv: Math.round(-150 - 120 * heat + 10 * noiseFrom(seed, index, CH_TEMPS, 4, minute)),
      proxV: vehicleConnected ? 1.5 : 0.01,
      pilotHighV: !vehicleConnected ? 11.9 : contactorClosed ? 5.9 : 8.9,
      pilotLowV: vehicleConnected ? -11.9 : 11.9,
      uptimeS: Math.floor(
        lastRebootMs === undefined
          ? baseline.uptimeS + Math.max(0, simMs - options.startTimeMs) / 1000
          : (simMs - lastRebootMs) / 1000,
      ),
      lifetime: lifetimeAt(simMs, sessions, current),
    };
  }

  /**
   * The session counter counts from plug-in, and from zero again after a
   * reboot or a reset; it keeps its value after charging ends and after
   * unplug, until the next plug-in (before the first session of the run it
   * shows what the charger had left from earlier).
   */
  function sessionEnergyAt(session: ResolvedSession | undefined, simMs: number): number {
    const zeroMs = Math.max(
      latestAtOrBefore(rebootsMs, simMs) ?? Number.NEGATIVE_INFINITY,
      latestAtOrBefore(counterResetsMs, simMs) ?? Number.NEGATIVE_INFINITY,
    );
    if (!session) return zeroMs === Number.NEGATIVE_INFINITY ? baseline.leftoverSessionEnergyWh : 0;
    const fromMs = Math.max(session.plan.plugInMs, zeroMs);
    const toMs = Math.min(simMs, session.plan.unplugMs);
    return fromMs < toMs ? energyWh(session.runs, fromMs, toMs) : 0;
  }

  function wifiAt(simMs: number) {
    const wander = 8 * smoothNoise(simMs / (5 * MINUTE_MS), seed, index, CH_WIFI);
    const signalStrength = Math.max(0, Math.min(100, Math.round(baseline.wifiBaseQuality + wander)));
    const rssiDbm = Math.round(-95 + signalStrength * 0.6);
    return { signalStrength, rssiDbm, snrDb: Math.max(0, rssiDbm + 86) };
  }

  function injectFault(fault: ParsedSimFault, atMs: number, untilMs?: number): void {
    const record: TruthFault = { kind: fault.kind, atMs, fault };
    if (untilMs !== undefined) record.untilMs = untilMs;
    insertSorted(faults, record, (f) => f.atMs);
    if (fault.kind === 'reboot') insertSorted(rebootsMs, atMs, (t) => t);
    else if (fault.kind === 'session-energy-reset') insertSorted(counterResetsMs, atMs, (t) => t);
    else return;
    resolved = [];
    completedTotals = [ZERO_TOTALS];
  }

  function truth(asOfMs: number): ChargerTruth {
    const sessions = sessionsThrough(asOfMs).filter((s) => s.plan.plugInMs <= asOfMs);
    const current = sessionIndexAt(sessions, asOfMs);
    return {
      index,
      asOfMs,
      sessions: sessions.map((s) => ({
        plugInMs: s.plan.plugInMs,
        unplugMs: s.plan.unplugMs <= asOfMs ? s.plan.unplugMs : null,
        charging: s.runs
          .filter((run) => run.startMs <= asOfMs)
          .map((run) => ({
            startMs: run.startMs,
            stopMs: run.endMs <= asOfMs ? run.endMs : null,
            interrupted: run.interrupted && run.endMs <= asOfMs,
          })),
        energyWh: energyWh(s.runs, s.plan.plugInMs, Math.min(asOfMs, s.plan.unplugMs)),
      })),
      faults: faults.filter((f) => f.atMs <= asOfMs),
      lifetimeEnergyWh: lifetimeAt(asOfMs, sessions, current).energyWh,
    };
  }

  return { options, identity, stateAt, wifiAt, injectFault, truth };
}

function latestAtOrBefore(sortedMs: readonly number[], simMs: number): number | undefined {
  let latest: number | undefined;
  for (const t of sortedMs) {
    if (t > simMs) break;
    latest = t;
  }
  return latest;
}

function insertSorted<T>(list: T[], item: T, key: (item: T) => number): void {
  let i = list.length;
  while (i > 0 && key(list[i - 1] as T) > key(item)) i -= 1;
  list.splice(i, 0, item);
}

/** Where the charger is when the simulation starts: counters of a unit that has been in service a while. */
function drawBaseline(seed: number, index: number): Baseline {
  const random = createRandom(hash32(seed, index, 0xba5e));
  const uptimeS = Math.round(between(random, 1, 30) * 86_400);
  const connectorCycles = Math.round(between(random, 20, 200));
  const chargeStarts = Math.round(connectorCycles * between(random, 1.2, 3));
  const energyWh = Math.round(between(random, 50_000, 2_000_000));
  return {
    uptimeS,
    lifetime: {
      contactorCycles: chargeStarts,
      contactorCyclesLoaded: Math.floor(between(random, 0, 6)),
      alertCount: Math.round(between(random, 10, 2_000)),
      thermalFoldbacks: Math.floor(between(random, 0, 3)),
      avgStartupTempC: Math.round(between(random, 12, 28) * 10) / 10,
      chargeStarts,
      energyWh,
      connectorCycles,
      uptimeS: uptimeS + Math.round(between(random, 30, 600) * 86_400),
      chargingTimeS: Math.round((energyWh / 10_000) * 3600),
    },
    leftoverSessionEnergyWh: Math.round(between(random, 2_000, 25_000) * 10) / 10,
    ambientBaseC: between(random, 8, 26),
    wifiBaseQuality: between(random, 35, 85),
  };
}

const SSID_NAMES = ['HomeNetwork', 'Garage-2G', 'TheHouse', 'NETGEAR42', 'Linksys-Home', 'SmithFamily', 'Xfinity-5'];

function drawIdentity(seed: number, index: number, firmware: FirmwareGeneration): ChargerIdentity {
  const random = createRandom(hash32(seed, index, 0x1d));
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  // The charger index is part of the serial so chargers of one run never share one.
  const serialNumber = `PGT${digits(8)}${String(index).padStart(3, '0')}`;
  const firmwareVersion =
    firmware === 'old'
      ? `${21 + Math.floor(random() * 2)}.${1 + Math.floor(random() * 40)}.${Math.floor(random() * 4)}+g${hex(14)}`
      : `${24 + Math.floor(random() * 2)}.${1 + Math.floor(random() * 44)}.${Math.floor(random() * 4)}+g${hex(14)}`;
  const mac = Array.from({ length: 6 }, (_, i) =>
    (i === 0 ? 0x98 : Math.floor(random() * 256)).toString(16).padStart(2, '0').toUpperCase(),
  ).join(':');
  return {
    serialNumber,
    firmwareVersion,
    partNumber: '1529455-02-D',
    wifiSsidName: SSID_NAMES[Math.floor(random() * SSID_NAMES.length)] as string,
    wifiMac: mac,
    wifiIp: `192.168.${1 + Math.floor(index / 200)}.${50 + (index % 200)}`,
  };
}
