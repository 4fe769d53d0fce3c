/**
 * ComEd's interval convention, in one place.
 *
 * ComEd publishes a 5-minute price at the end of its interval, and labels
 * hours by their end ("hour ending"). So a price stamped T covers the five
 * minutes (T - 5 min, T], and the hour ending at H averages the twelve prices
 * stamped H - 55 min ... H (for the hour ending 14:00: 13:05 through 14:00).
 * Every other module maps times to intervals through these functions.
 */

export const FIVE_MINUTES_MS = 5 * 60 * 1000;
export const HOUR_MS = 60 * 60 * 1000;
export const PRICES_PER_HOUR = HOUR_MS / FIVE_MINUTES_MS;

/** Rounds up to a multiple of `stepMs` (a time already on the grid stays put). */
function ceilTo(timeMs: number, stepMs: number): number {
  return Math.ceil(timeMs / stepMs) * stepMs;
}

/** The end of the 5-minute interval that holds the instant `timeMs`: an instant on a boundary closes that interval. */
export function intervalEndFor(timeMs: number): number {
  return ceilTo(timeMs, FIVE_MINUTES_MS);
}

/** The start of the 5-minute interval whose price is stamped `intervalEndMs`. */
export function intervalStart(intervalEndMs: number): number {
  return intervalEndMs - FIVE_MINUTES_MS;
}

/** The hour (by its end, ComEd's "hour ending") that a price stamped `priceTimeMs` belongs to. */
export function hourEndingFor(priceTimeMs: number): number {
  return ceilTo(priceTimeMs, HOUR_MS);
}

/** The twelve 5-minute price stamps that make up the hour ending at `hourEndMs`, oldest first. */
export function intervalEndsInHour(hourEndMs: number): number[] {
  return Array.from({ length: PRICES_PER_HOUR }, (_, i) => hourEndMs - HOUR_MS + (i + 1) * FIVE_MINUTES_MS);
}

/** True when `timeMs` is exactly on the 5-minute grid (ComEd stamps always are). */
export function isOnFiveMinuteGrid(timeMs: number): boolean {
  return timeMs % FIVE_MINUTES_MS === 0;
}
