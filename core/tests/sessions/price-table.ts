import { hourEndingOf, stampsInHour } from '../../src/prices/comed-clock.js';
import type { PricingProvider, Tariff } from '../../src/prices/pricing.js';

/** 5-minute prices, cents per kWh, keyed by ComEd stamp (the interval's start, ms): a literal test input. */
export type PriceTable = Record<number, number>;

/** The twelve prices of the hour ending `hourEndMs` (stamped H-60 .. H-5 min), oldest first, as a table. */
export function hourOfPrices(hourEndMs: number, prices: number[]): PriceTable {
  if (prices.length !== 12) throw new Error(`an hour has 12 prices, got ${prices.length}`);
  return Object.fromEntries(stampsInHour(hourEndMs).map((stampMs, i) => [stampMs, prices[i] as number]));
}

/** ComEd five-minute basis: each interval at its own price. */
export function fiveMinuteProvider(table: PriceTable): PricingProvider {
  return {
    kind: 'comed',
    description: 'test five-minute prices',
    supplyCentsPerKwh: (intervalStartMs) => table[intervalStartMs],
  };
}

/** ComEd hourly basis: each interval at its hour's average, known once all twelve prices are. */
export function hourlyProvider(table: PriceTable): PricingProvider {
  return {
    kind: 'comed',
    description: 'test hourly average prices',
    supplyCentsPerKwh: (intervalStartMs) => {
      const prices = stampsInHour(hourEndingOf(intervalStartMs)).map((stampMs) => table[stampMs]);
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
