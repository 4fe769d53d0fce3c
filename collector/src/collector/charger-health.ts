/**
 * Whether a charger is online, and how long to wait before asking it again:
 * pure, so the offline/online rules are tested without a clock.
 *
 * The Wall Connector drops off Wi-Fi for minutes at a time and its small web
 * server gets worse when hammered, so a charger that stops answering is asked
 * less and less often (capped exponential backoff with jitter), is declared
 * offline only after several failed vitals polls in a row, and is logged once
 * when it goes offline and once when it is back, never at every poll.
 */

export interface ChargerHealth {
  /** undefined until the first poll settles it. */
  online: boolean | undefined;
  consecutiveFailures: number;
  lastError: string | undefined;
  lastSuccessMs: number | undefined;
}

export type HealthTransition = 'online' | 'offline' | undefined;

export interface HealthRules {
  /** Failed vitals polls in a row before the charger counts as offline. */
  offlineAfterFailures: number;
}

export const INITIAL_HEALTH: ChargerHealth = {
  online: undefined,
  consecutiveFailures: 0,
  lastError: undefined,
  lastSuccessMs: undefined,
};

export function recordVitalsPoll(
  health: ChargerHealth,
  outcome: { ok: true } | { ok: false; error: string },
  nowMs: number,
  rules: HealthRules,
): { health: ChargerHealth; transition: HealthTransition } {
  if (outcome.ok) {
    const transition = health.online === true ? undefined : 'online';
    return {
      health: { online: true, consecutiveFailures: 0, lastError: health.lastError, lastSuccessMs: nowMs },
      transition,
    };
  }
  const consecutiveFailures = health.consecutiveFailures + 1;
  const offline = consecutiveFailures >= rules.offlineAfterFailures;
  const transition = offline && health.online !== false ? 'offline' : undefined;
  return {
    health: {
      online: offline ? false : health.online,
      consecutiveFailures,
      lastError: outcome.error,
      lastSuccessMs: health.lastSuccessMs,
    },
    transition,
  };
}

/**
 * The wait before the next vitals poll after `consecutiveFailures` failures:
 * the normal interval when there are none, else interval x 2^(failures-1)
 * capped at `maxBackoffMs`, times a jitter factor in [0.8, 1.2) drawn from
 * `random01` so that many chargers that failed together do not retry in step.
 */
export function vitalsDelayMs(
  consecutiveFailures: number,
  intervalMs: number,
  maxBackoffMs: number,
  random01: number,
): number {
  if (consecutiveFailures === 0) return intervalMs;
  const exponential = intervalMs * 2 ** Math.min(consecutiveFailures - 1, 30);
  const capped = Math.min(Math.max(exponential, intervalMs), Math.max(maxBackoffMs, intervalMs));
  return Math.round(capped * (0.8 + 0.4 * random01));
}
