import { FIVE_MINUTES_MS, intervalOfReading } from '../prices/comed-clock.js';

/**
 * Energy delivered in one ComEd 5-minute interval, named by the interval's
 * price stamp, its start (see prices/comed-clock.ts): the energy metered in
 * (startMs, startMs + 5 min]. A session keeps these sorted by `startMs`, one
 * entry per interval, as plain JSON.
 */
export interface IntervalEnergy {
  startMs: number;
  energyWh: number;
}

/** Adds `energyWh` to the interval stamped `startMs`, keeping the list sorted; returns a new list. */
export function addIntervalEnergy(list: IntervalEnergy[], startMs: number, energyWh: number): IntervalEnergy[] {
  if (energyWh === 0) return list;
  const next = list.slice();
  // Samples arrive in time order, so the entry is almost always the last one.
  let i = next.length - 1;
  while (i >= 0 && (next[i] as IntervalEnergy).startMs > startMs) i--;
  const found = next[i];
  if (found && found.startMs === startMs) {
    next[i] = { startMs, energyWh: found.energyWh + energyWh };
  } else {
    next.splice(i + 1, 0, { startMs, energyWh });
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
  if (toMs <= fromMs) return addIntervalEnergy(list, intervalOfReading(toMs), energyWh);
  const spanMs = toMs - fromMs;
  let next = list;
  let assignedWh = 0;
  let pieceStartMs = fromMs;
  while (pieceStartMs < toMs) {
    const startMs = intervalOfReading(pieceStartMs + 1);
    const pieceEndMs = Math.min(startMs + FIVE_MINUTES_MS, toMs);
    const pieceWh = pieceEndMs === toMs ? energyWh - assignedWh : (energyWh * (pieceEndMs - pieceStartMs)) / spanMs;
    next = addIntervalEnergy(next, startMs, pieceWh);
    assignedWh += pieceWh;
    pieceStartMs = pieceEndMs;
  }
  return next;
}

/** Total energy of an interval list, Wh. */
export function totalIntervalEnergyWh(list: readonly IntervalEnergy[]): number {
  return list.reduce((sum, entry) => sum + entry.energyWh, 0);
}
