/** Chargers and their latest vitals: live from Redis, or the last InfluxDB points when Redis has nothing. */

import { evseStateName } from '@twc/core/charger/normalize';
import type { ChargerStatus, LiveVitals } from '@twc/core/contracts/redis';
import type { z } from 'zod';
import { fluxStr, num, str } from '../core/flux.js';
import type { FluxRow, InfluxReader } from '../plugins/app/influx.js';
import type { chargerSchema, vitalsSchema } from '../schemas.js';

export type ChargerItem = z.infer<typeof chargerSchema>;
export type VitalsItem = z.infer<typeof vitalsSchema>;

/** A charger whose last sample is older than this counts as offline when Redis cannot say (vitals come every 5 s). */
export const ONLINE_WITHIN_MS = 60_000;

export function chargerFromStatus(status: ChargerStatus): ChargerItem {
  return {
    id: status.charger_id,
    name: status.charger_name,
    serial_number: status.serial_number || null,
    firmware_version: status.firmware_version,
    online: status.online,
    last_seen: status.last_seen,
    source: 'live',
  };
}

const VITALS_NUMBERS = [
  'power_w',
  'session_energy_wh',
  'session_s',
  'vehicle_current_a',
  'grid_v',
  'grid_hz',
  'voltageA_v',
  'voltageB_v',
  'voltageC_v',
  'currentA_a',
  'currentB_a',
  'currentC_a',
  'pcba_temp_c',
  'handle_temp_c',
  'mcu_temp_c',
  'uptime_s',
  'evse_state',
] as const;

export function vitalsFrom(fields: Record<string, unknown>): VitalsItem {
  const bool = (value: unknown) => (typeof value === 'boolean' ? value : null);
  const numbers = Object.fromEntries(VITALS_NUMBERS.map((name) => [name, num(fields[name])])) as Record<
    (typeof VITALS_NUMBERS)[number],
    number | null
  >;
  const contactor = bool(fields.contactor_closed);
  return {
    ...numbers,
    vehicle_connected: bool(fields.vehicle_connected),
    contactor_closed: contactor,
    // The contactor, not evse_state, says whether current flows (Wall Connector API notes).
    charging: contactor,
    evse_state_name: evseStateName(numbers.evse_state),
  };
}

export function vitalsFromLive(live: LiveVitals): VitalsItem {
  return vitalsFrom(live.vitals as unknown as Record<string, unknown>);
}

/** Chargers InfluxDB knows (from twc_version), with the time of their last vitals. */
export async function chargersFromInflux(influx: InfluxReader, nowMs: number): Promise<ChargerItem[]> {
  const bucket = fluxStr(influx.buckets.raw);
  const [versions, seen] = await Promise.all([
    influx.rows(`from(bucket: ${bucket})
  |> range(start: 0)
  |> filter(fn: (r) => r._measurement == "twc_version")
  |> last()
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()`),
    influx.rows(`from(bucket: ${bucket})
  |> range(start: 0)
  |> filter(fn: (r) => r._measurement == "twc_vitals" and r._field == "power_w")
  |> last()
  |> group()`),
  ]);
  const lastSeen = new Map<string, number>();
  for (const row of seen) {
    const id = String(row.charger_id);
    lastSeen.set(id, Math.max(lastSeen.get(id) ?? 0, Date.parse(String(row._time))));
  }
  // A renamed charger has one series per name: the latest wins.
  const latest = new Map<string, FluxRow>();
  for (const row of versions) {
    const id = String(row.charger_id);
    const previous = latest.get(id);
    if (!previous || Date.parse(String(row._time)) > Date.parse(String(previous._time))) latest.set(id, row);
  }
  return [...latest.entries()]
    .map(([id, row]) => {
      const seenMs = lastSeen.get(id);
      return {
        id,
        name: String(row.charger_name ?? id),
        serial_number: str(row.serial_number),
        firmware_version: str(row.firmware_version),
        online: seenMs === undefined ? false : nowMs - seenMs <= ONLINE_WITHIN_MS,
        last_seen: seenMs === undefined ? null : new Date(seenMs).toISOString(),
        source: 'influxdb' as const,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The last twc_vitals point of a charger; undefined when InfluxDB has none. */
export async function lastVitalsFromInflux(
  influx: InfluxReader,
  chargerId: string,
): Promise<{ timeMs: number; chargerName: string; vitals: VitalsItem } | undefined> {
  const rows = await influx.rows(`from(bucket: ${fluxStr(influx.buckets.raw)})
  |> range(start: 0)
  |> filter(fn: (r) => r._measurement == "twc_vitals" and r.charger_id == ${fluxStr(chargerId)})
  |> last()
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> sort(columns: ["_time"], desc: true)
  |> limit(n: 1)`);
  const row = rows[0];
  if (!row) return undefined;
  return {
    timeMs: Date.parse(String(row._time)),
    chargerName: String(row.charger_name ?? chargerId),
    vitals: vitalsFrom(row),
  };
}

/** Whether InfluxDB has ever heard of the charger. */
export async function chargerInInflux(influx: InfluxReader, chargerId: string): Promise<boolean> {
  const rows = await influx.rows(`from(bucket: ${fluxStr(influx.buckets.raw)})
  |> range(start: 0)
  |> filter(fn: (r) => (r._measurement == "twc_version" or r._measurement == "twc_vitals") and r.charger_id == ${fluxStr(chargerId)})
  |> last()
  |> limit(n: 1)`);
  return rows.length > 0;
}
