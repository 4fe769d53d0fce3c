import {
  CAR_AMPS_SLEW_MS,
  CAR_SLEEP_AFTER_MS,
  CAR_START_DELAY_MS,
  CAR_STOP_DELAY_MS,
  CHARGE_LIMIT_MAX_PCT,
  CHARGE_LIMIT_MIN_PCT,
  drawCarIdentity,
  LOW_AMPS_FLOOR_A,
  MIN_ARRIVAL_SOC_PCT,
  wakeDelayMs,
} from './car-profile.js';
import {
  initialRunSpec,
  nominalWhFrom,
  type PhaseKind,
  type ProfilePhase,
  phaseAt,
  phaseCurrentA,
  phasesFor,
  RAMP_MS,
  type RunSpec,
  remainingSpec,
  sizedRunSpec,
  truncatePhases,
} from './charge-profile.js';
import type { ParsedSimFault } from './faults.js';
import { between, createRandom, hash32, noiseFrom, smoothNoise, unitFrom } from './random.js';
import { createSessionPlanner, IMMEDIATE_START_DELAY_MS, type ScenarioName, type SessionPlan } from './scenario.js';
import {
  type CarRunEnd,
  type CarRunStart,
  type CarTruth,
  type SimCarCommand,
  type SimCarState,
  type SimChargingState,
  type SimCommandResult,
  type SimCommandSource,
  type SimulatedCar,
  VEHICLE_UNAVAILABLE,
} from './sim-car.js';

/**
 * One simulated Wall Connector, as a pure function of simulated time: ask
 * for its state at any instant and get the same answer for the same seed,
 * options and injected faults, whatever was asked before. No timers, no I/O;
 * the HTTP server computes state lazily when a request arrives.
 *
 * Energy is exact: grid voltage and a small current-measurement wobble are
 * constant within each simulated minute, the current is piecewise linear, so
 * the integral of power over any span is a sum of trapezoids.
 *
 * The car behind the charger (`car`) is part of the same function: what it
 * is told (charge_start, charge_stop, set_charging_amps, set_charge_limit,
 * wake_up) is recorded at its simulated instant, like a fault, and the
 * sessions are played out with those commands; the same seed and the same
 * commands give the same state whatever was asked before.
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
  /** The car: its commands, the runs they caused and its state of charge per session. */
  car: CarTruth;
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
  /**
   * The session plugged in at `simMs`, as its owner plans it: when it plugged
   * in and when the car will leave. What a real owner knows and tells the
   * planner (a one-off departure); undefined while nothing is plugged in.
   */
  ownerPlanAt(simMs: number): { plugInMs: number; unplugMs: number } | undefined;
  /** The car plugged into this charger (the same car every session). */
  readonly car: SimulatedCar;
}

/** A reboot takes this long before the charger answers with a live state again (evse_state 0 meanwhile). */
export const BOOT_MS = 30_000;
/** After a reboot, the car is offered current again this long after boot (handshake). */
export const RESUME_AFTER_BOOT_MS = 15_000;
/** evse_state 2 (connected) this long after plug-in or boot, before ready/waiting. */
const HANDSHAKE_MS = 10_000;
/** Within this long before the charge starts the charger reads ready (4) rather than waiting (9). */
const READY_WINDOW_MS = 60_000;
/** Within this long before it draws current the car reports `Starting` (and a charge_start is answered `is_charging`). */
const CAR_STARTING_WINDOW_MS = 30_000;
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
  startedBy: CarRunStart;
  endedBy: CarRunEnd;
}

interface ResolvedSession {
  plan: SessionPlan;
  runs: ChargeRun[];
  /** Exact, percent. */
  socAtPlugInPct: number;
  socAtUnplugPct: number;
}

interface CarEvent {
  seq: number;
  atMs: number;
  kind: 'command' | 'wake';
  source: SimCommandSource;
  command?: SimCarCommand;
}

interface CarSettingsMark {
  atMs: number;
  limitPct: number;
  amps: number;
}

/**
 * The car's history played out in time order as far as the sessions have
 * been resolved (and the commands between sessions up to the last time
 * asked). Rebuilt from scratch when a command or a fault is recorded.
 */
