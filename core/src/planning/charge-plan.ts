/**
 * The charge plan: which hours (or parts of hours) to charge in so the car
 * has the energy it needs by its departure, at the lowest expected cost.
 * Pure: the time, the need, the power, the departure, the hour estimates
 * (forecast.ts, each with its source and band), the tariff and the user's
 * rules in; the plan out.
 *
 * ComEd bills each hour at its average, so the plan is in whole price hours:
 * the energy of an hour costs the same whenever in the hour it is drawn, and
 * only an hour at the edge of a run is partial.
 *
 * The departure comes first. The plan keeps charging at full power inside
 * [now, departure - buffer]; when the hours left at full power no longer
 * cover the need, it charges at once ("deadline" mode). A wrong forecast can
 * make a plan dearer than it looked, never late: the loop re-plans every few
 * minutes, and each plan checks the deadline again.
 */

import { HOUR_MS, hourEndingOf } from '../prices/comed-clock.js';
import type { EstimateSource, HourEstimate } from '../prices/forecast.js';
import { addersCentsPerKwh, type Tariff } from '../prices/pricing.js';
import { energyCostMicroUsd, microToUsd, taxMicroUsd } from '../sessions/money.js';

export interface PlanRules {
  /** Charge in every hour priced below this, cents per kWh, even when later hours are cheaper; null: no such rule. */
  alwaysBelowCents: number | null;
  /** Never charge in an hour priced above this unless the departure needs it; null: no ceiling. */
  neverAboveCents: number | null;
  /** Be done this long before the departure. */
  bufferMs: number;
  /**
   * At most this many separate charging runs (each a start and a stop of the
   * car); more are merged as far as the price rules allow (never across an
   * hour above the ceiling, never dropping an hour under the "always" price):
   * the user's price rules win over fewer stops.
   */
  maxRuns: number;
  /**
   * With `PlanInput.charging` known: the running hour's price must be this
   * much better (cents per kWh) than the alternative before a re-plan starts
   * or stops the car in it. Default SWITCH_MARGIN_CENTS.
   */
  switchMarginCents?: number;
}

/**
 * A re-plan every 5 minutes sees the running hour's price move with each new
 * 5-minute price; without a margin an hour priced near the night's cut-off
 * would start and stop the car again and again for fractions of a cent.
 */
export const SWITCH_MARGIN_CENTS = 0.25;

export const DEFAULT_PLAN_RULES: PlanRules = {
  alwaysBelowCents: null,
  neverAboveCents: null,
  bufferMs: 30 * 60_000,
  maxRuns: 3,
};

export interface PlanInput {
  nowMs: number;
  /** Energy still to charge, kWh. */
  energyKwh: number;
  /** Charging power, kW: measured in the session, else configured. */
  powerKw: number;
  departureMs: number;
  /** The hours' estimates; hours without one are used only when the departure needs them. */
  estimates: readonly HourEstimate[];
  tariff: Tariff;
  rules: PlanRules;
  /** Whether the car is charging now under the last plan (the loop knows); undefined: no plan yet. */
  charging?: boolean | undefined;
}

export type SlotReason = 'cheapest' | 'always_below' | 'needed' | 'smoothing' | 'deadline';

export interface PlanSlot {
  startMs: number;
  endMs: number;
  hourEndingMs: number;
  energyKwh: number;
  /** The hour's estimate; null when it has none. */
  priceCentsPerKwh: number | null;
  source: EstimateSource | null;
  reason: SlotReason;
}

export interface PlanCost {
  energyKwh: number;
  supplyUsd: number;
  /** Supply, per-kWh adders and tax: what the bill will say. */
  totalUsd: number;
  /** Energy-weighted supply price, cents per kWh; null without energy. */
  avgPriceCentsPerKwh: number | null;
}

