/**
 * The cheapest run of consecutive 5-minute price slots inside a time span:
 * "when should this charge have run", "the cheapest N hours before 7 AM"
 * (N hours = 12N slots). A slot is named by its start, as ComEd stamps
 * prices (see prices/comed-clock.ts).
 */
import { FIVE_MINUTES_MS, intervalEnd } from '../prices/comed-clock.js';

export interface PriceSlot {
  startMs: number;
  /** Undefined while the price is unknown: no window may contain it. */
  centsPerKwh: number | undefined;
}

export interface CheapestWindowOptions {
  /** The window may not start before this instant. */
  earliestStartMs: number;
  /** The window must end by this instant. */
  deadlineMs: number;
}

export interface PriceWindow {
  startMs: number;
  endMs: number;
  /** Plain average of the window's slot prices, cents per kWh. */
  avgCentsPerKwh: number;
}

/**
 * A sliding sum over the slots, O(n). Slots should be consecutive and in
 * order; where one is not 5 minutes after the previous, the run is broken and
 * no window spans the hole. Ties go to the earliest window. Undefined when no
 * window of known prices fits.
 */
export function cheapestWindow(
  slots: readonly PriceSlot[],
  durationSlots: number,
  options: CheapestWindowOptions,
): PriceWindow | undefined {
  if (!Number.isInteger(durationSlots) || durationSlots < 1) {
    throw new RangeError(`cheapestWindow: durationSlots must be a positive integer, got ${durationSlots}`);
  }
  let best: { firstIndex: number; sum: number } | undefined;
  let runStart = 0;
  let sum = 0;
  let previousStartMs: number | undefined;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i] as PriceSlot;
    if (previousStartMs !== undefined && slot.startMs !== previousStartMs + FIVE_MINUTES_MS) {
      runStart = i;
      sum = 0;
    }
    previousStartMs = slot.startMs;
    const usable =
      slot.centsPerKwh !== undefined &&
      Number.isFinite(slot.centsPerKwh) &&
      slot.startMs >= options.earliestStartMs &&
      intervalEnd(slot.startMs) <= options.deadlineMs;
    if (!usable) {
      runStart = i + 1;
      sum = 0;
      continue;
    }
    sum += slot.centsPerKwh as number;
    if (i - runStart + 1 > durationSlots) sum -= (slots[i - durationSlots] as PriceSlot).centsPerKwh as number;
    if (i - runStart + 1 >= durationSlots && (best === undefined || sum < best.sum)) {
      best = { firstIndex: i - durationSlots + 1, sum };
    }
  }
  if (best === undefined) return undefined;
  const window = slots.slice(best.firstIndex, best.firstIndex + durationSlots);
  // Recomputed from the slots so the running sum's rounding does not leak out.
  const exactSum = window.reduce((total, slot) => total + (slot.centsPerKwh as number), 0);
  return {
    startMs: (window[0] as PriceSlot).startMs,
    endMs: intervalEnd((window[window.length - 1] as PriceSlot).startMs),
    avgCentsPerKwh: exactSum / durationSlots,
  };
}
