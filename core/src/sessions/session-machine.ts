/**
 * The charging-session state machine of one Wall Connector: successive vitals
 * samples in, the next state and session events out. Pure: the time is the
 * sample's, and the state is plain JSON so it can be checkpointed (Redis) and
 * restored after the collector is killed, then continue the same session.
 *
 * Device behaviour it encodes (docs: wall-connector-api reference):
 * - `session_energy_wh` is not a clean per-session counter: it keeps the old
 *   total after a charge while the car stays plugged in and resets at unplug,
 *   at the next contactor close or at odd times. So energy is the sum of its
 *   positive changes, and a drop starts a new counting segment.
 * - `session_s` is seconds since plug-in; it reads 0 after unplug and can read
 *   0 while a finished car stays plugged in, so 0 never means a new car.
 * - `uptime_s` going backwards means the charger rebooted.
 */
import type { NormalizedVitals } from '../charger/normalize.js';
import { intervalOfReading } from '../prices/comed-clock.js';
import { addIntervalEnergy, type IntervalEnergy, spreadIntervalEnergy } from './interval-energy.js';

export interface SessionSample {
  timeMs: number;
  vehicleConnected: boolean;
  contactorClosed: boolean;
  sessionEnergyWh: number | null;
  sessionS: number | null;
  uptimeS: number | null;
  powerW: number;
  handleTempC: number | null;
}

export interface SessionConfig {
  /** How long the car must be gone before its session closes (flaky `vehicle_connected` readings, plug re-seated). */
  unplugDebounceMs: number;
  /** Samples further apart than this mean the collector or the charger was offline: a gap. */
  gapThresholdMs: number;
  /**
   * A reading can be seconds older than the instant we stamp it with (the
   * charger's embedded web server is slow to answer), so plug-in instants
   * derived from `session_s` are compared with this much tolerance; 5 s
   * unless given (an accelerated simulation needs more: its clock turns a
   * request's real latency into that many times more simulated time).
   */
  readingSlackMs?: number;
}

export const DEFAULT_SESSION_CONFIG: SessionConfig = { unplugDebounceMs: 30_000, gapThresholdMs: 60_000 };

const READING_SLACK_MS = 5_000;

export type SessionEndReason = 'unplugged' | 'vehicle_swapped' | 'gap_unplugged';

export interface SessionGap {
  fromMs: number;
  toMs: number;
}

/** A session as reported in events: open (`endTimeMs` and `endReason` null) or closed. */
export interface ChargingSession {
  /** `${chargerId}-${startTimeMs}`: the same session keeps the same id across restarts. */
  id: string;
  chargerId: string;
  /** Plug-in: from `session_s` when known, never before the previous sample that saw no car (or another car). */
  startTimeMs: number;
  /** Closed sessions: when the car was seen gone (`unplugged`) or last seen connected (`vehicle_swapped`, `gap_unplugged`). */
  endTimeMs: number | null;
  endReason: SessionEndReason | null;
  /** The latest sample applied to the session. */
  lastSampleMs: number;
  /** False when the machine first saw this car already connected (the start is then backdated by `session_s`). */
  observedFromPlugIn: boolean;
  /**
   * For a session first seen already in progress: the device's session counter
   * at that moment. It may hold energy delivered before anyone was watching, or
   * the total of an earlier charge the device still reports; it is not in
   * `energyWh` because when it was delivered, and so its price, is unknown.
   */
  unobservedCounterWh: number | null;
  /** Plug-in to unplug (or to the latest sample while open), seconds. */
  durationS: number;
  /** Time with the contactor closed, seconds. */
  chargingS: number;
  energyWh: number;
  peakPowerW: number;
  /** Energy over charging time; 0 when the contactor never closed. */
  avgPowerW: number;
  maxHandleTempC: number | null;
  gaps: SessionGap[];
  /** Counting segments of the device's energy counter that delivered energy to this session. */
  segments: number;
  /** Energy per ComEd 5-minute interval, sorted by the interval's stamp (its start); adds up to `energyWh`. */
  energyByInterval: IntervalEnergy[];
}

interface PendingUnplug {
  /** The first sample that saw the car gone: the debounce runs from here. */
  seenMs: number;
  endTimeMs: number;
  reason: SessionEndReason;
}

/** The open session inside the machine state (plain JSON). */
export interface OpenSessionState {
  id: string;
  chargerId: string;
  startTimeMs: number;
  observedFromPlugIn: boolean;
  unobservedCounterWh: number | null;
  lastSampleMs: number;
  lastConnectedMs: number;
  chargingMs: number;
  energyWh: number;
  peakPowerW: number;
  maxHandleTempC: number | null;
  gaps: SessionGap[];
  segments: number;
  /** The machine's counter segment that last delivered energy to this session. */
  lastEnergySegment: number | null;
  /** The plug-in instant implied by the latest non-zero `session_s`: a car swap moves it past the previous sample. */
  plugInRefMs: number | null;
  energyByInterval: IntervalEnergy[];
  unplug: PendingUnplug | null;
}

