import { describe, expect, it } from 'vitest';
import {
  initialRunSpec,
  phaseAt,
  phaseCurrentA,
  phasesFor,
  RAMP_MS,
  remainingSpec,
  TAPER_END_FRACTION,
  TAPER_MS,
  truncatePhases,
} from '../../src/simulator/charge-profile.js';
import { must } from './must.js';

const MINUTE_MS = 60_000;

describe('charge profile', () => {
  it('ramps, holds and tapers, sized for the energy wanted at nominal power', () => {
    const spec = initialRunSpec(48, 20_000, 240);
    const phases = phasesFor(spec, 0);
    expect(phases.map((p) => p.kind)).toEqual(['ramp', 'hold', 'taper']);
    expect(phases[0]).toMatchObject({ startMs: 0, endMs: RAMP_MS, fromA: 0, toA: 48 });
    expect(phases[2]).toMatchObject({ fromA: 48, toA: 48 * TAPER_END_FRACTION });
    expect(must(phases[2]).endMs - must(phases[2]).startMs).toBe(TAPER_MS);
    // Energy at the nominal 240 V, integrated independently in 1-second steps.
    let wh = 0;
    for (let t = 0; t < must(phases[2]).endMs; t += 1000) {
      const p = phaseAt(phases, t + 500);
      wh += p ? (240 * phaseCurrentA(p, t + 500)) / 3600 : 0;
    }
    expect(wh).toBeCloseTo(20_000, -1);
  });

  it('a thermal foldback reduces the current mid-hold and lengthens the run', () => {
    const thermal = { afterHoldMs: 20 * MINUTE_MS, durationMs: 10 * MINUTE_MS, factor: 0.6 };
    const spec = initialRunSpec(48, 30_000, 240, thermal);
    const phases = phasesFor(spec, 0);
    expect(phases.map((p) => p.kind)).toEqual(['ramp', 'hold', 'thermal', 'hold', 'taper']);
    expect(phases[2]).toMatchObject({ startMs: RAMP_MS + 20 * MINUTE_MS, endMs: RAMP_MS + 30 * MINUTE_MS });
    expect(must(phases[2]).fromA).toBeCloseTo(48 * 0.6, 9);
    expect(must(phases[2]).toA).toBeCloseTo(48 * 0.6, 9);
    const plain = phasesFor(initialRunSpec(48, 30_000, 240), 0);
    expect(must(phases.at(-1)).endMs - must(plain.at(-1)).endMs).toBe(10 * MINUTE_MS);
  });

  it.each([
    { label: 'during the ramp: the whole run again', at: 20_000, holdMs: 'same', kinds: ['ramp', 'hold', 'taper'] },
    {
      label: 'during the hold: the rest of the hold',
      at: RAMP_MS + 30 * MINUTE_MS,
      holdMs: 'less',
      kinds: ['ramp', 'hold', 'taper'],
    },
    { label: 'during the taper: the rest of the taper', at: 'taper', holdMs: 'zero', kinds: ['ramp', 'taper'] },
  ] as const)('an interruption $label', ({ at, holdMs, kinds }) => {
    const spec = initialRunSpec(48, 20_000, 240);
    const phases = phasesFor(spec, 0);
    const atMs = at === 'taper' ? must(phases[2]).startMs + TAPER_MS / 4 : at;
    const rest = remainingSpec(spec, phases, atMs);
    if (holdMs === 'same') expect(rest.holdMs).toBe(spec.holdMs);
    if (holdMs === 'less') expect(rest.holdMs).toBe(spec.holdMs - 30 * MINUTE_MS);
    if (holdMs === 'zero') {
      expect(rest.holdMs).toBe(0);
      expect(rest.holdA).toBeCloseTo(48 - (48 - 48 * TAPER_END_FRACTION) / 4, 6);
      expect(rest.taperMs).toBe((TAPER_MS * 3) / 4);
    }
    expect(phasesFor(rest, 0).map((p) => p.kind)).toEqual(kinds);
    const cut = truncatePhases(phases, atMs);
    expect(must(cut.at(-1)).endMs).toBe(atMs);
    expect(must(cut.at(-1)).toA).toBeCloseTo(phaseCurrentA(must(phaseAt(phases, atMs)), atMs), 9);
  });
});