export interface ChargePlan {
  computedAtMs: number;
  departureMs: number;
  /** Charging ends by here: the departure less the buffer. */
  deadlineMs: number;
  /** `planned`: the cheapest hours; `deadline`: no time to wait, charging at once. */
  mode: 'planned' | 'deadline';
  slots: PlanSlot[];
  /** The slots as the car sees them: separate charging runs. */
  runs: { startMs: number; endMs: number }[];
  /** Whether the car should be charging at `computedAtMs`. */
  chargeNow: boolean;
  /** Energy the departure will lack even at full power from now; 0 normally. */
  shortfallKwh: number;
  expected: PlanCost;
  /** The same energy charged at once from now, for the saving. */
  atOnce: PlanCost;
  /** atOnce minus expected, total; never negative (the plan is charging at once then). */
  savingUsd: number;
}

const EPSILON_KWH = 1e-9;

interface HourCell {
  hourEndingMs: number;
  /** The part of the hour inside [now, deadline]. */
  fromMs: number;
  toMs: number;
  capacityKwh: number;
  price: number | null;
  source: EstimateSource | null;
}

function cellsOf(input: PlanInput, untilMs: number): HourCell[] {
  const byHour = new Map(input.estimates.map((estimate) => [estimate.hourEndingMs, estimate]));
  const cells: HourCell[] = [];
  for (let hourEndingMs = hourEndingOf(input.nowMs); hourEndingMs - HOUR_MS < untilMs; hourEndingMs += HOUR_MS) {
    const fromMs = Math.max(input.nowMs, hourEndingMs - HOUR_MS);
    const toMs = Math.min(hourEndingMs, untilMs);
    if (toMs <= fromMs) continue;
    const estimate = byHour.get(hourEndingMs);
    cells.push({
      hourEndingMs,
      fromMs,
      toMs,
      capacityKwh: (input.powerKw * (toMs - fromMs)) / HOUR_MS,
      price: estimate?.priceCentsPerKwh ?? null,
      source: estimate?.source ?? null,
    });
  }
  return cells;
}

function costOf(energy: readonly number[], cells: readonly HourCell[], tariff: Tariff): PlanCost {
  let energyKwh = 0;
  let supplyMicro = 0;
  let pricedKwh = 0;
  for (const [index, kwh] of energy.entries()) {
    if (kwh <= EPSILON_KWH) continue;
    energyKwh += kwh;
    const price = cells[index]?.price;
    // An hour without an estimate is costed at the dearest known hour: a plan never looks cheaper for it.
    const known = price ?? Math.max(0, ...cells.map((cell) => cell.price ?? 0));
    supplyMicro += energyCostMicroUsd(kwh * 1000, known);
    if (price !== null && price !== undefined) pricedKwh += kwh;
  }
  const addersMicro = energyCostMicroUsd(energyKwh * 1000, addersCentsPerKwh(tariff));
  const base = supplyMicro + addersMicro;
  return {
    energyKwh,
    supplyUsd: microToUsd(supplyMicro),
    totalUsd: microToUsd(base + taxMicroUsd(base, tariff.taxPercent)),
    avgPriceCentsPerKwh: energyKwh > EPSILON_KWH && pricedKwh > 0 ? supplyMicro / 10 / (energyKwh * 1000) : null,
  };
}

/** Fills cells in the given order until `need` is met; returns what is still needed. */
function fill(energy: number[], cells: readonly HourCell[], order: readonly number[], need: number): number {
  let remaining = need;
  for (const index of order) {
    if (remaining <= EPSILON_KWH) break;
    const cell = cells[index] as HourCell;
    const room = cell.capacityKwh - (energy[index] as number);
    if (room <= EPSILON_KWH) continue;
    const take = Math.min(room, remaining);
    energy[index] = (energy[index] as number) + take;
    remaining -= take;
  }
  return remaining;
}

const isFull = (energy: readonly number[], cells: readonly HourCell[], index: number) =>
  (energy[index] as number) >= (cells[index] as HourCell).capacityKwh - 1e-6;
const isUsed = (energy: readonly number[], index: number) => (energy[index] as number) > EPSILON_KWH;

