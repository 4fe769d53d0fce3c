import { intervalEndFor } from '../prices/intervals.js';

/**
 * Energy delivered in one ComEd 5-minute interval, identified by the
 * interval's end (see prices/intervals.ts). A session keeps these sorted by
 * `intervalEndMs`, one entry per interval, as plain JSON.
 */
export interface IntervalEnergy {
  intervalEndMs: number;
  energyWh: number;
}

/** Adds `energyWh` to the interval ending at `intervalEndMs`, keeping the list sorted; returns a new list. */
export function addIntervalEnergy(list: IntervalEnergy[], intervalEndMs: number, energyWh: number): IntervalEnergy[] {
  if (energyWh === 0) return list;
  const next = list.slice();
  // Samples arrive in time order, so the entry is almost always the last one.
  let i = next.length - 1;
  while (i >= 0 && (next[i] as IntervalEnergy).intervalEndMs > intervalEndMs) i--;
  const found = next[i];
  if (found && found.intervalEndMs === intervalEndMs) {
    next[i] = { intervalEndMs, energyWh: found.energyWh + energyWh };
  } else {
    next.splice(i + 1, 0, { intervalEndMs, energyWh });
  }
  return next;
}

/**
 * Spreads `energyWh`, delivered somewhere in (fromMs, toMs], over the 5-minute
 * intervals of that span in proportion to the time each holds. Used only when
 * the samples are too far apart to know when the energy flowed (the collector
 * or the charger was offline); the last piece takes the remainder so the parts
 * add up to the whole.
 */
export function spreadIntervalEnergy(
  list: IntervalEnergy[],
  fromMs: number,
  toMs: number,
  energyWh: number,
): IntervalEnergy[] {
  if (energyWh === 0) return list;
  if (toMs <= fromMs) return addIntervalEnergy(list, intervalEndFor(toMs), energyWh);
  const spanMs = toMs - fromMs;
  let next = list;
  let assignedWh = 0;
  let pieceStartMs = fromMs;
  while (pieceStartMs < toMs) {
    const endMs = intervalEndFor(pieceStartMs + 1);
    const pieceEndMs = Math.min(endMs, toMs);
    const pieceWh = pieceEndMs === toMs ? energyWh - assignedWh : (energyWh * (pieceEndMs - pieceStartMs)) / spanMs;
    next = addIntervalEnergy(next, endMs, pieceWh);
    assignedWh += pieceWh;
    pieceStartMs = pieceEndMs;
  }
  return next;
}

/** Total energy of an interval list, Wh. */
export function totalIntervalEnergyWh(list: readonly IntervalEnergy[]): number {
  return list.reduce((sum, entry) => sum + entry.energyWh, 0);
}
