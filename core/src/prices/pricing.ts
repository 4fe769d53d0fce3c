/**
 * Prices for the session cost engine, in one place: the PricingProvider
 * contract, its implementations (ComEd hourly or 5-minute prices, a flat
 * rate, a time-of-use schedule) and the settings that choose one.
 *
 * A pricing provider answers, for one 5-minute interval (named by its ComEd
 * stamp, its start, see comed-clock.ts), the supply price in cents per kWh,
 * or undefined while that price is not known yet (the cost is then
 * provisional). It is synchronous over prices loaded beforehand, so cost
 * computation stays pure.
 */
import { CHICAGO_TIME_ZONE, isValidTimeZone, wallClockAt } from '../time/wall-clock.js';
import { hourEndingOf, intervalAt } from './comed-clock.js';
import type { PricePoint } from './comed-parse.js';
import { type HourlyPrice, hourlyAggregates, isCompleteHour } from './hourly.js';
import { parseTouSchedule, type TouPeriod, type TouSchedule, WEEKDAY_NAMES } from './tariff.js';

export interface PricingProvider {
  readonly kind: 'comed' | 'flat' | 'tou';
  /** A short human description, e.g. "ComEd hourly average". */
  readonly description: string;
  supplyCentsPerKwh(intervalStartMs: number): number | undefined;
}

/**
 * What a kWh costs beyond the supply price. ComEd's hourly price is supply
 * only: delivery, transmission and riders are billed per kWh on top, taxes as
 * a percentage, plus a fixed monthly customer charge.
 */
export interface Tariff {
  /** Delivery (distribution and transmission), cents per kWh. */
  deliveryCentsPerKwh: number;
  /** Other per-kWh riders and charges, cents per kWh. */
  otherCentsPerKwh: number;
  /** Taxes as a percentage of supply plus per-kWh charges (e.g. 7.5). */
  taxPercent: number;
  /** Fixed monthly charge in USD (not attributed to sessions). */
  monthlyFixedUsd: number;
  /** The flat rate, all-in cents per kWh, that savings are measured against. */
  flatRateCentsPerKwh: number;
}

/** Per-kWh adders of a tariff, cents per kWh, before tax. */
export function addersCentsPerKwh(tariff: Tariff): number {
  return tariff.deliveryCentsPerKwh + tariff.otherCentsPerKwh;
}

export type ComedPriceBasis = 'hourly' | 'five-minute';

/**
 * An hour still short of its twelve prices is not final when it ends: ComEd
 * sometimes leaves intervals out and fills them later (the poller's daily
 * check re-fetches them), and a poll can miss the hour's last price when the
 * feed is down. A day after its end, an hour ComEd never completed is billed
 * on the prices it did publish. (A complete hour is final as soon as it
 * ends: its twelfth price is stamped, and posted, five minutes before.)
 */
export const INCOMPLETE_HOUR_FINAL_AFTER_MS = 24 * 60 * 60 * 1000;

export interface ComedProviderOptions {
  prices: readonly PricePoint[];
  /** 'hourly' (default) is what ComEd bills: each interval pays its hour's average. */
  basis?: ComedPriceBasis;
  /** The time the answer is given at: an hour short of prices becomes final a day after it ends. */
  asOfMs: number;
}

/**
 * ComEd prices. On the hourly basis an interval's supply price is the
 * average of its hour, known once all twelve prices are in; until then
 * undefined (provisional). An hour ComEd never completed averages the prices
 * it did publish, from a day after its end (INCOMPLETE_HOUR_FINAL_AFTER_MS).
 * On the five-minute basis, the interval's own price, undefined when ComEd
 * has none for it.
 */
