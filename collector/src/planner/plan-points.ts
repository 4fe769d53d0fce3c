/**
 * The planner's InfluxDB points (contracts/influx-schema.ts `charge_plan`,
 * `charge_control`), in the sessions bucket beside the sessions they steer.
 */

import type { PointData } from '@twc/core/contracts/influx-schema';
import type { ControlEvent } from '@twc/core/contracts/redis';
import type { ChargePlan } from '@twc/core/planning/charge-plan';
import { HOUR_MS } from '@twc/core/prices/comed-clock';

/**
 * A plan's hours, each stamped with its price hour's start; hours of the
 * previous plan still ahead that this one leaves out are written as 0 kWh.
 */
export function planPoints(
  charger: { id: string; name: string },
  plan: ChargePlan,
  previous: ChargePlan | undefined,
): PointData[] {
  const tags = { charger_id: charger.id, charger_name: charger.name };
  const points: PointData[] = [];
  const planned = new Set<number>();
  for (const slot of plan.slots) {
    if (slot.energyKwh <= 0) continue;
    planned.add(slot.hourEndingMs);
    points.push({
      measurement: 'charge_plan',
      tags,
      fields: {
        energy_kwh: slot.energyKwh,
        price_cents_kwh: slot.priceCentsPerKwh,
        start_ms: slot.startMs,
        end_ms: slot.endMs,
        source: slot.source ?? 'none',
        reason: slot.reason,
      },
      timeMs: slot.hourEndingMs - HOUR_MS,
    });
  }
  for (const slot of previous?.slots ?? []) {
    if (planned.has(slot.hourEndingMs) || slot.hourEndingMs <= plan.computedAtMs) continue;
    planned.add(slot.hourEndingMs);
    points.push({
      measurement: 'charge_plan',
      tags,
      fields: {
        energy_kwh: 0,
        price_cents_kwh: slot.priceCentsPerKwh,
        start_ms: slot.startMs,
        end_ms: slot.startMs,
        source: slot.source ?? 'none',
        reason: 'dropped',
      },
      timeMs: slot.hourEndingMs - HOUR_MS,
    });
  }
  return points;
}

export function controlPoint(event: ControlEvent, chargerName: string, controller: string): PointData {
  return {
    measurement: 'charge_control',
    tags: { charger_id: event.charger_id, charger_name: chargerName, command: event.command, controller },
    fields: {
      ok: event.ok,
      failure: event.failure ?? '',
      detail: event.detail,
      reason: event.reason,
      calls: event.calls,
      woke: event.woke,
      duration_ms: Math.round(event.duration_ms),
    },
    timeMs: Date.parse(event.time),
  };
}
