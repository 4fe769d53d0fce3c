import { describe, expect, it } from 'vitest';
import { simulatedTimeMs } from '../../src/simulator/sim-clock.js';

describe('simulated clock', () => {
  const clock = { simStartMs: Date.UTC(2025, 0, 1), realStartMs: 1_000_000, acceleration: 60 };
  it.each([
    { realNowMs: 1_000_000, simMs: Date.UTC(2025, 0, 1) },
    { realNowMs: 1_001_000, simMs: Date.UTC(2025, 0, 1, 0, 1) },
    { realNowMs: 1_060_000, simMs: Date.UTC(2025, 0, 1, 1, 0) },
  ])('real $realNowMs -> sim $simMs', ({ realNowMs, simMs }) => {
    expect(simulatedTimeMs(clock, realNowMs)).toBe(simMs);
  });
  it('runs at real speed with acceleration 1', () => {
    expect(simulatedTimeMs({ ...clock, acceleration: 1 }, 1_001_000)).toBe(clock.simStartMs + 1_000);
  });
});
