/**
 * The sessions' half of the price-clock upgrade: every session stored before
 * the clock was corrected (comed-clock.ts) is re-priced once from its stored
 * per-interval energy. That energy is enough: which five minutes the energy
 * was metered in never depended on the clock, only which price stamp pays
 * for them did, and the raw samples are kept for days only. Which sessions
 * are left is read from the data itself (their energy is stored in the old
 * form), so the step resumes wherever it was cut off and a second run finds
 * nothing to do.
 */

import type { InfluxWriter } from '@twc/runtime/influx-writer';
import type { Logger } from '@twc/runtime/logger';
import type { StoredSession, StoredSessionPricer } from './stored-session-pricer.js';

const BATCH = 50;

export interface SessionClockUpgrade {
  /** Re-prices what is left, in batches, each written (or spooled) before the next; resolves when done. */
  run(): Promise<void>;
  stop(): Promise<void>;
  stats(): { complete: boolean; repriced: number; kept: number };
}

export function createSessionClockUpgrade(options: {
  /** Every session still stored in the old form. */
  legacySessions(): Promise<StoredSession[]>;
  pricer: Pick<StoredSessionPricer, 'reprice'>;
  writer: Pick<InfluxWriter, 'flush'>;
  logger: Logger;
}): SessionClockUpgrade {
  const log = options.logger.child({ module: 'price-clock-upgrade' });
  const stats = { complete: false, repriced: 0, kept: 0 };
  let running: Promise<void> | undefined;
  let stopped = false;

  async function upgrade(): Promise<void> {
    const sessions = await options.legacySessions();
    if (sessions.length > 0) {
      log.info({ sessions: sessions.length }, 'price clock upgrade: re-pricing sessions stored on the old clock');
    }
    for (let i = 0; i < sessions.length && !stopped; i += BATCH) {
      const result = await options.pricer.reprice(sessions.slice(i, i + BATCH));
      await options.writer.flush();
      stats.repriced += result.repriced;
      stats.kept += result.kept;
    }
    if (stopped) return;
    stats.complete = true;
    if (sessions.length === 0) return;
    log.info({ repriced: stats.repriced, kept: stats.kept }, 'price clock upgrade: sessions re-priced');
    if (stats.kept > 0) {
      log.warn(
        { kept: stats.kept },
        'price clock upgrade: some sessions kept their old costs because their 5-minute prices are no longer stored',
      );
    }
  }

  return {
    run() {
      if (stats.complete) return Promise.resolve();
      running ??= upgrade().finally(() => {
        running = undefined;
      });
      return running;
    },
    async stop() {
      stopped = true;
      await running?.catch(() => undefined);
    },
    stats: () => ({ ...stats }),
  };
}
