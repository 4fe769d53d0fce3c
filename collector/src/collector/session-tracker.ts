import type { LiveSession } from '@twc/core/contracts/redis';
import { HOUR_MS } from '@twc/core/prices/comed-clock';
import type { PricingSettings } from '@twc/core/prices/pricing';
import { costSession, type SessionCost } from '@twc/core/sessions/cost';
import {
  expireSessionState,
  initialSessionState,
  nextSessionState,
  type SessionConfig,
  type SessionEvent,
  type SessionMachineState,
  type SessionSample,
  toSessionSample,
} from '@twc/core/sessions/session-machine';
import { sessionPoints } from '@twc/core/sessions/session-points';
import { whatIf } from '@twc/core/sessions/what-if';
import type { InfluxWriter } from '@twc/runtime/influx-writer';
import type { Logger } from '@twc/runtime/logger';
import type { VitalsSample } from './charger-poller.js';
import type { PriceSource } from './price-source.js';
import type { SessionStore } from './session-store.js';
import { createStoredSessionPricer, type RepriceResult, type StoredSession } from './stored-session-pricer.js';

export interface SessionTrackerOptions {
  store: SessionStore;
  writer: InfluxWriter;
  sessionsBucket: string;
  prices: PriceSource;
  pricing: PricingSettings;
  config: SessionConfig;
  logger: Logger;
  /** Recent vitals of a charger from InfluxDB, oldest first, to rebuild a state Redis lost. */
  recentSamples(chargerId: string, sinceMs: number): Promise<SessionSample[]>;
  /** Closed sessions whose cost is provisional (a price was missing when they closed). */
  provisionalSessions(): Promise<StoredSession[]>;
  /** How far back a lost state is rebuilt from. */
  rebuildWindowMs?: number;
  now?: () => number;
}

export interface SessionTracker {
  /** Feeds one vitals sample; samples of one charger are processed in order. */
  handle(sample: VitalsSample): Promise<void>;
  /** Closes sessions whose car left while the charger stopped answering. */
  expire(): Promise<void>;
  /** Re-prices provisional sessions whose prices have arrived, rewriting them in place. */
  recomputeProvisional(): Promise<number>;
  /**
   * Re-prices stored sessions from their per-interval energy, on the current
   * clock and pricing settings, rewriting them in place (the price-clock
   * upgrade, `twc reprice`).
   */
  reprice(sessions: readonly StoredSession[]): Promise<RepriceResult>;
  /** Waits for queued samples. */
  drain(): Promise<void>;
  stats(): { samples: number; closed: number; recomputed: number; rebuilt: number };
}

interface ChargerTrack {
  chargerName: string;
  state: SessionMachineState | undefined;
  queue: Promise<void>;
}

/**
 * Runs the session state machine for every charger and turns its events
 * into stored, priced sessions. The machine's state is checkpointed to Redis
 * at every sample, so a restart (even kill -9) continues the open session with
 * the same id; if Redis lost it, the state is rebuilt by replaying the
 * charger's recent vitals from InfluxDB through the same pure machine.
 */
