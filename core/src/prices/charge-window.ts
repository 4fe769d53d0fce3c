/**
 * "When should I charge tonight": the cheapest run of consecutive hours
 * before a deadline, on hourly price estimates (forecast.ts), for a charge
 * of N hours or of an energy at the charger's power. ComEd bills each hour
 * at its average, so the plan is in whole price hours: a charge may start at
 * `from` (inside the current hour) or on any hour boundary, runs at full
 * power, and only its last hour is partial. Pure.
 */
import { HOUR_MS, hourEndingOf } from './comed-clock.js';
import type { EstimateSource, HourEstimate } from './forecast.js';

export interface WindowHour {
  hourEndingMs: number;
  source: EstimateSource;
  priceCentsPerKwh: number;
  /** The part of the hour spent charging, 0-1. */
  fraction: number;
  energyKwh: number;
}

export interface ChargeWindow {
  startMs: number;
  endMs: number;
  hours: WindowHour[];
  energyKwh: number;
  /** Energy times each hour's price, cents. */
  supplyCents: number;
  /** Energy-weighted average price, cents per kWh. */
  avgPriceCentsPerKwh: number;
}

export interface ChargeWindowRequest {
  /** The charge may start here (now) or at any later hour boundary. */
  fromMs: number;
  /** It must end by here. */
  beforeMs: number;
  /** Charging power, kW. */
  powerKw: number;
  /** What to charge: an energy, or a number of hours at full power. */
  need: { energyKwh: number } | { hours: number };
}

/** The charge starting at `startMs`, hour by hour; undefined when it does not fit or an hour has no estimate. */
export function chargeFrom(
  startMs: number,
  request: ChargeWindowRequest,
  estimates: ReadonlyMap<number, HourEstimate>,
): ChargeWindow | undefined {
  const energyKwh = 'energyKwh' in request.need ? request.need.energyKwh : request.need.hours * request.powerKw;
  if (!(energyKwh > 0) || !(request.powerKw > 0)) return undefined;
  const hours: WindowHour[] = [];
  let remaining = energyKwh;
  let cursor = startMs;
  let supplyCents = 0;
  while (remaining > 1e-9) {
    const hourEndingMs = hourEndingOf(cursor);
    const estimate = estimates.get(hourEndingMs);
    if (!estimate) return undefined;
    const availableMs = hourEndingMs - cursor;
    const energy = Math.min(remaining, (request.powerKw * availableMs) / HOUR_MS);
    const usedMs = (energy / request.powerKw) * HOUR_MS;
    if (cursor + usedMs > request.beforeMs + 1e-6) return undefined;
    hours.push({
      hourEndingMs,
      source: estimate.source,
      priceCentsPerKwh: estimate.priceCentsPerKwh,
      fraction: usedMs / HOUR_MS,
      energyKwh: energy,
    });
    supplyCents += energy * estimate.priceCentsPerKwh;
    remaining -= energy;
    cursor += usedMs;
    if (remaining > 1e-9) cursor = hourEndingMs;
  }
  return {
    startMs,
    endMs: Math.round(cursor),
    hours,
    energyKwh,
    supplyCents,
    avgPriceCentsPerKwh: supplyCents / energyKwh,
  };
}

/**
 * The cheapest window of the request (ties to the earliest) and the charge
 * started at once, for the saving; `best` undefined when no window of known
 * estimates fits before the deadline.
 */
export function cheapestChargeWindow(
  request: ChargeWindowRequest,
  estimates: readonly HourEstimate[],
): { best: ChargeWindow | undefined; now: ChargeWindow | undefined } {
  const byHour = new Map(estimates.map((estimate) => [estimate.hourEndingMs, estimate]));
  const now = chargeFrom(request.fromMs, request, byHour);
  let best = now;
  for (let startMs = hourEndingOf(request.fromMs); startMs < request.beforeMs; startMs += HOUR_MS) {
    const candidate = chargeFrom(startMs, request, byHour);
    if (candidate && (!best || candidate.supplyCents < best.supplyCents - 1e-9)) best = candidate;
  }
  return { best, now };
}