/** Runs of consecutive used cells, as [first, last] indexes; a partial cell inside a run splits it. */
function runIndexes(energy: readonly number[], cells: readonly HourCell[]): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  for (let index = 0; index < cells.length; index++) {
    if (!isUsed(energy, index)) {
      if (start >= 0) runs.push([start, index - 1]);
      start = -1;
      continue;
    }
    if (start < 0) start = index;
    // Only a run's first and last cells may be partial: a partial cell with used cells on both sides ends the run.
    const interiorPartial =
      !isFull(energy, cells, index) && index > start && index + 1 < cells.length && isUsed(energy, index + 1);
    if (interiorPartial) {
      runs.push([start, index]);
      start = -1;
    }
  }
  if (start >= 0) runs.push([start, cells.length - 1]);
  return runs;
}

/**
 * Merges runs until there are at most `maxRuns`: each step fills the gap
 * between two neighbouring runs that costs least to fill and takes the same
 * energy back from the dearest run edges. Gaps holding an hour above the
 * ceiling or without an estimate are not filled.
 */
function smooth(energy: number[], cells: readonly HourCell[], rules: PlanRules, reasons: SlotReason[]): void {
  for (let guard = 0; guard < cells.length; guard++) {
    const runs = runIndexes(energy, cells);
    if (runs.length <= Math.max(1, rules.maxRuns)) return;
    let best: { added: number[]; delta: number; gap: [number, number] } | undefined;
    for (let r = 0; r + 1 < runs.length; r++) {
      const gapFrom = (runs[r] as [number, number])[1];
      const gapTo = (runs[r + 1] as [number, number])[0];
      const trial = [...energy];
      let added = 0;
      let blocked = false;
      for (let index = gapFrom; index <= gapTo; index++) {
        const cell = cells[index] as HourCell;
        if (cell.price === null || (rules.neverAboveCents !== null && cell.price > rules.neverAboveCents)) {
          if (!isFull(trial, cells, index)) blocked = true;
        }
        added += cell.capacityKwh - (trial[index] as number);
        trial[index] = cell.capacityKwh;
      }
      if (blocked) continue;
      // The gap's inside stays; the merged run's own ends may give energy back.
      trimEdges(trial, cells, added, [gapFrom + 1, gapTo - 1], reasons);
      // The same energy, or the merge is not possible (nothing left to take back).
      const sum = (values: readonly number[]) => values.reduce((total, kwh) => total + kwh, 0);
      if (sum(trial) > sum(energy) + 1e-6) continue;
      const delta = costOf(trial, cells, ZERO_TARIFF).supplyUsd - costOf(energy, cells, ZERO_TARIFF).supplyUsd;
      if (!best || delta < best.delta) best = { added: trial, delta, gap: [gapFrom, gapTo] };
    }
    if (!best) return;
    for (let index = best.gap[0]; index <= best.gap[1]; index++) {
      if (!isUsed(energy, index)) reasons[index] = 'smoothing';
    }
    energy.splice(0, energy.length, ...best.added);
  }
}

const ZERO_TARIFF: Tariff = {
  deliveryCentsPerKwh: 0,
  otherCentsPerKwh: 0,
  taxPercent: 0,
  monthlyFixedUsd: 0,
  flatRateCentsPerKwh: 0,
};

/**
 * Takes `excess` kWh back from the dearest first or last cells of runs,
 * outside [keepFrom, keepTo] and never from an hour under the "always" price.
 */
function trimEdges(
  energy: number[],
  cells: readonly HourCell[],
  excess: number,
  keep: [number, number],
  reasons: readonly SlotReason[],
): void {
  let remaining = excess;
  for (let guard = 0; remaining > EPSILON_KWH && guard < cells.length * 2; guard++) {
    const edges = new Set<number>();
    for (const [first, last] of runIndexes(energy, cells)) {
      edges.add(first);
      edges.add(last);
    }
    let dearest = -1;
    for (const index of edges) {
      if ((index >= keep[0] && index <= keep[1]) || reasons[index] === 'always_below') continue;
      const price = (cells[index] as HourCell).price ?? Number.POSITIVE_INFINITY;
      const current =
        dearest < 0 ? Number.NEGATIVE_INFINITY : ((cells[dearest] as HourCell).price ?? Number.POSITIVE_INFINITY);
      if (price > current || (price === current && index > dearest)) dearest = index;
    }
    if (dearest < 0) return;
    const take = Math.min(energy[dearest] as number, remaining);
    energy[dearest] = (energy[dearest] as number) - take;
    remaining -= take;
  }
}

