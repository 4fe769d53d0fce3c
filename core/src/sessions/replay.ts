/**
 * Sessions re-derived from a recorded vitals stream, through the collector's
 * own session code: the same model, normalisation, state machine, cost and
 * what-if, so a replay and the live collector cannot disagree. Pure: lines and
 * prices in, session records out; files and printing are the CLI's.
 *
 * A recording is JSON lines `{"t": <epoch ms>, "vitals": <the /api/1/vitals
 * body>}`, the format the API's vitals JSON export writes.
 */
import { z } from 'zod';
import { vitalsSchema } from '../charger/models.js';
import { type NormalizedVitals, normalizeVitals } from '../charger/normalize.js';
import type { FieldValue } from '../contracts/influx-schema.js';
import type { PricePoint } from '../prices/comed-parse.js';
import type { ComedPriceBasis, Tariff } from '../prices/pricing.js';
import { providerFor } from '../prices/pricing.js';
import { costSession } from './cost.js';
import {
  type ChargingSession,
  DEFAULT_SESSION_CONFIG,
  expireSessionState,
  initialSessionState,
  nextSessionState,
  type SessionConfig,
  type SessionMachineState,
  type SessionSample,
  sessionRecord,
  toSessionSample,
} from './session-machine.js';
import { sessionPoints } from './session-points.js';
import { whatIf } from './what-if.js';

export type ReplayLine = { ok: true; timeMs: number; vitals: NormalizedVitals } | { ok: false; reason: string };

const envelopeSchema = z.looseObject({
  t: z.int().positive(),
  vitals: z.record(z.string(), z.unknown()),
});

/**
 * Readings the model requires as keys but allows to be null. The collector
 * stores an unreadable reading (the device's bare `nan`) as absent, never as
 * 0, so an exported line leaves it out: absent here means unreadable.
 */
const NULLABLE_READINGS = Object.entries(vitalsSchema.shape)
  .filter(([, schema]) => !schema.safeParse(undefined).success && schema.safeParse(null).success)
  .map(([name]) => name);

function describeIssues(error: z.ZodError, prefix: string): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `${prefix}${path}: ${issue.message}` : `${prefix}${issue.message}`;
    })
    .join('; ');
}

/** One line of a recording, validated by the charger model and normalised as the collector does. */
export function parseReplayLine(text: string): ReplayLine {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const envelope = envelopeSchema.safeParse(data);
  if (!envelope.success) return { ok: false, reason: describeIssues(envelope.error, '') };
  const body: Record<string, unknown> = { ...envelope.data.vitals };
  for (const name of NULLABLE_READINGS) {
    if (!(name in body)) body[name] = null;
  }
  const vitals = vitalsSchema.safeParse(body);
  if (!vitals.success) return { ok: false, reason: describeIssues(vitals.error, 'vitals.') };
  return { ok: true, timeMs: envelope.data.t, vitals: normalizeVitals(vitals.data) };
}

export type ReplayAddResult = { applied: true } | { applied: false; reason: string };

export interface ReplayResult {
  /** Closed sessions, oldest first. */
  closed: ChargingSession[];
  /** The session still open when the recording ends (the car still connected), or null. */
  open: ChargingSession | null;
}

export interface SessionReplay {
  /** Applies one sample, or says why not (not newer than the previous one, a value the machine refuses). */
  add(timeMs: number, vitals: NormalizedVitals): ReplayAddResult;
  /** How many samples were applied. */
  applied(): number;
  /** Ends the recording; see createSessionReplay. */
  finish(): ReplayResult;
}

/**
 * Runs the session machine over one charger's samples, in file order. At the
 * end, a car already seen gone closes its session as the collector would once
 * the unplug debounce runs out without a further sample (`expireSessionState`);
 * a car still connected leaves its session open, as the collector keeps it.
 */
export function createSessionReplay(chargerId: string, config: SessionConfig = DEFAULT_SESSION_CONFIG): SessionReplay {
  let state: SessionMachineState = initialSessionState(chargerId);
  let appliedCount = 0;
  const closed: ChargingSession[] = [];

  return {
    add(timeMs, vitals) {
      const sample: SessionSample = toSessionSample(timeMs, vitals);
      if (state.last !== null && sample.timeMs <= state.last.timeMs) {
        return { applied: false, reason: 'not newer than the previous sample' };
      }
      let transition: ReturnType<typeof nextSessionState>;
      try {
        transition = nextSessionState(state, sample, config);
      } catch (error) {
        // The machine refuses values the model lets through (a negative energy counter).
        if (error instanceof RangeError) return { applied: false, reason: error.message };
        throw error;
      }
      state = transition.state;
      appliedCount++;
      for (const event of transition.events) {
        if (event.type === 'session_closed') closed.push(event.session);
      }
      return { applied: true };
    },
    applied: () => appliedCount,
    finish() {
      if (state.last !== null) {
        const transition = expireSessionState(state, state.last.timeMs + config.unplugDebounceMs, config);
        state = transition.state;
        for (const event of transition.events) {
          if (event.type === 'session_closed') closed.push(event.session);
        }
      }
      return { closed: [...closed], open: state.session === null ? null : sessionRecord(state.session) };
    },
  };
}

export interface ReplayPricing {
  basis: ComedPriceBasis;
  tariff: Tariff;
  /** ComEd 5-minute prices, oldest first (parseComedFeed's order). */
  prices: readonly PricePoint[];
}

/** A session as the replay prints it: the `twc_session` fields, its charger and whether it is still open. */
export type ReplayedSession = { charger_id: string } & Record<string, FieldValue> & { open: boolean };

/**
 * Costs a session as the collector does and returns its `twc_session` fields
 * (built by sessionPoints, so the names cannot drift from what is stored),
 * without the encoded per-interval energy. Prices are taken as known at the
 * newest price in the file: an hour the file holds only in part is not final
 * yet, and its energy stays provisional, as it would in the collector.
 */
export function replayedSession(session: ChargingSession, pricing: ReplayPricing): ReplayedSession {
  const asOfMs = pricing.prices.at(-1)?.timeMs ?? Number.NEGATIVE_INFINITY;
  const provider = providerFor({ kind: 'comed', basis: pricing.basis, tariff: pricing.tariff }, pricing.prices, asOfMs);
  const cost = costSession(session.energyByInterval, provider, pricing.tariff);
  const result = whatIf(session, provider, pricing.tariff);
  const point = sessionPoints(session, session.chargerId, cost, result)[0];
  if (point === undefined) throw new Error('sessionPoints returned no session point');
  const { energy_by_interval: _encoded, ...fields } = point.fields;
  return { charger_id: session.chargerId, ...fields, open: session.endTimeMs === null };
}