interface CarLedger {
  /** The next event of `carEvents` not played out yet. */
  eventIndex: number;
  limitPct: number;
  amps: number;
  /** The last request below LOW_AMPS_FLOOR_A, which a repeat makes stick. */
  lowAmpsRequest: number | null;
  /** A wake-up under way: online from then. */
  wakingUntilMs: number;
  /** When the car was last active (sorted): awake for CAR_SLEEP_AFTER_MS after each. */
  activities: number[];
  settings: CarSettingsMark[];
  outcomes: Map<number, { result: SimCommandResult; onlineAtMs?: number }>;
}

const OK: SimCommandResult = { result: true, reason: '' };
const refused = (reason: string): SimCommandResult => ({ result: false, reason });

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

  const carIdentity = drawCarIdentity(seed, index);
  /** State of charge, percent, per Wh the Wall Connector delivers. */
  const pctPerWh = (carIdentity.efficiency * 100) / (carIdentity.usableCapacityKwh * 1000);

  const rebootsMs: number[] = [];
  const counterResetsMs: number[] = [];
  const faults: TruthFault[] = [];
  const carEvents: CarEvent[] = [];
  let nextCarSeq = 0;
  // Caches, valid until the next injected fault or car command.
  let resolved: ResolvedSession[] = [];
  let completedTotals: SessionTotals[] = [ZERO_TOTALS];
  let ledger = freshLedger();

  function invalidate(): void {
    resolved = [];
    completedTotals = [ZERO_TOTALS];
    ledger = freshLedger();
  }

  // --- the car's ledger ---
  function freshLedger(): CarLedger {
    return {
      eventIndex: 0,
      limitPct: carIdentity.chargeLimitPct,
      amps: options.currentA,
      lowAmpsRequest: null,
      wakingUntilMs: Number.NEGATIVE_INFINITY,
      // The car has just been parked when the simulation starts.
      activities: [options.startTimeMs],
      settings: [{ atMs: Number.NEGATIVE_INFINITY, limitPct: carIdentity.chargeLimitPct, amps: options.currentA }],
      outcomes: new Map(),
    };
  }

  function carActivity(atMs: number): void {
    insertSorted(ledger.activities, atMs, (t) => t);
  }

  function carAwake(simMs: number, charging: boolean): boolean {
    if (charging) return true;
    const last = latestSortedAtOrBefore(ledger.activities, simMs);
    return last !== undefined && simMs - last < CAR_SLEEP_AFTER_MS;
  }

  function markCarSettings(atMs: number): void {
    insertSorted(ledger.settings, { atMs, limitPct: ledger.limitPct, amps: ledger.amps }, (m) => m.atMs);
  }

  function carSettingsAt(simMs: number): CarSettingsMark {
    let found = ledger.settings[0] as CarSettingsMark;
    for (const mark of ledger.settings) {
      if (mark.atMs > simMs) break;
      found = mark;
    }
    return found;
  }

  function recordOutcome(ev: CarEvent, result: SimCommandResult): void {
    ledger.outcomes.set(ev.seq, { result });
  }

  function recordWake(ev: CarEvent, charging: boolean): void {
    let onlineAtMs = ev.atMs;
    if (ledger.wakingUntilMs > ev.atMs) onlineAtMs = ledger.wakingUntilMs;
    else if (!carAwake(ev.atMs, charging)) {
      onlineAtMs = ev.atMs + wakeDelayMs(seed, index, ev.atMs);
      ledger.wakingUntilMs = onlineAtMs;
    }
    carActivity(onlineAtMs);
    ledger.outcomes.set(ev.seq, { result: OK, onlineAtMs });
  }

  /** Applies a set_charging_amps request; true when the current the car asks for changed. */
  function applyAmps(requested: number, atMs: number): boolean {
    let amps = Math.min(options.currentA, Math.max(1, Math.round(requested)));
    if (amps < LOW_AMPS_FLOOR_A) {
      const repeated = ledger.lowAmpsRequest === amps;
      ledger.lowAmpsRequest = amps;
      if (!repeated) amps = LOW_AMPS_FLOOR_A;
    } else {
      ledger.lowAmpsRequest = null;
    }
    if (amps === ledger.amps) return false;
    ledger.amps = amps;
    markCarSettings(atMs);
    return true;
  }

  function applyLimit(requested: number, atMs: number): { result: SimCommandResult; deltaPct: number } {
    const pct = Math.min(CHARGE_LIMIT_MAX_PCT, Math.max(CHARGE_LIMIT_MIN_PCT, Math.round(requested)));
    if (pct === ledger.limitPct) return { result: refused('already_set'), deltaPct: 0 };
    const deltaPct = pct - ledger.limitPct;
    ledger.limitPct = pct;
    markCarSettings(atMs);
    return { result: OK, deltaPct };
  }

  /** Plays out the car's events between sessions, before `untilMs` (or at it too, when `inclusive`). */
  function advanceCar(untilMs: number, inclusive: boolean): void {
    for (;;) {
      const ev = carEvents[ledger.eventIndex];
      if (!ev || ev.atMs > untilMs || (!inclusive && ev.atMs === untilMs)) return;
      ledger.eventIndex += 1;
      if (ev.kind === 'wake') {
        recordWake(ev, false);
        continue;
      }
      if (ev.source === 'api' && !carAwake(ev.atMs, false)) {
        recordOutcome(ev, refused(VEHICLE_UNAVAILABLE));
        continue;
      }
      carActivity(ev.atMs);
      const command = ev.command as SimCarCommand;
      if (command.name === 'charge_start') recordOutcome(ev, refused('disconnected'));
      else if (command.name === 'charge_stop') recordOutcome(ev, refused('not_charging'));
      else if (command.name === 'set_charging_amps') {
        applyAmps(command.amps, ev.atMs);
        recordOutcome(ev, OK);
      } else recordOutcome(ev, applyLimit(command.percent, ev.atMs).result);
    }
  }

  /** Resolves the sessions and the car's events through `simMs`. */
  function carThrough(simMs: number): ResolvedSession[] {
    const sessions = sessionsThrough(simMs);
    advanceCar(simMs, true);
    return sessions;
  }

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

  // --- sessions with faults and the car's commands applied ---
  /**
   * Plays one session out: the car's own plan (start right away or at its
   * scheduled time), interrupted by reboots and unplug as before, and the
   * car's commands in time order. Without commands the runs are the plan's.
   */
  function resolveSession(plan: SessionPlan): ResolvedSession {
    advanceCar(plan.plugInMs, false);
    const unplugMs = plan.unplugMs;
    carActivity(plan.plugInMs);
    // A request below the floor holds only until charging starts again at the next plug-in.
    if (ledger.amps < LOW_AMPS_FLOOR_A) {
      ledger.amps = LOW_AMPS_FLOOR_A;
      ledger.lowAmpsRequest = null;
      markCarSettings(plan.plugInMs);
    }
    const ampsNow = () => Math.min(ledger.amps, plan.currentA);
    const limitAtPlugInPct = ledger.limitPct;
    let wantedWh = plan.energyWantedWh;
    let firstSpec = initialRunSpec(ampsNow(), wantedWh, nominalWattsPerAmp, plan.thermal);
    // The car arrives as empty as the plan's energy says: the uninterrupted plan fills it to its limit.
    let socAtPlugInPct =
      limitAtPlugInPct - phasesEnergyWh(phasesFor(firstSpec, plan.chargeStartMs), -Infinity, Infinity) * pctPerWh;
    if (socAtPlugInPct < MIN_ARRIVAL_SOC_PCT) {
      socAtPlugInPct = MIN_ARRIVAL_SOC_PCT;
      wantedWh = (limitAtPlugInPct - socAtPlugInPct) / pctPerWh;
      firstSpec = initialRunSpec(ampsNow(), wantedWh, nominalWattsPerAmp, plan.thermal);
    }

    const runs: ChargeRun[] = [];
    /** Nominal energy still wanted while no run is laid out (`nextSpec` null). */
    let remainingWh = wantedWh;
    let nextSpec: RunSpec | null = firstSpec;
    // Typed by assertion: the handlers below change these, which narrowing cannot see.
    let pending = (plan.chargeStartMs < unplugMs ? { atMs: plan.chargeStartMs, by: 'plan' } : null) as {
      atMs: number;
      by: CarRunStart;
    } | null;
    let active = null as { run: ChargeRun; spec: RunSpec; phases: ProfilePhase[] } | null;
    let stopAt = null as { atMs: number; by: CarRunEnd } | null;
    let complete = false;

    const socAt = (t: number) => socAtPlugInPct + energyWh(runs, plan.plugInMs, t) * pctPerWh;
    const remainingNowWh = () =>
      nextSpec ? nominalWhFrom(phasesFor(nextSpec, 0), 0, nominalWattsPerAmp) : remainingWh;
    const dropNextSpec = () => {
      remainingWh = remainingNowWh();
      nextSpec = null;
    };
    const endRun = (atMs: number, endedBy: CarRunEnd) => {
      if (!active) return;
      const { run } = active;
      run.endMs = atMs;
      run.phases = truncatePhases(run.phases, atMs);
      run.endedBy = endedBy;
      run.interrupted = endedBy === 'reboot' || endedBy === 'unplug';
      active = null;
      stopAt = null;
      carActivity(atMs);
    };
    /** The car changes what it draws from `c` on: new amps, or more or less energy wanted. */
    const reshape = (c: number, extraWh: number) => {
      if (!active) return;
      const phase = phaseAt(active.phases, c);
      if (!phase) return;
      const currentNowA = phaseCurrentA(phase, c);
      const energy = nominalWhFrom(active.phases, c, nominalWattsPerAmp) + extraWh;
      if (energy <= 0 || ledger.limitPct <= socAt(c)) {
        stopAt ??= { atMs: c + CAR_STOP_DELAY_MS, by: 'limit' };
        return;
      }
      // In the taper the battery, not the request, limits the current.
      const targetA = phase.kind === 'taper' ? Math.min(ampsNow(), currentNowA) : ampsNow();
      const spec = sizedRunSpec(
        targetA,
        energy,
        nominalWattsPerAmp,
        targetA === currentNowA ? 0 : CAR_AMPS_SLEW_MS,
        currentNowA,
      );
      const phases = phasesFor(spec, c);
      active.run.phases = [...truncatePhases(active.run.phases, c), ...phases];
      active.run.endMs = phases.at(-1)?.endMs ?? c;
      active.spec = spec;
      active.phases = phases;
    };

    const handle = (ev: CarEvent) => {
      const c = ev.atMs;
      const charging = active !== null;
      if (ev.kind === 'wake') return recordWake(ev, charging);
      if (ev.source === 'api' && !carAwake(c, charging)) return recordOutcome(ev, refused(VEHICLE_UNAVAILABLE));
      carActivity(c);
      const command = ev.command as SimCarCommand;
      const starting =
        pending !== null && (pending.by !== 'plan' || afterBoots(pending.atMs) - c <= CAR_STARTING_WINDOW_MS);
      const by = ev.source === 'app' ? 'app' : command.name;
      switch (command.name) {
        case 'charge_start':
          if (active || starting) return recordOutcome(ev, refused('is_charging'));
          if (complete || remainingNowWh() <= 0) return recordOutcome(ev, refused('complete'));
          // A start overrides the car's own scheduled time for this session.
          pending = { atMs: c + CAR_START_DELAY_MS, by: by === 'app' ? 'app' : 'charge_start' };
          return recordOutcome(ev, OK);
        case 'charge_stop':
          if (active) {
            stopAt ??= { atMs: c + CAR_STOP_DELAY_MS, by: by === 'app' ? 'app' : 'charge_stop' };
            return recordOutcome(ev, OK);
          }
          if (starting) {
            dropNextSpec();
            pending = null;
            return recordOutcome(ev, OK);
          }
          return recordOutcome(ev, refused('not_charging'));
        case 'set_charging_amps':
          if (applyAmps(command.amps, c)) {
            if (active) reshape(c, 0);
            else dropNextSpec();
          }
          return recordOutcome(ev, OK);
        case 'set_charge_limit': {
          const { result, deltaPct } = applyLimit(command.percent, c);
          if (deltaPct === 0) return recordOutcome(ev, result);
          if (active) reshape(c, deltaPct / pctPerWh);
          else {
            const soc = socAt(c);
            nextSpec = null;
            remainingWh = Math.max(0, (ledger.limitPct - soc) / pctPerWh);
            if (complete && remainingWh > 0) {
              // Raising the limit of a car that finished starts it again, as the car does.
              complete = false;
              pending = { atMs: c + CAR_START_DELAY_MS, by: 'limit' };
            } else if (remainingWh === 0) {
              complete = true;
              pending = null;
            }
          }
          return recordOutcome(ev, result);
        }
      }
    };

    for (;;) {
      const ev = carEvents[ledger.eventIndex];
      const evMs = ev && ev.atMs < unplugMs ? ev.atMs : Number.POSITIVE_INFINITY;
      if (active) {
        const a: { run: ChargeRun; spec: RunSpec; phases: ProfilePhase[] } = active;
        const endMs = a.run.endMs;
        const rebootMs = rebootsMs.find((r) => r > a.run.startMs && r < endMs) ?? Number.POSITIVE_INFINITY;
        const stopMs = stopAt ? stopAt.atMs : Number.POSITIVE_INFINITY;
        const t = Math.min(rebootMs, unplugMs, endMs, stopMs, evMs);
        if (t === rebootMs && rebootMs < unplugMs) {
          if (stopAt) {
            // The car was stopping anyway: it does not resume after the reboot.
            remainingWh = nominalWhFrom(a.phases, rebootMs, nominalWattsPerAmp);
            nextSpec = null;
            pending = null;
          } else {
            nextSpec = { ...remainingSpec(a.spec, a.phases, rebootMs), rampMs: RAMP_MS, rampFromA: undefined };
            pending = { atMs: rebootMs, by: 'resume' };
          }
          endRun(rebootMs, 'reboot');
          continue;
        }
        if (t === unplugMs && unplugMs < endMs) {
          endRun(unplugMs, 'unplug');
          break;
        }
        if (t === endMs) {
          endRun(endMs, 'complete');
          complete = true;
          remainingWh = 0;
          nextSpec = null;
          continue;
        }
        if (t === stopMs && stopAt) {
          const stoppedBy = stopAt.by;
          remainingWh = nominalWhFrom(a.phases, stopMs, nominalWattsPerAmp);
          nextSpec = null;
          endRun(stopMs, stoppedBy);
          if (stoppedBy === 'limit') {
            complete = true;
            remainingWh = 0;
          }
          continue;
        }
      } else {
        const startMs = pending ? afterBoots(pending.atMs) : Number.POSITIVE_INFINITY;
        if (pending && startMs < unplugMs && startMs <= evMs) {
          const spec: RunSpec = nextSpec ?? sizedRunSpec(ampsNow(), remainingWh, nominalWattsPerAmp, RAMP_MS);
          const phases = phasesFor(spec, startMs);
          const startedBy = pending.by;
          pending = null;
          nextSpec = null;
          const last = phases.at(-1);
          if (!last) {
            complete = true;
            continue;
          }
          const run: ChargeRun = {
            startMs,
            endMs: last.endMs,
            phases,
            interrupted: false,
            startedBy,
            endedBy: 'complete',
          };
          runs.push(run);
          active = { run, spec, phases };
          carActivity(startMs);
          continue;
        }
        if (evMs === Number.POSITIVE_INFINITY) break;
      }
      ledger.eventIndex += 1;
      handle(ev as CarEvent);
    }
    carActivity(unplugMs);
    return { plan, runs, socAtPlugInPct, socAtUnplugPct: socAt(unplugMs) };
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

  function phasesWattMs(phases: readonly ProfilePhase[], fromMs: number, toMs: number): number {
    let wattMs = 0;
    for (const p of phases) {
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
    return wattMs;
  }

  function phasesEnergyWh(phases: readonly ProfilePhase[], fromMs: number, toMs: number): number {
    return phasesWattMs(phases, fromMs, toMs) / 3_600_000;
  }

  function energyWh(runs: readonly ChargeRun[], fromMs: number, toMs: number): number {
    let wattMs = 0;
    for (const run of runs) {
      if (run.endMs <= fromMs || run.startMs >= toMs) continue;
      wattMs += phasesWattMs(run.phases, fromMs, toMs);
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
    // A car told to stop leaves the charger waiting for it (9); one that reached its limit reads finished (8).
    const lastRun = session.runs.at(-1);
    const finished = lastRun && (lastRun.endedBy === 'complete' || lastRun.endedBy === 'limit');
    if (lastRun && finished && lastRun.endMs <= simMs && liveSinceMs <= lastRun.endMs) return 8;
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
    invalidate();
  }

  function truth(asOfMs: number): ChargerTruth {
    const sessions = carThrough(asOfMs).filter((s) => s.plan.plugInMs <= asOfMs);
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
      car: carTruth(asOfMs),
    };
  }

  // --- the car as the car-control services see it ---
  function socAtPct(session: ResolvedSession, simMs: number): number {
    const toMs = Math.min(simMs, session.plan.unplugMs);
    return session.socAtPlugInPct + energyWh(session.runs, session.plan.plugInMs, toMs) * pctPerWh;
  }

  function carOnline(sessions: readonly ResolvedSession[], simMs: number): boolean {
    const session = sessions[sessionIndexAt(sessions, simMs)];
    const charging =
      session !== undefined &&
      simMs < session.plan.unplugMs &&
      session.runs.some((run) => run.startMs <= simMs && simMs < run.endMs);
    return carAwake(simMs, charging);
  }

  function carState(simMs: number): SimCarState {
    const sessions = carThrough(simMs);
    const settings = carSettingsAt(simMs);
    const online = carOnline(sessions, simMs);
    const currentIndex = sessionIndexAt(sessions, simMs);
    const session = sessions[currentIndex];
    const base = {
      vin: carIdentity.vin,
      displayName: carIdentity.displayName,
      online,
      chargeLimitPct: settings.limitPct,
      usableCapacityKwh: carIdentity.usableCapacityKwh,
      chargeAmps: settings.amps,
      chargeCurrentRequestMax: options.currentA,
      simMs,
    };
    if (!session || simMs >= session.plan.unplugMs) {
      const socPct = session ? session.socAtUnplugPct : carIdentity.initialSocPct;
      return {
        ...base,
        batteryLevelPct: Math.round(socPct),
        batteryLevelExactPct: socPct,
        chargingState: 'Disconnected',
        chargerActualCurrentA: 0,
        chargerPowerKw: 0,
        chargerVoltage: 0,
        chargeEnergyAddedKwh: 0,
        minutesToFullCharge: 0,
        pluggedIn: false,
        scheduledChargingPending: false,
        scheduledChargingStartMs: null,
      };
    }
    const charger = stateAt(simMs);
    const socPct = socAtPct(session, simMs);
    const deliveredWh = energyWh(session.runs, session.plan.plugInMs, simMs);
    const running = session.runs.find((run) => run.startMs <= simMs && simMs < run.endMs);
    const nextRun = session.runs.find((run) => run.startMs > simMs);
    const lastEnded = session.runs.filter((run) => run.endMs <= simMs).at(-1);
    const scheduled =
      nextRun !== undefined &&
      nextRun.startedBy === 'plan' &&
      session.plan.chargeStartMs - session.plan.plugInMs > IMMEDIATE_START_DELAY_MS &&
      nextRun.startMs - simMs > CAR_STARTING_WINDOW_MS;
    let chargingState: SimChargingState = 'Stopped';
    if (running && charger.contactorClosed) chargingState = 'Charging';
    else if (charger.booting) chargingState = 'NoPower';
    else if (nextRun && !scheduled && nextRun.startMs - simMs <= CAR_STARTING_WINDOW_MS) chargingState = 'Starting';
    else if (
      !nextRun &&
      ((lastEnded && (lastEnded.endedBy === 'complete' || lastEnded.endedBy === 'limit')) ||
        socPct >= settings.limitPct)
    )
      chargingState = 'Complete';
    const remainingWh = Math.max(0, (settings.limitPct - socPct) / pctPerWh);
    return {
      ...base,
      batteryLevelPct: Math.round(socPct),
      batteryLevelExactPct: socPct,
      chargingState,
      chargerActualCurrentA: Math.round(charger.chargingCurrentA),
      // Tesla reports whole kilowatts.
      chargerPowerKw: Math.round(charger.powerW / 1000),
      chargerVoltage: charger.contactorClosed ? Math.round(charger.gridV) : 0,
      chargeEnergyAddedKwh: (deliveredWh * carIdentity.efficiency) / 1000,
      minutesToFullCharge:
        chargingState === 'Charging' && charger.powerW > 0 ? Math.round((remainingWh / charger.powerW) * 60) : 0,
      pluggedIn: true,
      scheduledChargingPending: scheduled,
      scheduledChargingStartMs: scheduled && nextRun ? nextRun.startMs : null,
    };
  }

  function validCommand(command: SimCarCommand): SimCarCommand {
    switch (command.name) {
      case 'charge_start':
      case 'charge_stop':
        return { name: command.name };
      case 'set_charging_amps':
        if (!Number.isFinite(command.amps))
          throw new Error(`set_charging_amps needs a number of amps, got ${command.amps}`);
        return { name: command.name, amps: command.amps };
      case 'set_charge_limit':
        if (!Number.isFinite(command.percent)) {
          throw new Error(`set_charge_limit needs a percent, got ${command.percent}`);
        }
        return { name: command.name, percent: command.percent };
      default:
        throw new Error(`unknown car command ${(command as { name: unknown }).name}`);
    }
  }

  function recordCarEvent(event: Omit<CarEvent, 'seq'>): { result: SimCommandResult; onlineAtMs?: number } {
    const ev: CarEvent = { ...event, seq: nextCarSeq };
    nextCarSeq += 1;
    insertSorted(carEvents, ev, (e) => e.atMs);
    invalidate();
    carThrough(ev.atMs);
    const outcome = ledger.outcomes.get(ev.seq);
    if (!outcome) throw new Error(`car event at ${ev.atMs} was not played out`);
    return outcome;
  }

  function carTruth(asOfMs: number): CarTruth {
    const sessions = carThrough(asOfMs).filter((s) => s.plan.plugInMs <= asOfMs);
    return {
      vin: carIdentity.vin,
      displayName: carIdentity.displayName,
      usableCapacityKwh: carIdentity.usableCapacityKwh,
      efficiency: carIdentity.efficiency,
      commands: carEvents
        .filter((ev) => ev.atMs <= asOfMs)
        .map((ev) => {
          const outcome = ledger.outcomes.get(ev.seq);
          const entry: CarTruth['commands'][number] = {
            atMs: ev.atMs,
            source: ev.source,
            command: ev.kind === 'wake' ? { name: 'wake_up' } : (ev.command as SimCarCommand),
            result: outcome?.result ?? refused('not_played_out'),
          };
          if (outcome?.onlineAtMs !== undefined) entry.onlineAtMs = outcome.onlineAtMs;
          return entry;
        }),
      runs: sessions.flatMap((s) =>
        s.runs
          .filter((run) => run.startMs <= asOfMs)
          .map((run) => ({
            plugInMs: s.plan.plugInMs,
            startMs: run.startMs,
            stopMs: run.endMs <= asOfMs ? run.endMs : null,
            startedBy: run.startedBy,
            endedBy: run.endMs <= asOfMs ? run.endedBy : null,
          })),
      ),
      sessions: sessions.map((s) => ({
        plugInMs: s.plan.plugInMs,
        socAtPlugInPct: s.socAtPlugInPct,
        socPct: socAtPct(s, asOfMs),
        chargeLimitPct: carSettingsAt(Math.min(asOfMs, s.plan.unplugMs)).limitPct,
      })),
    };
  }

  const car: SimulatedCar = {
    vin: carIdentity.vin,
    identity: carIdentity,
    state: carState,
    wake(simMs) {
      const outcome = recordCarEvent({ atMs: simMs, kind: 'wake', source: 'api' });
      return { onlineAtMs: outcome.onlineAtMs ?? simMs };
    },
    command(command, simMs) {
      return recordCarEvent({ atMs: simMs, kind: 'command', source: 'api', command: validCommand(command) }).result;
    },
    appCommand(command, simMs) {
      return recordCarEvent({ atMs: simMs, kind: 'command', source: 'app', command: validCommand(command) }).result;
    },
    online(simMs) {
      return carOnline(carThrough(simMs), simMs);
    },
    truth: carTruth,
  };

  function ownerPlanAt(simMs: number): { plugInMs: number; unplugMs: number } | undefined {
    const sessions = sessionsThrough(simMs);
    const session = sessions[sessionIndexAt(sessions, simMs)];
    if (!session || simMs >= session.plan.unplugMs) return undefined;
    return { plugInMs: session.plan.plugInMs, unplugMs: session.plan.unplugMs };
  }

  return { options, identity, stateAt, wifiAt, injectFault, truth, ownerPlanAt, car };
}

/** The last of the sorted times at or before `simMs`, by bisection. */
function latestSortedAtOrBefore(sortedMs: readonly number[], simMs: number): number | undefined {
  let low = 0;
  let high = sortedMs.length - 1;
  let found: number | undefined;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const t = sortedMs[mid] as number;
    if (t <= simMs) {
      found = t;
      low = mid + 1;
    } else high = mid - 1;
  }
  return found;
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
