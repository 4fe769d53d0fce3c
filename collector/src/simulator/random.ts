/**
 * Deterministic randomness for the simulator. Two kinds:
 * - a sequential PRNG (mulberry32) for plans drawn once, in order;
 * - counter-based noise, a hash of (seed, charger, channel, step), so a value
 *   at any simulated time is the same however often and in whatever order the
 *   model is asked. This is what makes "same seed, same run" hold while state
 *   is computed lazily on request.
 */

/** A 32-bit integer hash of the given integers (murmur3 finalizer over a running mix). */
export function hash32(...keys: number[]): number {
  let h = 0x9e3779b9;
  for (const key of keys) {
    // Split into two 32-bit words so large step indices (ms / minutes since 1970) stay distinct.
    const low = key | 0;
    const high = Math.floor(key / 0x1_0000_0000) | 0;
    h = Math.imul(h ^ low, 0x85ebca6b);
    h = (h << 13) | (h >>> 19);
    h = Math.imul(h ^ high, 0xc2b2ae35);
    h = (h << 17) | (h >>> 15);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) determined by the keys. */
export function unitFrom(...keys: number[]): number {
  return hash32(...keys) / 0x1_0000_0000;
}

/** A uniform number in [-1, 1) determined by the keys. */
export function noiseFrom(...keys: number[]): number {
  return unitFrom(...keys) * 2 - 1;
}

/**
 * Value noise: smooth (cosine-interpolated) between random knots at integer
 * positions of `x`, in [-1, 1]. Used for quantities that wander slowly
 * (grid voltage, Wi-Fi signal, ambient temperature).
 */
export function smoothNoise(x: number, ...keys: number[]): number {
  const knot = Math.floor(x);
  const fraction = x - knot;
  const a = noiseFrom(...keys, knot);
  const b = noiseFrom(...keys, knot + 1);
  const weight = (1 - Math.cos(fraction * Math.PI)) / 2;
  return a + (b - a) * weight;
}

// The sequential PRNG is the core's, shared with the backtests.
export { between, createRandom, type Random } from '@twc/core/random';
