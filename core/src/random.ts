/**
 * A small deterministic PRNG (mulberry32, 32-bit state): the same seed gives
 * the same sequence, for anything drawn once and in order (the simulator's
 * plans, the backtests' generated cases).
 */

export type Random = () => number;

/** mulberry32: a small, fast sequential PRNG; returns [0, 1). */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/** A uniform number in [min, max). */
export function between(random: Random, min: number, max: number): number {
  return min + random() * (max - min);
}
