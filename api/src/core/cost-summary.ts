/**
 * Cost totals over a period. Energy and cost come from the sessions' hour
 * points, so a session charging across midnight counts in each day for the
 * energy it drew that day; sessions (their count, the flat-rate comparison)
 * are counted in the period they started in. Pure.
 */
import { usd } from './flux.js';

export interface HourFigures {
  energy_wh: number;
  avg_price_cents_kwh: number | null;
  supply_cost_usd: number | null;
  adders_cost_usd: number | null;
  tax_cost_usd: number | null;
  total_cost_usd: number | null;
  provisional: boolean;
}

export interface SessionFigures {
  flat_rate_cost_usd: number | null;
  saving_vs_flat_usd: number | null;
  provisional: boolean;
}

export interface CostTotals {
  energy_wh: number;
  supply_cost_usd: number;
  adders_cost_usd: number;
  tax_cost_usd: number;
  total_cost_usd: number;
  avg_price_cents_kwh: number | null;
  sessions: number;
  flat_rate_cost_usd: number;
  saving_vs_flat_usd: number;
  provisional: boolean;
}

export function summarize(hours: readonly HourFigures[], sessions: readonly SessionFigures[]): CostTotals {
  let energyWh = 0;
  let supply = 0;
  let adders = 0;
  let tax = 0;
  let total = 0;
  // Energy-weighted: each hour's average price weighs by the energy drawn at it.
  let pricedWh = 0;
  let pricedCentsWh = 0;
  let provisional = false;
  for (const hour of hours) {
    energyWh += hour.energy_wh;
    supply += hour.supply_cost_usd ?? 0;
    adders += hour.adders_cost_usd ?? 0;
    tax += hour.tax_cost_usd ?? 0;
    total += hour.total_cost_usd ?? 0;
    if (hour.avg_price_cents_kwh !== null && hour.energy_wh > 0) {
      pricedWh += hour.energy_wh;
      pricedCentsWh += hour.avg_price_cents_kwh * hour.energy_wh;
    }
    provisional ||= hour.provisional;
  }
  let flat = 0;
  let saving = 0;
  for (const session of sessions) {
    flat += session.flat_rate_cost_usd ?? 0;
    saving += session.saving_vs_flat_usd ?? 0;
    provisional ||= session.provisional;
  }
  return {
    energy_wh: Math.round(energyWh * 1000) / 1000,
    supply_cost_usd: usd(supply),
    adders_cost_usd: usd(adders),
    tax_cost_usd: usd(tax),
    total_cost_usd: usd(total),
    avg_price_cents_kwh: pricedWh > 0 ? pricedCentsWh / pricedWh : null,
    sessions: sessions.length,
    flat_rate_cost_usd: usd(flat),
    saving_vs_flat_usd: usd(saving),
    provisional,
  };
}

export interface Change {
  energy_wh: number;
  total_cost_usd: number;
  /** Percent change; null when the previous period had none. */
  energy_pct: number | null;
  total_cost_pct: number | null;
}

export function changeBetween(current: CostTotals, previous: CostTotals): Change {
  const pct = (now: number, before: number) => (before === 0 ? null : ((now - before) / Math.abs(before)) * 100);
  return {
    energy_wh: Math.round((current.energy_wh - previous.energy_wh) * 1000) / 1000,
    total_cost_usd: usd(current.total_cost_usd - previous.total_cost_usd),
    energy_pct: pct(current.energy_wh, previous.energy_wh),
    total_cost_pct: pct(current.total_cost_usd, previous.total_cost_usd),
  };
}