export interface SessionMachineState {
  chargerId: string;
  /** The latest sample applied. */
  last: {
    timeMs: number;
    vehicleConnected: boolean;
    contactorClosed: boolean;
  } | null;
  /** The latest non-null reading of the device's session energy counter. */
  counter: { wh: number; timeMs: number; segment: number } | null;
  /** The latest non-null uptime, for reboot detection across samples without one. */
  uptimeS: number | null;
  session: OpenSessionState | null;
  /** End of the latest closed session: a later session never starts before it. */
  lastClosedEndMs: number | null;
}

export type SessionEvent =
  | { type: 'session_started'; session: ChargingSession }
  | { type: 'session_updated'; session: ChargingSession }
  | { type: 'session_closed'; session: ChargingSession }
  | { type: 'gap_detected'; chargerId: string; sessionId: string | null; gap: SessionGap };

export interface SessionTransition {
  state: SessionMachineState;
  events: SessionEvent[];
}

export function initialSessionState(chargerId: string): SessionMachineState {
  return { chargerId, last: null, counter: null, uptimeS: null, session: null, lastClosedEndMs: null };
}

export function sessionId(chargerId: string, startTimeMs: number): string {
  return `${chargerId}-${startTimeMs}`;
}

function checkSample(sample: SessionSample): void {
  const numbers: [string, number | null][] = [
    ['timeMs', sample.timeMs],
    ['powerW', sample.powerW],
    ['sessionEnergyWh', sample.sessionEnergyWh],
    ['sessionS', sample.sessionS],
    ['uptimeS', sample.uptimeS],
    ['handleTempC', sample.handleTempC],
  ];
  for (const [name, value] of numbers) {
    if (value !== null && !Number.isFinite(value)) {
      throw new RangeError(`session sample: ${name} must be a finite number or null, got ${value}`);
    }
  }
  if (sample.sessionEnergyWh !== null && sample.sessionEnergyWh < 0) {
    throw new RangeError(`session sample: sessionEnergyWh must not be negative, got ${sample.sessionEnergyWh}`);
  }
}

function openSession(
  chargerId: string,
  sample: SessionSample,
  floorMs: number | null,
  observedFromPlugIn: boolean,
): OpenSessionState {
  const plugInMs = sample.timeMs - (sample.sessionS ?? 0) * 1000;
  const startTimeMs = floorMs === null ? plugInMs : Math.max(plugInMs, floorMs);
  return {
    id: sessionId(chargerId, startTimeMs),
    chargerId,
    startTimeMs,
    observedFromPlugIn,
    unobservedCounterWh: observedFromPlugIn ? null : sample.sessionEnergyWh,
    lastSampleMs: sample.timeMs,
    lastConnectedMs: sample.timeMs,
    chargingMs: 0,
    energyWh: 0,
    peakPowerW: 0,
    maxHandleTempC: null,
    gaps: [],
    segments: 0,
    lastEnergySegment: null,
    plugInRefMs: impliedPlugInMs(sample),
    energyByInterval: [],
    unplug: null,
  };
}

/** The public view of an open or closing session. */
export function sessionRecord(open: OpenSessionState, closing?: PendingUnplug): ChargingSession {
  const endTimeMs = closing ? closing.endTimeMs : null;
  const chargingS = open.chargingMs / 1000;
  return {
    id: open.id,
    chargerId: open.chargerId,
    startTimeMs: open.startTimeMs,
    endTimeMs,
    endReason: closing ? closing.reason : null,
    lastSampleMs: open.lastSampleMs,
    observedFromPlugIn: open.observedFromPlugIn,
    unobservedCounterWh: open.unobservedCounterWh,
    durationS: ((endTimeMs ?? open.lastSampleMs) - open.startTimeMs) / 1000,
    chargingS,
    energyWh: open.energyWh,
    peakPowerW: open.peakPowerW,
    avgPowerW: chargingS > 0 ? open.energyWh / (chargingS / 3600) : 0,
    maxHandleTempC: open.maxHandleTempC,
    gaps: closing ? open.gaps.filter((gap) => gap.fromMs < closing.endTimeMs) : open.gaps,
    segments: open.segments,
    energyByInterval: open.energyByInterval,
  };
}

/** When the car was plugged in according to `session_s`; unknown for 0, which a finished car still plugged in also reads. */
function impliedPlugInMs(sample: SessionSample): number | null {
  return sample.sessionS !== null && sample.sessionS > 0 ? sample.timeMs - sample.sessionS * 1000 : null;
}