export function createComedProvider(options: ComedProviderOptions): PricingProvider {
  const basis = options.basis ?? 'hourly';
  const { asOfMs } = options;
  if (basis === 'five-minute') {
    const byStamp = new Map(options.prices.map((point) => [point.timeMs, point.priceCentsPerKwh]));
    return {
      kind: 'comed',
      description: 'ComEd 5-minute price',
      supplyCentsPerKwh: (intervalStartMs) => byStamp.get(intervalAt(intervalStartMs)),
    };
  }
  const byHour = new Map<number, HourlyPrice>(
    hourlyAggregates(options.prices).map((hour) => [hour.hourEndingMs, hour]),
  );
  return {
    kind: 'comed',
    description: 'ComEd hourly average',
    supplyCentsPerKwh(intervalStartMs) {
      const hourEndingMs = hourEndingOf(intervalStartMs);
      const hour = byHour.get(hourEndingMs);
      if (!hour) return undefined;
      if (isCompleteHour(hour) || asOfMs >= hourEndingMs + INCOMPLETE_HOUR_FINAL_AFTER_MS) return hour.avgPrice;
      return undefined;
    },
  };
}

/** One supply price for every interval. */
export function createFlatProvider(centsPerKwh: number): PricingProvider {
  if (!Number.isFinite(centsPerKwh)) throw new RangeError(`flat price must be a finite number, got ${centsPerKwh}`);
  return {
    kind: 'flat',
    description: `flat ${centsPerKwh} cents/kWh`,
    supplyCentsPerKwh: () => centsPerKwh,
  };
}

function inWrappingRange(value: number, from: number, toInclusive: number): boolean {
  return from <= toInclusive ? value >= from && value <= toInclusive : value >= from || value <= toInclusive;
}

function periodMatches(period: TouPeriod, month: number, weekday: number, hour: number): boolean {
  if (period.months && !inWrappingRange(month, period.months.from, period.months.to)) return false;
  if (period.weekdays && !period.weekdays.includes(WEEKDAY_NAMES[weekday] ?? 'sun')) return false;
  if (period.hours && !inWrappingRange(hour, period.hours.from, period.hours.to - 1)) return false;
  return true;
}

/**
 * Time-of-use prices: periods by season (months), weekday and hour of day,
 * in local time of `timeZone` (default: the schedule's `timeZone`, then
 * Chicago), the first matching period wins, the default price otherwise.
 * An interval is placed by the local time at its start, so the interval
 * 13:55-14:00 belongs to hour 13; local time comes from Intl, so a period
 * keeps its wall-clock hours across DST changes.
 */
export function createTouProvider(schedule: TouSchedule, timeZone?: string): PricingProvider {
  // Validated again: a schedule can come straight from a parsed file or from code.
  const parsed = parseTouSchedule(schedule);
  const zone = timeZone ?? parsed.timeZone ?? CHICAGO_TIME_ZONE;
  if (!isValidTimeZone(zone)) throw new RangeError(`unknown time zone "${zone}"`);
  return {
    kind: 'tou',
    description: `time-of-use (${parsed.periods.length} periods, ${zone})`,
    supplyCentsPerKwh(intervalStartMs) {
      const local = wallClockAt(intervalAt(intervalStartMs), zone);
      const period = parsed.periods.find((candidate) =>
        periodMatches(candidate, local.month, local.weekday, local.hour),
      );
      return period ? period.centsPerKwh : parsed.defaultCentsPerKwh;
    },
  };
}

/** Which prices sessions are costed at. */
export type PricingSettings =
  | { kind: 'comed'; basis: ComedPriceBasis; tariff: Tariff }
  | { kind: 'flat'; supplyCentsPerKwh: number; tariff: Tariff }
  | { kind: 'tou'; schedule: TouSchedule; timeZone: string; tariff: Tariff };

/** The provider for one computation: ComEd's over the prices loaded for it, as known at `asOfMs`. */
export function providerFor(settings: PricingSettings, prices: readonly PricePoint[], asOfMs: number): PricingProvider {
  switch (settings.kind) {
    case 'comed':
      return createComedProvider({ prices, basis: settings.basis, asOfMs });
    case 'flat':
      return createFlatProvider(settings.supplyCentsPerKwh);
    case 'tou':
      return createTouProvider(settings.schedule, settings.timeZone);
  }
}
