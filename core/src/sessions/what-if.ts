/**
 * "What if I had charged at 2 AM instead": the same charge moved to the
 * cheapest stretch of the time the car was plugged in, the same charge
 * started at plug-in (what a car does that nobody plans for: the saving smart
 * charging made), and the same energy at the tariff's flat rate, against
 * what the session really cost.
 */
import { FIVE_MINUTES_MS, intervalEnd, intervalOfReading } from '../prices/comed-clock.js';
import { addersCentsPerKwh, type PricingProvider, type Tariff } from '../prices/pricing.js';
import { cheapestWindow, type PriceSlot } from './cheapest-window.js';
import { costSession } from './cost.js';
import { energyCostMicroUsd, microToUsd, roundMicroUsd, taxMicroUsd } from './money.js';
import type { ChargingSession } from './session-machine.js';

export type WhatIfSession = Pick<
  ChargingSession,
  'startTimeMs' | 'endTimeMs' | 'lastSampleMs' | 'chargingS' | 'energyByInterval'
>;

export interface WhatIfResult {
  /** What the session cost (see cost.ts). */
  actualCostUsd: number;
  /** True when the actual cost, and so the savings, still miss some prices. */
  provisional: boolean;
  /** The cheapest place for the charge while the car was plugged in; undefined when none has known prices. */
  cheapestWindow:
    | { startMs: number; endMs: number; avgCentsPerKwh: number; supplyCostUsd: number; totalCostUsd: number }
    | undefined;
  /** The same energy at the tariff's all-in flat rate. */
  flatRateCostUsd: number;
  /** Actual minus cheapest: positive when charging in the cheapest window would have saved money; null while the actual cost misses prices. */
  savingVsCheapestUsd: number | null;
  /** Flat minus actual: positive when the hourly plan saved money on this session; null while the actual cost misses prices. */
  savingVsFlatUsd: number | null;
  /** The same charge started at plug-in, priced as the actual one; undefined when a price of it is unknown. */
  atPlugIn: { avgCentsPerKwh: number; totalCostUsd: number } | undefined;
  /** At plug-in minus actual: what waiting for cheaper hours saved; null while unknown or provisional. */
  savingVsPlugInUsd: number | null;
}

/**
 * The charge is moved as a block of whole 5-minute slots (prices come per
 * slot): its charging time rounded up to slots, with the energy spread evenly
 * over them, so its supply cost is energy x the window's average price. The
 * candidate slots are those the plugged-in time touches, the same intervals
 * the session's own energy is attributed to, so the actual charge is always
 * among the candidates. An open session is taken as plugged in until its
 * latest sample.
 */
export function whatIf(session: WhatIfSession, provider: PricingProvider, tariff: Tariff): WhatIfResult {
  const actual = costSession(session.energyByInterval, provider, tariff);
  const actualMicroUsd = Math.round(actual.totalCostUsd * 1_000_000);
  const energyWh = actual.energyWh;
  const flatMicroUsd = roundMicroUsd(energyCostMicroUsd(energyWh, tariff.flatRateCentsPerKwh));

  const plugInMs = session.startTimeMs;
  const unplugMs = session.endTimeMs ?? session.lastSampleMs;
  const durationSlots = Math.ceil((session.chargingS * 1000) / FIVE_MINUTES_MS);
  let cheapest: WhatIfResult['cheapestWindow'];
  let cheapestMicroUsd: number | undefined;
  let atPlugIn: WhatIfResult['atPlugIn'];
  let atPlugInMicroUsd: number | undefined;
  const allIn = (avgCentsPerKwh: number) => {
    const supplyMicroUsd = roundMicroUsd(energyCostMicroUsd(energyWh, avgCentsPerKwh));
    const addersMicroUsd = roundMicroUsd(energyCostMicroUsd(energyWh, addersCentsPerKwh(tariff)));
    return {
      supplyMicroUsd,
      totalMicroUsd: supplyMicroUsd + addersMicroUsd + taxMicroUsd(supplyMicroUsd + addersMicroUsd, tariff.taxPercent),
    };
  };
  if (durationSlots > 0 && energyWh > 0) {
    // The intervals energy could have been metered in while plugged in,
    // (plug-in, unplug]: the first holds the instant just after plug-in.
    const firstStartMs = intervalOfReading(plugInMs + 1);
    const lastStartMs = intervalOfReading(unplugMs);
    const slots: PriceSlot[] = [];
    for (let startMs = firstStartMs; startMs <= lastStartMs; startMs += FIVE_MINUTES_MS) {
      slots.push({ startMs, centsPerKwh: provider.supplyCentsPerKwh(startMs) });
    }
    const window = cheapestWindow(slots, durationSlots, {
      earliestStartMs: firstStartMs,
      deadlineMs: intervalEnd(lastStartMs),
    });
    // The same block of slots from plug-in on: the charge of a car left to itself.
    const first = slots.slice(0, durationSlots);
    if (first.length === durationSlots && first.every((slot) => slot.centsPerKwh !== undefined)) {
      const avgCentsPerKwh = first.reduce((sum, slot) => sum + (slot.centsPerKwh as number), 0) / durationSlots;
      atPlugInMicroUsd = allIn(avgCentsPerKwh).totalMicroUsd;
      atPlugIn = { avgCentsPerKwh, totalCostUsd: microToUsd(atPlugInMicroUsd) };
    }
    if (window) {
      const { supplyMicroUsd, totalMicroUsd } = allIn(window.avgCentsPerKwh);
      cheapestMicroUsd = totalMicroUsd;
      cheapest = {
        startMs: window.startMs,
        endMs: window.endMs,
        avgCentsPerKwh: window.avgCentsPerKwh,
        supplyCostUsd: microToUsd(supplyMicroUsd),
        totalCostUsd: microToUsd(cheapestMicroUsd),
      };
    }
  }

  return {
    actualCostUsd: actual.totalCostUsd,
    provisional: actual.provisional,
    cheapestWindow: cheapest,
    flatRateCostUsd: microToUsd(flatMicroUsd),
    // A saving against a cost that still misses prices would be a saving from nothing: none until it is whole.
    savingVsCheapestUsd:
      cheapestMicroUsd === undefined || actual.provisional ? null : microToUsd(actualMicroUsd - cheapestMicroUsd),
    savingVsFlatUsd: actual.provisional ? null : microToUsd(flatMicroUsd - actualMicroUsd),
    atPlugIn,
    savingVsPlugInUsd:
      atPlugInMicroUsd === undefined || actual.provisional ? null : microToUsd(atPlugInMicroUsd - actualMicroUsd),
  };
}
