/**
 * Which hour a day-ahead label names, checked on data. ComEd's day-ahead
 * feeds have the form of its published hourly prices; whether their hour
 * field ends the hour (as `type=day`'s does, see comed-clock.ts) or begins
 * it, no recording says. A day's day-ahead curve has to line up with the
 * same day's real-time hourly averages: read with the right convention the
 * two correlate best at offset 0; read one hour off, at -1 or +1. This module
 * measures that on stored history. Pure.
 */
import { CHICAGO_TIME_ZONE, wallClockAt } from '../time/wall-clock.js';
import { HOUR_MS } from './comed-clock.js';

export interface OffsetCorrelation {
  /** The real-time hour compared is this many hours after the day-ahead hour as read. */
  offsetHours: number;
  /** Pearson correlation of the two, each with its day's mean taken out; null with too few pairs. */
  correlation: number | null;
  pairs: number;
}

export interface LabelCheck {
  offsets: OffsetCorrelation[];
  /** The offset that correlates best; 0 when the labels are read as the feed means them. */
  bestOffsetHours: number | null;
}

const MIN_PAIRS = 48;

/** Each value minus the mean of its Chicago local day, so day-to-day swings of the level do not count. */
function withinDay(series: ReadonlyMap<number, number>): Map<number, number> {
  const days = new Map<string, { sum: number; count: number }>();
  const dayOf = (hourEndingMs: number) => {
    const local = wallClockAt(hourEndingMs - HOUR_MS, CHICAGO_TIME_ZONE);
    return `${local.year}-${local.month}-${local.day}`;
  };
  for (const [hourEndingMs, value] of series) {
    const day = days.get(dayOf(hourEndingMs)) ?? { sum: 0, count: 0 };
    day.sum += value;
    day.count++;
    days.set(dayOf(hourEndingMs), day);
  }
  const result = new Map<number, number>();
  for (const [hourEndingMs, value] of series) {
    const day = days.get(dayOf(hourEndingMs)) as { sum: number; count: number };
    result.set(hourEndingMs, value - day.sum / day.count);
  }
  return result;
}

function pearson(pairs: readonly [number, number][]): number | null {
  if (pairs.length < MIN_PAIRS) return null;
  const n = pairs.length;
  const meanX = pairs.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = pairs.reduce((sum, [, y]) => sum + y, 0) / n;
  let cov = 0;
  let varX = 0;
  let varY = 0;
  for (const [x, y] of pairs) {
    cov += (x - meanX) * (y - meanY);
    varX += (x - meanX) ** 2;
    varY += (y - meanY) ** 2;
  }
  return varX > 0 && varY > 0 ? cov / Math.sqrt(varX * varY) : null;
}

/**
 * The correlation of day-ahead prices (by the hour ending they were read as)
 * with real-time hourly averages `offset` hours later, for each offset.
 */
export function checkDayAheadLabels(
  dayAhead: ReadonlyMap<number, number>,
  realTime: ReadonlyMap<number, number>,
  offsets: readonly number[] = [-2, -1, 0, 1, 2],
): LabelCheck {
  const da = withinDay(dayAhead);
  const rt = withinDay(realTime);
  const results = offsets.map((offsetHours) => {
    const pairs: [number, number][] = [];
    for (const [hourEndingMs, value] of da) {
      const actual = rt.get(hourEndingMs + offsetHours * HOUR_MS);
      if (actual !== undefined) pairs.push([value, actual]);
    }
    return { offsetHours, correlation: pearson(pairs), pairs: pairs.length };
  });
  let best: OffsetCorrelation | undefined;
  for (const result of results) {
    if (result.correlation === null) continue;
    if (!best || (best.correlation as number) < result.correlation) best = result;
  }
  return { offsets: results, bestOffsetHours: best?.offsetHours ?? null };
}