/**
 * A new car between two samples that both saw a car (a swap between polls,
 * or an unplug and plug-in during a gap): `session_s` puts the plug-in later
 * than this session's, and after the previous sample, which saw a car. The
 * second condition keeps a device that rewinds `session_s` for some other
 * reason from splitting one charge in two.
 */
function isReplug(
  open: OpenSessionState,
  sample: SessionSample,
  previousSampleMs: number,
  slackMs: number = READING_SLACK_MS,
): boolean {
  const plugInMs = impliedPlugInMs(sample);
  if (plugInMs === null || open.plugInRefMs === null) return false;
  return plugInMs > open.plugInRefMs + slackMs && plugInMs >= previousSampleMs - slackMs;
}

/**
 * Applies one sample. Samples not newer than the latest applied one
 * (duplicates, out of order) are ignored. Throws RangeError on a non-finite
 * number: the adapter must turn unreadable fields into null.
 *
 * Where the samples do not say exactly when something happened, the choices are:
 * - energy between two counter readings belongs to the interval holding the
 *   later reading; across a gap it is spread over the gap's intervals in
 *   proportion to time, since putting an offline hour's energy in one
 *   5-minute interval would price it at that interval's price;
 * - time between two samples counts as charging in full when both saw the
 *   contactor closed, half when one did (the change happened in between);
 * - a car swap ends the old session at the last sample that saw the old car
 *   (the last instant it is known to have been there; anything later, energy
 *   included, goes to the new car) and starts the new one at its plug-in from
 *   `session_s`, never before that sample.
 */
