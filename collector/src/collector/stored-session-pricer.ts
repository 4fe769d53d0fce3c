/**
 * Prices sessions with the prices InfluxDB holds, and rewrites stored
 * sessions' costs in place: what the session tracker uses for live sessions,
 * provisional ones and the price-clock upgrade, and what `twc reprice` uses
 * by hand.
 */

import { HOUR_MS } from '@twc/core/prices/comed-clock';
import type { PricingProvider } from '@twc/core/prices/pricing';
import { type PricingSettings, providerFor } from '@twc/core/prices/pricing';
import { costSession } from '@twc/core/sessions/cost';
import type { IntervalEnergy } from '@twc/core/sessions/interval-energy';
import type { ChargingSession } from '@twc/core/sessions/session-machine';
import { encodeIntervals, sessionCostFields, sessionHourPoints } from '@twc/core/sessions/session-points';
import { whatIf } from '@twc/core/sessions/what-if';
import type { InfluxWriter } from '@twc/runtime/influx-writer';
import type { Logger } from '@twc/runtime/logger';
import type { PriceSource } from './price-source.js';

/** A closed session as read back from InfluxDB, with what its cost is computed from. */
export interface StoredSession {
  id: string;
  chargerId: string;
  chargerName: string;
  startTimeMs: number;
  endTimeMs: number;
  chargingS: number;
  energyByInterval: IntervalEnergy[];
  /** Its stored cost was still provisional. */
  provisional: boolean;
  /** Stored before the price clock was corrected: its costs are on the old clock. */
  legacy: boolean;
}

export interface RepriceResult {
  repriced: number;
  /**
   * Sessions left as they were because their prices are no longer stored
   * (a retention set on the prices bucket): re-pricing would turn a priced
   * session into an unpriced one.
   */
  kept: number;
}

export interface StoredSessionPricer {
  /** The pricing provider for a session's span, from the prices stored then; never throws (costs stay provisional). */
  providerFor(session: Pick<ChargingSession, 'startTimeMs' | 'endTimeMs' | 'lastSampleMs'>): Promise<PricingProvider>;
  /**
   * Prices a stored session again and queues its rewritten cost; false when
   * nothing was written. 'complete' writes only once the cost is no longer
   * provisional; 'reprice' writes unless prices a priced session had are gone.
   */
  rewrite(stored: StoredSession, mode: 'complete' | 'reprice'): Promise<boolean>;
  /** Re-prices stored sessions from their per-interval energy on the current clock and pricing settings. */
  reprice(sessions: readonly StoredSession[]): Promise<RepriceResult>;
}

export function createStoredSessionPricer(options: {
  prices: PriceSource;
  pricing: PricingSettings;
  writer: Pick<InfluxWriter, 'write'>;
  sessionsBucket: string;
  logger: Logger;
  now: () => number;
}): StoredSessionPricer {
  const { writer, now } = options;
  const log = options.logger.child({ module: 'session-pricer' });
  let pricesFailing = false;

  async function providerForSession(session: Pick<ChargingSession, 'startTimeMs' | 'endTimeMs' | 'lastSampleMs'>) {
    const fromMs = session.startTimeMs - HOUR_MS;
    const toMs = (session.endTimeMs ?? session.lastSampleMs) + HOUR_MS;
    try {
      const prices = options.pricing.kind === 'comed' ? await options.prices.prices(fromMs, toMs) : [];
      if (pricesFailing) log.info('prices readable again');
      pricesFailing = false;
      return providerFor(options.pricing, prices, now());
    } catch (error) {
      // Without prices the cost is provisional and is completed later: never lose the session over it.
      if (!pricesFailing) log.warn({ err: (error as Error).message }, 'prices unavailable; costs stay provisional');
      pricesFailing = true;
      return providerFor(options.pricing, [], now());
    }
  }

  async function rewrite(stored: StoredSession, mode: 'complete' | 'reprice'): Promise<boolean> {
    const session = { ...stored, lastSampleMs: stored.endTimeMs };
    const provider = await providerForSession(session);
    const cost = costSession(stored.energyByInterval, provider, options.pricing.tariff);
    if (cost.provisional && (mode === 'complete' || !stored.provisional)) return false;
    const result = whatIf(session, provider, options.pricing.tariff);
    const tags = { charger_id: stored.chargerId, charger_name: stored.chargerName };
    // Rewriting the same series at the same time updates these fields in place; the rest stay.
    // The energy is written again too, so a session stored on the old clock leaves it in the new form.
    const fields = { ...sessionCostFields(cost, result), energy_by_interval: encodeIntervals(stored.energyByInterval) };
    writer.write(options.sessionsBucket, 'durable', [
      { measurement: 'twc_session', tags, fields, timeMs: stored.startTimeMs },
      ...sessionHourPoints(stored.id, stored.startTimeMs, tags, cost),
    ]);
    return true;
  }

  return {
    providerFor: providerForSession,
    rewrite,
    async reprice(sessions) {
      const result = { repriced: 0, kept: 0 };
      for (const stored of sessions) {
        if (await rewrite(stored, 'reprice')) result.repriced++;
        else result.kept++;
      }
      return result;
    },
  };
}
