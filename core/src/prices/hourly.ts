/**
 * Hourly aggregation of 5-minute prices: the hourly price ComEd bills is the
 * average of the twelve 5-minute prices of the hour ending H, stamped
 * H - 60 min through H - 5 min (comed-clock.ts).
 */

import { hourEndingOf, PRICES_PER_HOUR } from './comed-clock.js';
import type { PricePoint } from './comed-parse.js';

/** One hour of prices, cents per kWh. Complete when `count` is 12. */
export interface HourlyPrice {
  /** The end of the hour (ComEd's "hour ending"). */
  hourEndingMs: number;
  avgPrice: number;
  minPrice: number;
  maxPrice: number;
  /** How many 5-minute prices are behind the average. */
  count: number;
}

/**
 * Prices are summed as integers in millionths of a cent (ComEd publishes at
 * most a few decimals, so the conversion is exact), and the average is a
 * single rounded division to billionths of a cent. Summing floats instead
 * would drift: 0.1 + 0.2 + ... is not exactly what a bill shows.
 */
const MICRO = 1_000_000;
const AVERAGE_DECIMALS = 1_000_000_000;

/** The average of `values` to 1e-9 (ties round toward +infinity), free of float-summation drift. */
export function exactAverage(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('average of no values');
  let sumMicro = 0;
  for (const value of values) sumMicro += Math.round(value * MICRO);
  // sumMicro * 1000 stays far below 2^53 for any real hour (twelve prices at
  // ComEd's $3.70/kWh cap are 4.4e9 micro-cents), so the division is the
  // only rounding step.
  return Math.round((sumMicro * (AVERAGE_DECIMALS / MICRO)) / values.length) / AVERAGE_DECIMALS;
}

/** Groups 5-minute prices by the hour they belong to (comed-clock.ts), oldest hour first. A repeated stamp counts once (the last wins). */
export function hourlyAggregates(prices: readonly PricePoint[]): HourlyPrice[] {
  const byStamp = new Map<number, number>();
  for (const point of prices) byStamp.set(point.timeMs, point.priceCentsPerKwh);

  const byHour = new Map<number, number[]>();
  for (const [timeMs, price] of byStamp) {
    const hourEndingMs = hourEndingOf(timeMs);
    const hour = byHour.get(hourEndingMs);
    if (hour) hour.push(price);
    else byHour.set(hourEndingMs, [price]);
  }

  return [...byHour.entries()]
    .sort(([a], [b]) => a - b)
    .map(([hourEndingMs, values]) => ({
      hourEndingMs,
      avgPrice: exactAverage(values),
      minPrice: Math.min(...values),
      maxPrice: Math.max(...values),
      count: values.length,
    }));
}

/** True when all twelve 5-minute prices of the hour are in. */
export function isCompleteHour(hour: HourlyPrice): boolean {
  return hour.count === PRICES_PER_HOUR;
}
