/**
 * The contract between prices and the session cost engine. A pricing provider
 * answers, for one 5-minute interval (named by its ComEd stamp, its start,
 * see comed-clock.ts), the supply price in cents per kWh, or undefined while
 * that price is not known yet (the cost is then provisional). It is
 * synchronous over prices loaded beforehand, so cost computation stays pure.
 */
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
