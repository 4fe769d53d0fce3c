import { hourEndingFor, intervalEndsInHour } from '../../src/prices/intervals.js';
import type { PricingProvider, Tariff } from '../../src/prices/provider.js';

/** 5-minute prices, cents per kWh, keyed by interval end (ms): a literal test input. */
export type PriceTable = Record<number, number>;

/** The twelve prices of the hour ending `hourEndMs`, oldest first, as a table. */
export function hourOfPrices(hourEndMs: number, prices: number[]): PriceTable {
  if (prices.length !== 12) throw new Error(`an hour has 12 prices, got ${prices.length}`);
  return Object.fromEntries(intervalEndsInHour(hourEndMs).map((endMs, i) => [endMs, prices[i] as number]));
}

/** ComEd five-minute basis: each interval at its own price. */
export function fiveMinuteProvider(table: PriceTable): PricingProvider {
  return {
    kind: 'comed',
    description: 'test five-minute prices',
    supplyCentsPerKwh: (intervalEndMs) => table[intervalEndMs],
  };
}

/** ComEd hourly basis: each interval at its hour's average, known once all twelve prices are. */
export function hourlyProvider(table: PriceTable): PricingProvider {
  return {
    kind: 'comed',
    description: 'test hourly average prices',
    supplyCentsPerKwh: (intervalEndMs) => {
      const prices = intervalEndsInHour(hourEndingFor(intervalEndMs)).map((endMs) => table[endMs]);
      if (prices.some((price) => price === undefined)) return undefined;
      return (prices as number[]).reduce((sum, price) => sum + price, 0) / prices.length;
    },
  };
}

export function tariff(fields: Partial<Tariff> = {}): Tariff {
  return {
    deliveryCentsPerKwh: 0,
    otherCentsPerKwh: 0,
    taxPercent: 0,
    monthlyFixedUsd: 0,
    flatRateCentsPerKwh: 0,
    ...fields,
  };
}

/** Delivery 6 + other 1 = 7 cents/kWh of adders, 10 % tax, 15 cents/kWh flat. */
export const WITH_ADDERS = tariff({
  deliveryCentsPerKwh: 6,
  otherCentsPerKwh: 1,
  taxPercent: 10,
  monthlyFixedUsd: 15,
  flatRateCentsPerKwh: 15,
});
export const SUPPLY_ONLY = tariff();