export function nextSessionState(
  prev: SessionMachineState,
  sample: SessionSample,
  config: SessionConfig = DEFAULT_SESSION_CONFIG,
): SessionTransition {
  checkSample(sample);
  const last = prev.last;
  if (last !== null && sample.timeMs <= last.timeMs) return { state: prev, events: [] };

  const events: SessionEvent[] = [];
  const elapsedMs = last === null ? 0 : sample.timeMs - last.timeMs;
  const isGap = last !== null && elapsedMs > config.gapThresholdMs;
  const rebooted = prev.uptimeS !== null && sample.uptimeS !== null && sample.uptimeS < prev.uptimeS;

  // The device's counter: positive changes are energy; a drop starts a new
  // segment that counts from zero, so the new reading is energy delivered
  // since the reset. A reboot starts a new segment too, but a reading that
  // did not go down is taken as the same counter: counting it again in full
  // could double the session's energy.
  let counter = prev.counter;
  let deltaWh = 0;
  let deltaFromMs = sample.timeMs;
  if (counter !== null && rebooted) counter = { ...counter, segment: counter.segment + 1 };
  if (sample.sessionEnergyWh !== null) {
    if (counter === null) {
      counter = { wh: sample.sessionEnergyWh, timeMs: sample.timeMs, segment: 0 };
    } else {
      const dropped = sample.sessionEnergyWh < counter.wh;
      deltaWh = dropped ? sample.sessionEnergyWh : sample.sessionEnergyWh - counter.wh;
      deltaFromMs = counter.timeMs;
      counter = { wh: sample.sessionEnergyWh, timeMs: sample.timeMs, segment: counter.segment + (dropped ? 1 : 0) };
    }
  }

  let lastClosedEndMs = prev.lastClosedEndMs;
  let session: OpenSessionState | null = prev.session === null ? null : { ...prev.session };
  let started = false;

  if (isGap && last !== null) {
    const gap = { fromMs: last.timeMs, toMs: sample.timeMs };
    events.push({ type: 'gap_detected', chargerId: prev.chargerId, sessionId: session?.id ?? null, gap });
    if (session !== null) session.gaps = [...session.gaps, gap];
  }

  const close = (open: OpenSessionState, ending: PendingUnplug): void => {
    events.push({ type: 'session_closed', session: sessionRecord(open, ending) });
    lastClosedEndMs = ending.endTimeMs;
  };
  const floorFor = (): number | null => {
    const floors = [last?.timeMs ?? null, lastClosedEndMs].filter((v): v is number => v !== null);
    return floors.length === 0 ? null : Math.max(...floors);
  };

  if (session !== null && last !== null) {
    if (!sample.vehicleConnected) {
      if (session.unplug === null) {
        // Gone after a gap: it left at some unknown point while nobody was
        // looking, so the session ends when it was last seen.
        const afterGap = isGap && last.vehicleConnected;
        session.unplug = {
          seenMs: sample.timeMs,
          endTimeMs: afterGap ? session.lastConnectedMs : sample.timeMs,
          reason: afterGap ? 'gap_unplugged' : 'unplugged',
        };
      }
    } else if (session.unplug !== null) {
      if (sample.timeMs - session.unplug.seenMs >= config.unplugDebounceMs) {
        // The debounce ran out between samples: the old session is over and
        // this car (the same or another) starts a new one.
        close(session, session.unplug);
        session = openSession(prev.chargerId, sample, floorFor(), true);
        started = true;
      } else {
        session.unplug = null;
        session.plugInRefMs = null;
      }
    } else if (
      !rebooted &&
      last.vehicleConnected &&
      isReplug(session, sample, last.timeMs, config.readingSlackMs ?? READING_SLACK_MS)
    ) {
      close(session, {
        seenMs: sample.timeMs,
        endTimeMs: session.lastConnectedMs,
        reason: isGap ? 'gap_unplugged' : 'vehicle_swapped',
      });
      session = openSession(prev.chargerId, sample, floorFor(), true);
      started = true;
    } else if (rebooted) {
      // session_s restarts with the charger: it is no longer comparable.
      session.plugInRefMs = null;
    }
  } else if (session === null && sample.vehicleConnected) {
    session = openSession(prev.chargerId, sample, floorFor(), last !== null);
    started = true;
  }

  if (session !== null && last !== null) {
    const fromMs = Math.max(last.timeMs, session.startTimeMs);
    const toMs = session.unplug === null ? sample.timeMs : Math.min(sample.timeMs, session.unplug.endTimeMs);
    if (toMs > fromMs) {
      const closedCount = (last.contactorClosed ? 1 : 0) + (sample.contactorClosed ? 1 : 0);
      session.chargingMs += ((toMs - fromMs) * closedCount) / 2;
    }
  }

  if (session !== null && deltaWh > 0 && counter !== null) {
    const spanFromMs = Math.max(deltaFromMs, session.startTimeMs);
    session.energyWh += deltaWh;
    session.energyByInterval =
      sample.timeMs - spanFromMs > config.gapThresholdMs
        ? spreadIntervalEnergy(session.energyByInterval, spanFromMs, sample.timeMs, deltaWh)
        : addIntervalEnergy(session.energyByInterval, intervalOfReading(sample.timeMs), deltaWh);
    if (session.lastEnergySegment !== counter.segment) {
      session.segments += 1;
      session.lastEnergySegment = counter.segment;
    }
  }

  if (session !== null) {
    session.lastSampleMs = sample.timeMs;
    if (sample.vehicleConnected) {
      session.lastConnectedMs = sample.timeMs;
      session.peakPowerW = Math.max(session.peakPowerW, sample.powerW);
      if (sample.handleTempC !== null) {
        session.maxHandleTempC =
          session.maxHandleTempC === null ? sample.handleTempC : Math.max(session.maxHandleTempC, sample.handleTempC);
      }
      session.plugInRefMs = impliedPlugInMs(sample) ?? session.plugInRefMs;
    }
    if (session.unplug !== null && sample.timeMs - session.unplug.seenMs >= config.unplugDebounceMs) {
      close(session, session.unplug);
      session = null;
    } else {
      events.push({ type: started ? 'session_started' : 'session_updated', session: sessionRecord(session) });
    }
  }

  const state: SessionMachineState = {
    chargerId: prev.chargerId,
    last: {
      timeMs: sample.timeMs,
      vehicleConnected: sample.vehicleConnected,
      contactorClosed: sample.contactorClosed,
    },
    counter,
    uptimeS: sample.uptimeS ?? prev.uptimeS,
    session,
    lastClosedEndMs,
  };
  return { state, events };
}

/**
 * Closes a session whose car has been gone for the debounce period by
 * `nowMs`, for when no further sample arrives (the charger went offline right
 * after the unplug). The end time is still the unplug.
 */
export function expireSessionState(
  prev: SessionMachineState,
  nowMs: number,
  config: SessionConfig = DEFAULT_SESSION_CONFIG,
): SessionTransition {
  const open = prev.session;
  if (open === null || open.unplug === null || nowMs - open.unplug.seenMs < config.unplugDebounceMs) {
    return { state: prev, events: [] };
  }
  const closed = sessionRecord(open, open.unplug);
  return {
    state: { ...prev, session: null, lastClosedEndMs: open.unplug.endTimeMs },
    events: [{ type: 'session_closed', session: closed }],
  };
}

/** A normalized vitals reading as the session machine takes it. */
export function toSessionSample(timeMs: number, vitals: NormalizedVitals): SessionSample {
  return {
    timeMs,
    vehicleConnected: vitals.vehicle_connected,
    contactorClosed: vitals.contactor_closed,
    sessionEnergyWh: vitals.session_energy_wh,
    sessionS: vitals.session_s,
    uptimeS: vitals.uptime_s,
    powerW: vitals.power_w,
    handleTempC: vitals.handle_temp_c,
  };
}
