/**
 * Vitals-poll lateness as seen from the simulated charger, rebuilt from the
 * times its requests arrive and its answers leave. The collector keeps its own
 * figures (status().chargers[].maxLatenessMs) but only the worst and the
 * latest, so the distribution is rebuilt here from the outside.
 *
 * The poller (collector/src/collector/charger-poller.ts) keeps its vitals polls
 * on a grid: each is due one interval after the previous one was due, unless
 * that moment has already passed when the previous poll ends; then the grid
 * starts again one interval after that end. Where a grid starts cannot be seen
 * from outside (the first one starts when the collector has handled the first
 * /version answer, which takes tens of milliseconds in a process just started),
 * so each grid is placed at its least late poll: lateness here is measured
 * against the best-fitting grid and reads low by that poll's own lateness,
 * about a millisecond of timer slack when the collector is not overloaded.
 * The collector's own worst figure stays the reference for the worst case.
 */

export type PollEvent = { kind: 'vitals-arrived'; atMs: number } | { kind: 'vitals-answered'; atMs: number };

export interface VitalsPoll {
  /** When the request reached the charger. */
  startMs: number;
  /** How long after its place on the grid it started. */
  latenessMs: number;
}

/** One charger's events in the order they happened. */
export function vitalsPollLateness(events: readonly PollEvent[], intervalMs: number): VitalsPoll[] {
  const polls: VitalsPoll[] = [];
  let grid: { startMs: number[]; originMs: number } = { startMs: [], originMs: Number.POSITIVE_INFINITY };
  const closeGrid = () => {
    grid.startMs.forEach((startMs, index) => {
      polls.push({ startMs, latenessMs: startMs - index * intervalMs - grid.originMs });
    });
    grid = { startMs: [], originMs: Number.POSITIVE_INFINITY };
  };
  for (const event of events) {
    if (event.kind === 'vitals-arrived') {
      grid.originMs = Math.min(grid.originMs, event.atMs - grid.startMs.length * intervalMs);
      grid.startMs.push(event.atMs);
    } else if (grid.startMs.length > 0 && event.atMs >= grid.originMs + grid.startMs.length * intervalMs) {
      // The poll ended after the next one was due: the poller starts a new grid from here.
      closeGrid();
    }
  }
  closeGrid();
  return polls;
}

export interface Distribution {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile (the smallest value with at least p% of the values at or below it). */
export function percentile(sortedAscending: readonly number[], p: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sortedAscending.length));
  return sortedAscending[Math.min(rank, sortedAscending.length) - 1] as number;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
  };
}