/**
 * Where in its hour a cell's energy is drawn: against a used neighbour, so a
 * run stays one run; a partial hour on its own at its end. ComEd bills the
 * hour at its average whenever in it the energy is drawn, so starting late
 * costs nothing and lets the re-plans see more of the hour's 5-minute prices
 * before the car starts.
 */
function slotSpan(energy: readonly number[], cells: readonly HourCell[], index: number, powerKw: number) {
  const cell = cells[index] as HourCell;
  const kwh = energy[index] as number;
  const lengthMs = Math.min(cell.toMs - cell.fromMs, (kwh / powerKw) * HOUR_MS);
  const previousUsed = index > 0 && isUsed(energy, index - 1) && (cells[index - 1] as HourCell).toMs === cell.fromMs;
  if (!previousUsed) return { startMs: Math.round(cell.toMs - lengthMs), endMs: cell.toMs };
  return { startMs: cell.fromMs, endMs: Math.round(cell.fromMs + lengthMs) };
}

function planOf(
  input: PlanInput,
  cells: readonly HourCell[],
  energy: readonly number[],
  reasons: readonly SlotReason[],
  mode: ChargePlan['mode'],
  deadlineMs: number,
  atOnce: PlanCost,
  shortfallKwh: number,
): ChargePlan {
  const slots: PlanSlot[] = [];
  for (const [index, cell] of cells.entries()) {
    if (!isUsed(energy, index)) continue;
    const span = slotSpan(energy, cells, index, input.powerKw);
    slots.push({
      ...span,
      hourEndingMs: cell.hourEndingMs,
      energyKwh: energy[index] as number,
      priceCentsPerKwh: cell.price,
      source: cell.source,
      reason: reasons[index] as SlotReason,
    });
  }
  const runs: { startMs: number; endMs: number }[] = [];
  for (const slot of slots) {
    const last = runs.at(-1);
    if (last && last.endMs >= slot.startMs) last.endMs = slot.endMs;
    else runs.push({ startMs: slot.startMs, endMs: slot.endMs });
  }
  const expected = costOf(energy, cells, input.tariff);
  return {
    computedAtMs: input.nowMs,
    departureMs: input.departureMs,
    deadlineMs,
    mode,
    slots,
    runs,
    chargeNow: slots.some((slot) => slot.startMs <= input.nowMs && slot.endMs > input.nowMs),
    shortfallKwh,
    expected,
    atOnce,
    savingUsd: Math.max(0, atOnce.totalUsd - expected.totalUsd),
  };
}

/** The need charged in one run starting on an hour (or now), the cheapest such run. */
function cheapestSingleRun(cells: readonly HourCell[], need: number): number[] {
  let best: { energy: number[]; cost: number } | undefined;
  for (let first = 0; first < cells.length; first++) {
    const energy = cells.map(() => 0);
    const order = cells.map((_, index) => index).filter((index) => index >= first);
    if (fill(energy, cells, order, need) > EPSILON_KWH) break;
    const cost = costOf(energy, cells, ZERO_TARIFF).supplyUsd;
    if (!best || cost < best.cost - 1e-12) best = { energy, cost };
  }
  return best?.energy ?? cells.map(() => 0);
}

