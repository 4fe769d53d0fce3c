import { describe, expect, it } from 'vitest';
import { type ChargePlan, DEFAULT_PLAN_RULES, type PlanInput, planCharge } from '../../src/planning/charge-plan.js';
import { HOUR_MS } from '../../src/prices/comed-clock.js';
import type { HourEstimate } from '../../src/prices/forecast.js';
import type { Tariff } from '../../src/prices/pricing.js';

const TARIFF: Tariff = {
  deliveryCentsPerKwh: 6,
  otherCentsPerKwh: 1,
  taxPercent: 10,
  monthlyFixedUsd: 0,
  flatRateCentsPerKwh: 14,
};
// 18:00 CST on Dec 3, 2026; the car leaves at 07:00.
const NOW = Date.UTC(2026, 11, 4, 0);
const DEPARTURE = Date.UTC(2026, 11, 4, 13);

function estimates(prices: number[], from = NOW + HOUR_MS): HourEstimate[] {
  return prices.map((price, i) => ({
    hourEndingMs: from + i * HOUR_MS,
    priceCentsPerKwh: price,
    source: i === 0 ? 'running' : 'day_ahead',
    lowCents: price - 1,
    highCents: price + 1,
  }));
}

function input(overrides: Partial<PlanInput> & { prices?: number[] }): PlanInput {
  const { prices, ...rest } = overrides;
  return {
    nowMs: NOW,
    energyKwh: 20,
    powerKw: 10,
    departureMs: DEPARTURE,
    estimates: estimates(prices ?? [9, 8, 7, 6, 5, 4, 1, 2, 3, 4, 5, 6, 7]),
    tariff: TARIFF,
    rules: { ...DEFAULT_PLAN_RULES, bufferMs: 0 },
    ...rest,
  };
}

const hoursOf = (plan: ChargePlan) => plan.slots.map((slot) => (slot.hourEndingMs - NOW) / HOUR_MS);

