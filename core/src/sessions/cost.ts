/**
 * What a session cost: each 5-minute interval's energy at the price the
 * provider gives for that interval (the interval's own price on ComEd's
 * five-minute basis, the hour's average on the hourly basis the bill uses),
 * plus the tariff's per-kWh adders, plus tax as a percentage of both. The
 * average price is energy-weighted (supply cost over kWh): averaging price
 * samples would weigh a minute of trickle charging like a minute at 11 kW.
 */
import { hourEndingOf } from '../prices/comed-clock.js';
import { addersCentsPerKwh, type PricingProvider, type Tariff } from '../prices/pricing.js';
import type { IntervalEnergy } from './interval-energy.js';
import { energyCostMicroUsd, microToUsd, roundMicroUsd, taxMicroUsd } from './money.js';

export interface CostTotals {
  energyWh: number;
  /** Energy in intervals whose price is not known yet: it carries adders and tax but no supply cost. */
  unpricedEnergyWh: number;
  /** Energy-weighted average supply price of the priced energy; null when none is priced. */
  avgPriceCentsKwh: number | null;
  supplyCostUsd: number;
  addersCostUsd: number;
  taxUsd: number;
  totalCostUsd: number;
  /** True while some energy has no price yet: recompute when the price arrives. */
  provisional: boolean;
}

export interface HourCost extends CostTotals {
  /** ComEd's "hour ending" label of the hour, UTC milliseconds. */
  hourEndingMs: number;
}

export interface SessionCost extends CostTotals {
  /** One entry per hour that holds energy, oldest first; the parts add up to the totals exactly. */
  hours: HourCost[];
}

interface HourAccumulator {
  hourEndingMs: number;
  energyWh: number;
  pricedEnergyWh: number;
  unpricedEnergyWh: number;
  supplyMicroUsd: number;
}

/**
 * Prices a session's energy per interval. Each hour's figures are rounded to
 * whole micro-dollars and the session's are their sums, so the hours add up to
 * the totals exactly. Tax is a percentage of supply plus adders; a negative
 * base (a deeply negative price) gives negative tax, as the formula says.
 */
export function costSession(
  energyByInterval: readonly IntervalEnergy[],
  provider: PricingProvider,
  tariff: Tariff,
): SessionCost {
  const adders = addersCentsPerKwh(tariff);
  const byHour = new Map<number, HourAccumulator>();
  for (const { startMs, energyWh } of energyByInterval) {
    if (!Number.isFinite(energyWh)) {
      throw new RangeError(`cost: energy of the interval stamped ${startMs} is not a finite number: ${energyWh}`);
    }
    if (energyWh === 0) continue;
    const hourEndingMs = hourEndingOf(startMs);
    let hour = byHour.get(hourEndingMs);
    if (!hour) {
      hour = { hourEndingMs, energyWh: 0, pricedEnergyWh: 0, unpricedEnergyWh: 0, supplyMicroUsd: 0 };
      byHour.set(hourEndingMs, hour);
    }
    hour.energyWh += energyWh;
    const price = provider.supplyCentsPerKwh(startMs);
    if (price === undefined) {
      hour.unpricedEnergyWh += energyWh;
    } else if (!Number.isFinite(price)) {
      throw new RangeError(`cost: ${provider.description} gave a non-finite price for ${startMs}: ${price}`);
    } else {
      hour.pricedEnergyWh += energyWh;
      hour.supplyMicroUsd += energyCostMicroUsd(energyWh, price);
    }
  }

  const hours: HourCost[] = [];
  const sums = {
    energyWh: 0,
    pricedEnergyWh: 0,
    unpricedEnergyWh: 0,
    supplyRawMicroUsd: 0,
    supply: 0,
    adders: 0,
    tax: 0,
  };
  for (const hour of [...byHour.values()].sort((a, b) => a.hourEndingMs - b.hourEndingMs)) {
    const supply = roundMicroUsd(hour.supplyMicroUsd);
    const addersMicro = roundMicroUsd(energyCostMicroUsd(hour.energyWh, adders));
    const tax = taxMicroUsd(supply + addersMicro, tariff.taxPercent);
    hours.push({
      hourEndingMs: hour.hourEndingMs,
      ...totals(hour, supply, addersMicro, tax),
    });
    sums.energyWh += hour.energyWh;
    sums.pricedEnergyWh += hour.pricedEnergyWh;
    sums.unpricedEnergyWh += hour.unpricedEnergyWh;
    sums.supplyRawMicroUsd += hour.supplyMicroUsd;
    sums.supply += supply;
    sums.adders += addersMicro;
    sums.tax += tax;
  }
  return {
    ...totals(
      {
        energyWh: sums.energyWh,
        pricedEnergyWh: sums.pricedEnergyWh,
        unpricedEnergyWh: sums.unpricedEnergyWh,
        supplyMicroUsd: sums.supplyRawMicroUsd,
      },
      sums.supply,
      sums.adders,
      sums.tax,
    ),
    hours,
  };
}

/** `energy.supplyMicroUsd` is unrounded (for the average price); the other figures are whole micro-dollars. */
function totals(
  energy: Omit<HourAccumulator, 'hourEndingMs'>,
  supplyMicroUsd: number,
  addersMicroUsd: number,
  taxMicroUsd: number,
): CostTotals {
  return {
    energyWh: energy.energyWh,
    unpricedEnergyWh: energy.unpricedEnergyWh,
    // micro-USD / (Wh x 10) = cents per kWh
    avgPriceCentsKwh: energy.pricedEnergyWh !== 0 ? energy.supplyMicroUsd / (energy.pricedEnergyWh * 10) : null,
    supplyCostUsd: microToUsd(supplyMicroUsd),
    addersCostUsd: microToUsd(addersMicroUsd),
    taxUsd: microToUsd(taxMicroUsd),
    totalCostUsd: microToUsd(supplyMicroUsd + addersMicroUsd + taxMicroUsd),
    provisional: energy.unpricedEnergyWh > 0,
  };
}
