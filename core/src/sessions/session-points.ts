/**
 * A priced session as InfluxDB points. The session point is stamped with the
 * session's start, so recomputing a session (a late price, a restart)
 * rewrites it in place. Hour points are stamped inside their hour, at the
 * later of the hour's start and the session's start, so two sessions of one
 * charger sharing an hour (a car swap) never overwrite each other.
 */

import type { PointData } from '../contracts/influx-schema.js';
import { FIVE_MINUTES_MS, HOUR_MS } from '../prices/comed-clock.js';
import type { SessionCost } from './cost.js';
import type { IntervalEnergy } from './interval-energy.js';
import type { ChargingSession } from './session-machine.js';
import type { WhatIfResult } from './what-if.js';

/**
 * `energy_by_interval` as stored: `{"start":[[stampMs, Wh], ...]}`, each
 * interval named by its ComEd stamp, its start (prices/comed-clock.ts).
 * Sessions stored before the price clock was corrected hold a bare array of
 * `[intervalEndMs, Wh]`; the object form tells the two apart, so a reader
 * never guesses and the upgrade step knows which sessions it has yet to
 * re-price (their costs were computed on the old clock).
 */
export function encodeIntervals(intervals: readonly IntervalEnergy[]): string {
  return JSON.stringify({
    start: intervals.map(({ startMs, energyWh }) => [startMs, Math.round(energyWh * 1e6) / 1e6]),
  });
}

export interface DecodedIntervals {
  intervals: IntervalEnergy[];
  /** True when stored in the end-stamped form of before the clock correction. */
  legacy: boolean;
}

function pairs(value: unknown, what: string): [number, number][] {
  if (!Array.isArray(value)) throw new Error(`energy_by_interval ${what} is not an array`);
  return value.map((entry) => {
    if (!Array.isArray(entry) || typeof entry[0] !== 'number' || typeof entry[1] !== 'number') {
      throw new Error(`energy_by_interval entry is not [${what === 'list' ? 'intervalEndMs' : 'stampMs'}, Wh]`);
    }
    return [entry[0], entry[1]];
  });
}

export function decodeIntervals(text: string): DecodedIntervals {
  const parsed = JSON.parse(text) as unknown;
  if (Array.isArray(parsed)) {
    // The energy of (E - 5 min, E] is the energy of the interval stamped E - 5 min.
    return {
      intervals: pairs(parsed, 'list').map(([endMs, energyWh]) => ({ startMs: endMs - FIVE_MINUTES_MS, energyWh })),
      legacy: true,
    };
  }
  if (typeof parsed !== 'object' || parsed === null || !('start' in parsed)) {
    throw new Error('energy_by_interval is neither {"start": [...]} nor a list');
  }
  return {
    intervals: pairs((parsed as { start: unknown }).start, 'start').map(([startMs, energyWh]) => ({
      startMs,
      energyWh,
    })),
    legacy: false,
  };
}

const iso = (timeMs: number | null) => (timeMs === null ? null : new Date(timeMs).toISOString());

/** The fields of a session point that depend on prices: rewritten alone when a late price arrives. */
export function sessionCostFields(cost: SessionCost, whatIf: WhatIfResult): PointData['fields'] {
  return {
    supply_cost: cost.supplyCostUsd,
    adders_cost: cost.addersCostUsd,
    tax_cost: cost.taxUsd,
    total_cost: cost.totalCostUsd,
    avg_price: cost.avgPriceCentsKwh,
    provisional: cost.provisional,
    unpriced_energy_wh: cost.unpricedEnergyWh,
    flat_rate_cost: whatIf.flatRateCostUsd,
    cheapest_window_cost: whatIf.cheapestWindow?.totalCostUsd ?? null,
    saving_vs_flat: whatIf.savingVsFlatUsd,
    saving_vs_cheapest: whatIf.savingVsCheapestUsd,
    plug_in_cost: whatIf.atPlugIn?.totalCostUsd ?? null,
    saving_vs_plug_in: whatIf.savingVsPlugInUsd,
  };
}

export function sessionHourPoints(
  sessionId: string,
  startTimeMs: number,
  tags: Record<string, string>,
  cost: SessionCost,
): PointData[] {
  return cost.hours.map((hour) => ({
    measurement: 'twc_session_hour',
    tags,
    fields: {
      session_id: sessionId,
      hour_ending: iso(hour.hourEndingMs),
      energy_wh: hour.energyWh,
      avg_price: hour.avgPriceCentsKwh,
      supply_cost: hour.supplyCostUsd,
      adders_cost: hour.addersCostUsd,
      tax_cost: hour.taxUsd,
      total_cost: hour.totalCostUsd,
      provisional: hour.provisional,
    },
    timeMs: Math.max(hour.hourEndingMs - HOUR_MS, startTimeMs),
  }));
}

export function sessionPoints(
  session: ChargingSession,
  chargerName: string,
  cost: SessionCost,
  whatIf: WhatIfResult,
): PointData[] {
  const tags = { charger_id: session.chargerId, charger_name: chargerName };
  return [
    {
      measurement: 'twc_session',
      tags,
      fields: {
        session_id: session.id,
        start_time: iso(session.startTimeMs),
        end_time: iso(session.endTimeMs),
        duration_s: session.durationS,
        charging_s: session.chargingS,
        energy_wh: session.energyWh,
        avg_power_w: session.avgPowerW,
        peak_power_w: session.peakPowerW,
        max_handle_temp_c: session.maxHandleTempC,
        gaps: session.gaps.length,
        gap_s: Math.round(session.gaps.reduce((sum, gap) => sum + (gap.toMs - gap.fromMs), 0) / 1000),
        segments: session.segments,
        end_reason: session.endReason,
        energy_by_interval: encodeIntervals(session.energyByInterval),
        ...sessionCostFields(cost, whatIf),
      },
      timeMs: session.startTimeMs,
    },
    ...sessionHourPoints(session.id, session.startTimeMs, tags, cost),
  ];
}
