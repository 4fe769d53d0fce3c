/**
 * Money is carried as whole micro-dollars (1e-6 USD) from the point where a
 * figure is first rounded, so that sums of rounded parts equal the rounded
 * whole exactly and an hourly breakdown adds up to the session total to the
 * cent. Prices are cents per kWh and energy Wh: Wh x cents/kWh x 10 = micro-USD.
 */

/** Micro-dollars, unrounded, for `energyWh` at `centsPerKwh`. */
export function energyCostMicroUsd(energyWh: number, centsPerKwh: number): number {
  return energyWh * centsPerKwh * 10;
}

/** Rounds a micro-dollar figure to a whole micro-dollar; never returns -0. */
export function roundMicroUsd(microUsd: number): number {
  return Math.round(microUsd) + 0;
}

/** Micro-dollars to USD. */
export function microToUsd(microUsd: number): number {
  return microUsd / 1_000_000;
}

/** Tax on `baseMicroUsd` at `taxPercent`, rounded to a whole micro-dollar. */
export function taxMicroUsd(baseMicroUsd: number, taxPercent: number): number {
  return roundMicroUsd((baseMicroUsd * taxPercent) / 100);
}
