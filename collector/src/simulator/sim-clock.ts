/**
 * Simulated time from real time: the simulation starts at `simStartMs` when
 * the real clock reads `realStartMs`, and runs `acceleration` times faster
 * (sim = start + elapsed x acceleration).
 */
export interface SimClock {
  simStartMs: number;
  realStartMs: number;
  acceleration: number;
}

export function simulatedTimeMs(clock: SimClock, realNowMs: number): number {
  return clock.simStartMs + (realNowMs - clock.realStartMs) * clock.acceleration;
}
