/**
 * The ComEd stand-in's prices: deterministic for a seed, shaped like a real
 * Chicago year closely enough for the product's forward-looking parts to be
 * tried on them. Each hour has a level of its own (a daily shape by local
 * hour, a season, weekends lower, a level per day, a deviation per hour), the
 * 5-minute prices scatter around it, nights sometimes go negative and a rare
 * interval spikes. The day-ahead price of an hour is what a market would have
 * expected the day before: the same shape, season and day level, with the
 * errors of a forecast, and none of the realized hour's own deviation,
 * scatter or spikes.
 */
import { CHICAGO_TIME_ZONE, wallClockAt } from '@twc/core/time/wall-clock';

const FIVE_MINUTES_MS = 5 * 60_000;
const HOUR_MS = 60 * 60_000;

/** A 32-bit integer hash of the seed and an index (a splitmix-like finalizer), as a fraction in [0, 1). */
export function unitHash(seed: number, index: number, salt: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + salt * 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/** Cents per kWh by local hour of day (the hour starting then): low at night, a morning bump, an evening peak. */
const DAILY_SHAPE = [
  2.3, 2.0, 1.8, 1.7, 1.8, 2.2, 3.0, 3.9, 4.2, 3.8, 3.5, 3.4, 3.4, 3.5, 3.8, 4.4, 5.3, 6.2, 6.5, 5.7, 4.7, 3.9, 3.2,
  2.7,
];
/** By month, January first: summer afternoons and winter cold snaps cost more. */
const SEASON = [1.15, 1.1, 0.95, 0.85, 0.9, 1.1, 1.35, 1.35, 1.05, 0.9, 0.95, 1.1];
const WEEKEND_DAYTIME = 0.85;

interface HourModel {
  /** The level the hour's prices scatter around, as realized. */
  realized: number;
  /** What was expected for the hour the day before. */
  expected: number;
  localHour: number;
}

/** Salts keep the hashes of different draws apart. */
const SALT = {
  scatter: 1,
  spike: 2,
  spikeSize: 3,
  dayLevel: 4,
  hourDeviation: 5,
  dayError: 6,
  hourError: 7,
  negative: 8,
};

function hourModel(seed: number, hourStartMs: number): HourModel {
  const local = wallClockAt(hourStartMs, CHICAGO_TIME_ZONE);
  const dayIndex = Math.floor(Date.UTC(local.year, local.month - 1, local.day) / (24 * HOUR_MS));
  const hourIndex = Math.floor(hourStartMs / HOUR_MS);
  const weekend = local.weekday === 0 || local.weekday === 6;
  const base =
    (DAILY_SHAPE[local.hour] as number) *
    (SEASON[local.month - 1] as number) *
    (weekend && local.hour >= 7 && local.hour < 22 ? WEEKEND_DAYTIME : 1);
  const dayLevel = 0.75 + 0.6 * unitHash(seed, dayIndex, SALT.dayLevel);
  const hourDeviation = 1 + (unitHash(seed, hourIndex, SALT.hourDeviation) - 0.5) * 0.5;
  const dayError = 1 + (unitHash(seed, dayIndex, SALT.dayError) - 0.5) * 0.2;
  const hourError = 1 + (unitHash(seed, hourIndex, SALT.hourError) - 0.5) * 0.2;
  return {
    realized: base * dayLevel * hourDeviation,
    expected: base * dayLevel * dayError * hourError,
    localHour: local.hour,
  };
}

const toTenth = (cents: number) => {
  const rounded = Math.round(cents * 10) / 10;
  return rounded === 0 ? 0 : rounded;
};

/** Windy nights push prices below zero now and then: what that takes off the price stamped `stampMs` (0 in most hours). */
function windyNightCents(seed: number, stampMs: number, localHour: number): number {
  if (localHour >= 6 || unitHash(seed, Math.floor(stampMs / HOUR_MS), SALT.negative) >= 0.08) return 0;
  return 1.5 + 2 * unitHash(seed, Math.floor(stampMs / FIVE_MINUTES_MS), SALT.negative);
}

/**
 * What a windy night takes off the 5-minute price stamped `stampMs`, cents
 * per kWh: 0 in most hours. For analyses of what a planner could have done
 * had it known; the product never sees it.
 */
export function windyNightOffsetCents(seed: number, stampMs: number): number {
  const hourStartMs = Math.floor(stampMs / HOUR_MS) * HOUR_MS;
  return windyNightCents(seed, stampMs, wallClockAt(hourStartMs, CHICAGO_TIME_ZONE).hour);
}

/** The 5-minute price stamped `stampMs` (the start of its interval), cents per kWh to 0.1 as ComEd publishes. */
export function generatedPriceCents(seed: number, stampMs: number): number {
  const index = Math.floor(stampMs / FIVE_MINUTES_MS);
  const hour = hourModel(seed, Math.floor(stampMs / HOUR_MS) * HOUR_MS);
  // Five-minute prices move a lot within an hour (real ones differ by a cent or more from one to the next).
  let cents = hour.realized + (unitHash(seed, index, SALT.scatter) - 0.5) * 4;
  cents -= windyNightCents(seed, stampMs, hour.localHour);
  if (unitHash(seed, index, SALT.spike) < 0.002) cents = 20 + unitHash(seed, index, SALT.spikeSize) * 80;
  return toTenth(cents);
}

/** The day-ahead price of the hour ending `hourEndingMs`, cents per kWh to 0.1. */
export function generatedDayAheadCents(seed: number, hourEndingMs: number): number {
  return toTenth(hourModel(seed, hourEndingMs - HOUR_MS).expected);
}