export function planCharge(input: PlanInput): ChargePlan {
  const { rules } = input;
  const deadlineMs = Math.max(input.nowMs, input.departureMs - rules.bufferMs);
  const need = Math.max(0, input.energyKwh);
  const cells = cellsOf(input, deadlineMs);
  const chronological = cells.map((_, index) => index);

  // Charging at once from now: the reference, and the plan when there is no time to wait.
  const atOnceEnergy = cells.map(() => 0);
  let shortfall = fill(atOnceEnergy, cells, chronological, need);
  if (shortfall > EPSILON_KWH) {
    // Not even the buffer is left: charge at once up to the departure itself.
    const untilDeparture = cellsOf(input, Math.max(input.nowMs, input.departureMs));
    const energy = untilDeparture.map(() => 0);
    shortfall = fill(
      energy,
      untilDeparture,
      untilDeparture.map((_, index) => index),
      need,
    );
    const atOnce = costOf(energy, untilDeparture, input.tariff);
    return planOf(
      input,
      untilDeparture,
      energy,
      untilDeparture.map(() => 'deadline'),
      'deadline',
      input.departureMs,
      atOnce,
      Math.max(0, shortfall),
    );
  }
  const atOnce = costOf(atOnceEnergy, cells, input.tariff);
  if (need <= EPSILON_KWH) return planOf(input, cells, atOnceEnergy, [], 'planned', deadlineMs, atOnce, 0);

  const energy = cells.map(() => 0);
  const reasons: SlotReason[] = cells.map(() => 'cheapest');
  const mark = (reason: SlotReason, before: readonly number[]) => {
    for (const [index, kwh] of energy.entries())
      if (kwh > (before[index] as number) + EPSILON_KWH) reasons[index] = reason;
  };
  let remaining = need;
  // Every hour under the "always" price, in time order.
  if (rules.alwaysBelowCents !== null) {
    const always = rules.alwaysBelowCents;
    const before = [...energy];
    remaining = fill(
      energy,
      cells,
      chronological.filter((index) => {
        const price = (cells[index] as HourCell).price;
        return price !== null && price < always;
      }),
      remaining,
    );
    mark('always_below', before);
  }
  // The cheapest priced hours under the ceiling, the earliest among equals; the running hour is held
  // to what the car is doing unless another hour beats it by the margin.
  const margin = input.charging === undefined ? 0 : (rules.switchMarginCents ?? SWITCH_MARGIN_CENTS);
  const rankOf = (index: number) => {
    const cell = cells[index] as HourCell;
    const held = index === 0 && cell.fromMs === input.nowMs ? (input.charging ? -margin : margin) : 0;
    return (cell.price as number) + held;
  };
  const byPrice = chronological
    .filter((index) => (cells[index] as HourCell).price !== null)
    .sort((a, b) => rankOf(a) - rankOf(b) || a - b);
  const ceiling = rules.neverAboveCents;
  remaining = fill(
    energy,
    cells,
    byPrice.filter((index) => ceiling === null || ((cells[index] as HourCell).price as number) <= ceiling),
    remaining,
  );
  // What the departure still needs: the cheapest hours above the ceiling, then hours with no estimate.
  if (remaining > EPSILON_KWH) {
    const before = [...energy];
    remaining = fill(energy, cells, byPrice, remaining);
    remaining = fill(energy, cells, chronological, remaining);
    mark('needed', before);
  }
  smooth(energy, cells, rules, reasons);
  if (
    runIndexes(energy, cells).length > Math.max(1, rules.maxRuns) &&
    rules.neverAboveCents === null &&
    rules.alwaysBelowCents === null
  ) {
    // Merging got stuck: the cheapest single run always fits.
    const single = cheapestSingleRun(cells, need);
    energy.splice(0, energy.length, ...single);
    reasons.fill('smoothing');
  }
  const plan = planOf(input, cells, energy, reasons, 'planned', deadlineMs, atOnce, 0);
  // A plan that costs more than charging at once (smoothing can) is not worth waiting for.
  if (plan.expected.totalUsd > atOnce.totalUsd + 1e-9) {
    return planOf(
      input,
      cells,
      atOnceEnergy,
      cells.map(() => 'cheapest'),
      'planned',
      deadlineMs,
      atOnce,
      0,
    );
  }
  return plan;
}