export function createSessionTracker(options: SessionTrackerOptions): SessionTracker {
  const { store, writer, logger } = options;
  const now = options.now ?? Date.now;
  const rebuildWindowMs = options.rebuildWindowMs ?? 72 * HOUR_MS;
  const log = logger.child({ module: 'session-tracker' });
  const chargers = new Map<string, ChargerTrack>();
  const counters = { samples: 0, closed: 0, recomputed: 0, rebuilt: 0 };
  const pricer = createStoredSessionPricer({
    prices: options.prices,
    pricing: options.pricing,
    writer,
    sessionsBucket: options.sessionsBucket,
    logger,
    now,
  });

  async function restore(chargerId: string): Promise<SessionMachineState> {
    const saved = await store.loadState(chargerId);
    if (saved) return saved;
    // Redis lost the checkpoint (or is down): replay what InfluxDB still has.
    let state = initialSessionState(chargerId);
    try {
      const samples = await options.recentSamples(chargerId, now() - rebuildWindowMs);
      for (const sample of samples) state = nextSessionState(state, sample, options.config).state;
      if (samples.length > 0) {
        counters.rebuilt++;
        log.info(
          { chargerId, samples: samples.length, open: state.session?.id ?? null },
          'session state rebuilt from InfluxDB',
        );
      }
    } catch (error) {
      log.warn({ chargerId, err: (error as Error).message }, 'could not rebuild session state from InfluxDB');
    }
    return state;
  }

  function liveCost(cost: SessionCost): LiveSession['cost'] {
    const { hours: _hours, ...totals } = cost;
    return totals;
  }

  async function onEvents(track: ChargerTrack, events: SessionEvent[]): Promise<void> {
    for (const event of events) {
      if (event.type === 'gap_detected') {
        log.info({ chargerId: event.chargerId, gap: event.gap }, 'gap in the samples');
        continue;
      }
      const session = event.session;
      const provider = await pricer.providerFor(session);
      if (event.type === 'session_closed') {
        const cost = costSession(session.energyByInterval, provider, options.pricing.tariff);
        const result = whatIf(session, provider, options.pricing.tariff);
        writer.write(options.sessionsBucket, 'durable', sessionPoints(session, track.chargerName, cost, result));
        // Not left in the writer's memory: written, or spooled to disk, before going on.
        await writer.flush();
        counters.closed++;
        log.info(
          {
            sessionId: session.id,
            energyWh: Math.round(session.energyWh),
            totalUsd: cost.totalCostUsd,
            provisional: cost.provisional,
            endReason: session.endReason,
          },
          'session closed',
        );
        await store.publish({
          charger_id: session.chargerId,
          charger_name: track.chargerName,
          open: false,
          session,
          cost: liveCost(cost),
          updated: new Date(now()).toISOString(),
        });
      } else {
        const cost = costSession(session.energyByInterval, provider, options.pricing.tariff);
        if (event.type === 'session_started') log.info({ sessionId: session.id }, 'session started');
        await store.publish({
          charger_id: session.chargerId,
          charger_name: track.chargerName,
          open: true,
          session,
          cost: liveCost(cost),
          updated: new Date(now()).toISOString(),
        });
      }
    }
  }

  function trackFor(chargerId: string, chargerName: string): ChargerTrack {
    let track = chargers.get(chargerId);
    if (!track) {
      track = { chargerName, state: undefined, queue: Promise.resolve() };
      chargers.set(chargerId, track);
    }
    track.chargerName = chargerName;
    return track;
  }

  function enqueue(track: ChargerTrack, work: () => Promise<void>): Promise<void> {
    const next = track.queue.then(work).catch((error: unknown) => {
      log.error({ err: error }, 'session processing failed');
    });
    track.queue = next;
    return next;
  }

  return {
    handle(sample) {
      const track = trackFor(sample.chargerId, sample.chargerName);
      return enqueue(track, async () => {
        track.state ??= await restore(sample.chargerId);
        const transition = nextSessionState(track.state, toSessionSample(sample.timeMs, sample.vitals), options.config);
        counters.samples++;
        // A closed session is stored (in InfluxDB or the spool) before the
        // checkpoint forgets it: a kill -9 in between replays the close.
        await onEvents(track, transition.events);
        track.state = transition.state;
        await store.saveState(track.state);
      });
    },
    async expire() {
      await Promise.all(
        [...chargers.values()].map((track) =>
          enqueue(track, async () => {
            if (!track.state) return;
            const transition = expireSessionState(track.state, now(), options.config);
            if (transition.events.length === 0) return;
            await onEvents(track, transition.events);
            track.state = transition.state;
            await store.saveState(track.state);
          }),
        ),
      );
    },
    async recomputeProvisional() {
      const sessions = await options.provisionalSessions();
      let rewritten = 0;
      for (const stored of sessions) {
        if (await pricer.rewrite(stored, 'complete')) rewritten++;
      }
      counters.recomputed += rewritten;
      if (rewritten > 0) log.info({ sessions: rewritten }, 'provisional session costs completed');
      return rewritten;
    },
    reprice: (sessions) => pricer.reprice(sessions),
    async drain() {
      await Promise.all([...chargers.values()].map((track) => track.queue));
    },
    stats: () => ({ ...counters }),
  };
}