describe('planCharge', () => {
  it('charges in the cheapest hours, the last one partial and against its neighbour, and costs the plan', () => {
    // 25 kWh at 10 kW: the hours at 1 and 2 full, half of the hour at 3.
    const plan = planCharge(input({ energyKwh: 25 }));
    expect(plan.mode).toBe('planned');
    expect(hoursOf(plan)).toEqual([7, 8, 9]);
    expect(plan.slots.map((slot) => slot.energyKwh)).toEqual([10, 10, 5]);
    // The partial hour is drawn at its start, right after the full ones: one run.
    expect(plan.runs).toEqual([{ startMs: NOW + 6 * HOUR_MS, endMs: NOW + 8.5 * HOUR_MS }]);
    expect(plan.chargeNow).toBe(false);
    expect(plan.expected.supplyUsd).toBeCloseTo((10 * 1 + 10 * 2 + 5 * 3) / 100, 9);
    expect(plan.expected.totalUsd).toBeCloseTo(((10 + 20 + 15 + 25 * 7) / 100) * 1.1, 9);
    // At once: 18:00-20:30 at 9, 8 and half of 7.
    expect(plan.atOnce.supplyUsd).toBeCloseTo((90 + 80 + 35) / 100, 9);
    expect(plan.savingUsd).toBeCloseTo((plan.atOnce.supplyUsd - plan.expected.supplyUsd) * 1.1, 9);
  });

  it('puts a partial first hour at its end, against the run it starts', () => {
    const plan = planCharge(input({ energyKwh: 15, prices: [9, 9, 9, 9, 9, 3, 1, 9, 9, 9, 9, 9, 9] }));
    expect(plan.slots.map((slot) => [(slot.hourEndingMs - NOW) / HOUR_MS, slot.energyKwh])).toEqual([
      [6, 5],
      [7, 10],
    ]);
    expect(plan.runs).toEqual([{ startMs: NOW + 5.5 * HOUR_MS, endMs: NOW + 7 * HOUR_MS }]);
  });

  it('draws a partial hour on its own at its end, so the re-plans see its prices first', () => {
    // 5 kWh at 10 kW: half of the cheapest hour, its second half; in the running hour too.
    const later = planCharge(input({ energyKwh: 5 }));
    expect(later.runs).toEqual([{ startMs: NOW + 6.5 * HOUR_MS, endMs: NOW + 7 * HOUR_MS }]);
    const running = planCharge(input({ energyKwh: 5, prices: [1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9] }));
    expect(running.runs).toEqual([{ startMs: NOW + 0.5 * HOUR_MS, endMs: NOW + HOUR_MS }]);
    expect(running.chargeNow).toBe(false);
  });

  it('charges at once when waiting would miss the buffer, and says what the departure lacks', () => {
    const late = planCharge(
      input({ nowMs: DEPARTURE - 3 * HOUR_MS, energyKwh: 28, rules: { ...DEFAULT_PLAN_RULES, bufferMs: 30 * 60_000 } }),
    );
    expect(late.mode).toBe('deadline');
    expect(late.chargeNow).toBe(true);
    expect(late.runs).toEqual([{ startMs: DEPARTURE - 3 * HOUR_MS, endMs: DEPARTURE - 12 * 60_000 }]);
    expect(late.shortfallKwh).toBe(0);
    const tooLate = planCharge(input({ nowMs: DEPARTURE - HOUR_MS, energyKwh: 28 }));
    expect(tooLate.mode).toBe('deadline');
    expect(tooLate.shortfallKwh).toBeCloseTo(18, 9);
  });

  it('charges in every hour under the "always" price, in time order, and never above the ceiling unless needed', () => {
    const always = planCharge(
      input({
        energyKwh: 20,
        prices: [2, 9, 9, 9, 9, 9, 1, 1, 9, 9, 9, 9, 9],
        rules: { ...DEFAULT_PLAN_RULES, bufferMs: 0, alwaysBelowCents: 2.5 },
      }),
    );
    expect(hoursOf(always)).toEqual([1, 7]);
    expect(always.slots.map((slot) => slot.reason)).toEqual(['always_below', 'always_below']);
    const ceiling = { ...DEFAULT_PLAN_RULES, bufferMs: 0, neverAboveCents: 5 };
    const capped = planCharge(
      input({ energyKwh: 20, prices: [9, 9, 4, 9, 9, 9, 9, 9, 9, 9, 9, 9, 8], rules: ceiling }),
    );
    // One hour under the ceiling: the rest must come from above it, the cheapest of those.
    expect(capped.slots.map((slot) => [(slot.hourEndingMs - NOW) / HOUR_MS, slot.reason])).toEqual([
      [3, 'cheapest'],
      [13, 'needed'],
    ]);
  });

  it('merges runs beyond the allowed number by the cheapest gap', () => {
    const prices = [1, 9, 1, 9, 1, 9, 1, 9, 9, 9, 9, 9, 9];
    const free = planCharge(
      input({ energyKwh: 40, prices, rules: { ...DEFAULT_PLAN_RULES, bufferMs: 0, maxRuns: 10 } }),
    );
    expect(free.runs).toHaveLength(4);
    const two = planCharge(input({ energyKwh: 40, prices, rules: { ...DEFAULT_PLAN_RULES, bufferMs: 0, maxRuns: 2 } }));
    expect(two.runs.length).toBeLessThanOrEqual(2);
    expect(two.expected.energyKwh).toBeCloseTo(40, 9);
    expect(two.expected.supplyUsd).toBeGreaterThan(free.expected.supplyUsd);
    expect(two.expected.totalUsd).toBeLessThanOrEqual(two.atOnce.totalUsd);
  });

  it('uses hours without an estimate only when the departure needs them', () => {
    const sparse = estimates([5, 5, 5]);
    const plan = planCharge(input({ energyKwh: 50, estimates: sparse }));
    expect(plan.expected.energyKwh).toBeCloseTo(50, 9);
    expect(plan.slots.filter((slot) => slot.priceCentsPerKwh === null).every((slot) => slot.reason === 'needed')).toBe(
      true,
    );
  });

  it('keeps its invariants on random nights: on time, the need met, never dearer than at once, the ceiling kept', () => {
    let state = 12345;
    const random = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    for (let trial = 0; trial < 300; trial++) {
      const prices = Array.from({ length: 16 }, () => Math.round((random() * 12 - 2) * 10) / 10);
      const rules = {
        alwaysBelowCents: random() < 0.3 ? Math.round(random() * 30) / 10 : null,
        neverAboveCents: random() < 0.5 ? Math.round((2 + random() * 6) * 10) / 10 : null,
        bufferMs: Math.round(random() * 4) * 15 * 60_000,
        maxRuns: 1 + Math.floor(random() * 4),
      };
      const nowMs = NOW + Math.round(random() * 50) * 60_000;
      const energyKwh = Math.round(random() * 1200) / 10;
      // Re-plans of a car charging, of one waiting, and first plans.
      const charging = [undefined, true, false][trial % 3];
      const plan = planCharge(input({ nowMs, energyKwh, prices, powerKw: 7 + random() * 5, rules, charging }));
      const label = JSON.stringify({ trial, prices, rules, energyKwh, charging });
      if (plan.mode === 'planned') {
        expect(plan.expected.energyKwh, label).toBeCloseTo(energyKwh, 6);
        expect(
          plan.slots.every((slot) => slot.startMs >= nowMs && slot.endMs <= plan.deadlineMs),
          label,
        ).toBe(true);
        expect(plan.expected.totalUsd, label).toBeLessThanOrEqual(plan.atOnce.totalUsd + 1e-9);
        // Runs are merged as far as the price rules allow: without rules, never more than allowed.
        if (rules.neverAboveCents === null && rules.alwaysBelowCents === null) {
          expect(plan.runs.length, label).toBeLessThanOrEqual(Math.max(rules.maxRuns, 1));
        }
        if (
          rules.neverAboveCents !== null &&
          plan.slots.some((slot) => (slot.priceCentsPerKwh ?? 0) > (rules.neverAboveCents as number))
        ) {
          // Above the ceiling only when the hours under it could not hold the need.
          const underCeiling = plan.slots
            .filter((slot) => (slot.priceCentsPerKwh ?? Number.POSITIVE_INFINITY) <= (rules.neverAboveCents as number))
            .reduce((sum, slot) => sum + slot.energyKwh, 0);
          expect(underCeiling, label).toBeLessThan(energyKwh);
        }
      } else {
        expect(plan.runs.length, label).toBe(1);
        expect(plan.chargeNow, label).toBe(true);
      }
      expect(plan.savingUsd, label).toBeGreaterThanOrEqual(0);
      // Slots never overlap, and each fits its hour.
      for (const [i, slot] of plan.slots.entries()) {
        expect(slot.endMs, label).toBeLessThanOrEqual(slot.hourEndingMs);
        expect(slot.startMs, label).toBeGreaterThanOrEqual(slot.hourEndingMs - HOUR_MS);
        if (i > 0) expect(slot.startMs, label).toBeGreaterThanOrEqual((plan.slots[i - 1] as { endMs: number }).endMs);
      }
    }
  });

  it('holds the running hour to what the car is doing unless another hour beats it by the margin', () => {
    // 10 kWh: the running hour at 3.1 against one at 3 later in the night.
    const prices = [3.1, 9, 9, 9, 9, 3, 9, 9, 9, 9, 9, 9, 9];
    const first = planCharge(input({ energyKwh: 10, prices }));
    expect(hoursOf(first)).toEqual([6]);
    // Charging already: staying costs 0.1 cent per kWh more, under the margin, so the car is not stopped.
    const charging = planCharge(input({ energyKwh: 10, prices, charging: true }));
    expect(hoursOf(charging)).toEqual([1]);
    expect(charging.chargeNow).toBe(true);
    // Its price is what it is: the plan costs the running hour at its estimate.
    expect(charging.expected.supplyUsd).toBeCloseTo(0.31, 9);
    // Waiting: the running hour must be cheaper by the margin before the car is started in it.
    // (20 kWh, two hours: charging at once would take the dear second hour too.)
    const cheaper = [2.9, 9, 9, 9, 9, 3, 9, 3.05, 9, 9, 9, 9, 9];
    expect(hoursOf(planCharge(input({ energyKwh: 20, prices: cheaper, charging: false })))).toEqual([6, 8]);
    expect(hoursOf(planCharge(input({ energyKwh: 20, prices: cheaper })))).toEqual([1, 6]);
    const muchCheaper = [2.5, ...cheaper.slice(1)];
    expect(hoursOf(planCharge(input({ energyKwh: 20, prices: muchCheaper, charging: false })))).toEqual([1, 6]);
    // A better hour by more than the margin stops the car.
    const dearer = [3.5, ...prices.slice(1)];
    expect(hoursOf(planCharge(input({ energyKwh: 10, prices: dearer, charging: true })))).toEqual([6]);
    // The margin is a rule: none, and the cheaper hour wins at once.
    const rules = { ...DEFAULT_PLAN_RULES, bufferMs: 0, switchMarginCents: 0 };
    expect(hoursOf(planCharge(input({ energyKwh: 10, prices, charging: true, rules })))).toEqual([6]);
  });

  it('is optimal without rules: the cost of the cheapest hours, whatever their order', () => {
    const prices = [6, 3, 8, 1, 7, 2, 9, 4, 5, 0.5, 6, 7, 8];
    const plan = planCharge(
      input({ energyKwh: 35, prices, rules: { ...DEFAULT_PLAN_RULES, bufferMs: 0, maxRuns: 20 } }),
    );
    const [first, second, third, fourth] = [...prices].sort((a, b) => a - b) as [number, number, number, number];
    expect(plan.expected.supplyUsd).toBeCloseTo((10 * first + 10 * second + 10 * third + 5 * fourth) / 100, 9);
  });
});
