/**
 * The user's smart-charging settings (contracts/redis.ts `PlanSettings`) as
 * the planner uses them: the rules, the weekly departures, the energy a
 * charge needs. Pure.
 */
import type { z } from 'zod';
import { type PlanSettings, type PlanState, planSettingsSchema } from '../contracts/redis.js';
import type { ChargePlan, PlanCost, PlanRules } from './charge-plan.js';
import type { LocalTime, WeeklySchedule } from './departure.js';

/** Weekdays ready by 07:00, weekends free, 30 kWh when the car cannot say, smart charging on. */
export function defaultPlanSettings(nowMs: number): PlanSettings {
  return {
    smart_charging: true,
    target: { unit: 'kwh', value: 30 },
    ready_by: [null, '07:00', '07:00', '07:00', '07:00', '07:00', null],
    departure_override: null,
    always_below_cents_kwh: null,
    never_above_cents_kwh: null,
    buffer_min: 30,
    max_runs: 3,
    charge_now: false,
    updated: new Date(nowMs).toISOString(),
  };
}

/** A change of some settings, as the API and Home Assistant send it: any field but `updated`. */
export const planSettingsChangeSchema = planSettingsSchema.omit({ updated: true }).partial().strict();
export type PlanSettingsChange = z.infer<typeof planSettingsChangeSchema>;

export function changedSettings(current: PlanSettings, change: PlanSettingsChange, nowMs: number): PlanSettings {
  return { ...current, ...change, updated: new Date(nowMs).toISOString() };
}

export function scheduleOf(settings: PlanSettings): WeeklySchedule {
  return settings.ready_by.map((time): LocalTime | null => {
    if (time === null) return null;
    const [hour, minute] = time.split(':').map(Number) as [number, number];
    return { hour, minute };
  });
}

export function rulesOf(settings: PlanSettings): PlanRules {
  return {
    alwaysBelowCents: settings.always_below_cents_kwh,
    neverAboveCents: settings.never_above_cents_kwh,
    bufferMs: settings.buffer_min * 60_000,
    maxRuns: settings.max_runs,
  };
}

/** What the car says of its battery, where the controller can read it. */
export interface CarBattery {
  batteryLevelPct: number | null;
  chargeLimitPct: number | null;
  usableCapacityKwh: number | null;
}

export interface EnergyNeed {
  energyKwh: number;
  from: 'car' | 'target';
  batteryLevelPct: number | null;
  chargeLimitPct: number | null;
}

/**
 * The energy still to draw from the wall. From the car's state of charge and
 * limit when it can be read (battery energy over the charging efficiency);
 * else the user's target less what this session has delivered (a target in
 * percent counts on the configured capacity and an empty-enough battery).
 */
export function energyNeeded(input: {
  settings: PlanSettings;
  car: CarBattery | undefined;
  /** Energy the session has delivered since plug-in, kWh. */
  sessionKwh: number;
  /** Usable capacity to assume when the car does not tell it, kWh. */
  capacityKwh: number;
  /** Battery energy per wall energy, 0 to 1. */
  efficiency: number;
}): EnergyNeed {
  const { car, settings } = input;
  if (car && car.batteryLevelPct !== null && car.chargeLimitPct !== null) {
    const capacity = car.usableCapacityKwh ?? input.capacityKwh;
    const battery = (Math.max(0, car.chargeLimitPct - car.batteryLevelPct) / 100) * capacity;
    return {
      energyKwh: battery / input.efficiency,
      from: 'car',
      batteryLevelPct: car.batteryLevelPct,
      chargeLimitPct: car.chargeLimitPct,
    };
  }
  const targetKwh =
    settings.target.unit === 'kwh'
      ? settings.target.value
      : ((Math.min(100, settings.target.value) / 100) * input.capacityKwh) / input.efficiency;
  return {
    energyKwh: Math.max(0, targetKwh - input.sessionKwh),
    from: 'target',
    batteryLevelPct: null,
    chargeLimitPct: null,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

function costPayload(cost: PlanCost) {
  return {
    energy_kwh: round(cost.energyKwh, 3),
    total_usd: round(cost.totalUsd, 4),
    avg_price_cents_kwh: cost.avgPriceCentsPerKwh === null ? null : round(cost.avgPriceCentsPerKwh, 3),
  };
}

/** A plan as the planner publishes it. */
export function planPayload(plan: ChargePlan): NonNullable<PlanState['plan']> {
  return {
    computed_at: iso(plan.computedAtMs),
    mode: plan.mode,
    runs: plan.runs.map((run) => ({ start: iso(run.startMs), end: iso(run.endMs) })),
    slots: plan.slots.map((slot) => ({
      start: iso(slot.startMs),
      end: iso(slot.endMs),
      hour_ending: iso(slot.hourEndingMs),
      energy_kwh: round(slot.energyKwh, 3),
      price_cents_kwh: slot.priceCentsPerKwh === null ? null : round(slot.priceCentsPerKwh, 3),
      source: slot.source,
      reason: slot.reason,
    })),
    expected: costPayload(plan.expected),
    at_once: costPayload(plan.atOnce),
    saving_usd: round(plan.savingUsd, 4),
    shortfall_kwh: round(plan.shortfallKwh, 3),
  };
}

/** The planner rewrites each charger's state at least every minute or so; older than this, it is not running. */
export const PLAN_STALE_MS = 180_000;

/** Whether a planner state is too old to stand, judged by the reader's clock (a missing one is stale). */
export function isPlanStale(state: Pick<PlanState, 'updated'> | undefined, nowMs: number): boolean {
  if (!state) return true;
  const updatedMs = Date.parse(state.updated);
  return !Number.isFinite(updatedMs) || nowMs - updatedMs > PLAN_STALE_MS;
}
