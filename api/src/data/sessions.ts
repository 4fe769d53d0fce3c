/** Sessions as stored by the collector (twc_session, twc_session_hour) and as kept live in Redis. */
import type { LiveSession } from '@twc/core/contracts/redis';
import type { z } from 'zod';
import { fluxStr, fluxTime, num, str } from '../core/flux.js';
import type { FluxRow, InfluxReader } from '../plugins/app/influx.js';
import type { sessionHourSchema, sessionSchema } from '../schemas.js';

export type SessionItem = z.infer<typeof sessionSchema>;
export type SessionHourItem = z.infer<typeof sessionHourSchema>;

const iso = (timeMs: number | null) => (timeMs === null ? null : new Date(timeMs).toISOString());

export function sessionFromRow(row: FluxRow): SessionItem {
  const start = str(row.start_time) ?? String(row._time);
  return {
    id: String(row.session_id),
    charger_id: String(row.charger_id ?? ''),
    charger_name: String(row.charger_name ?? row.charger_id ?? ''),
    open: false,
    start_time: new Date(start).toISOString(),
    end_time: str(row.end_time) === null ? null : new Date(String(row.end_time)).toISOString(),
    duration_s: num(row.duration_s) ?? 0,
    charging_s: num(row.charging_s) ?? 0,
    energy_wh: num(row.energy_wh) ?? 0,
    avg_power_w: num(row.avg_power_w),
    peak_power_w: num(row.peak_power_w),
    supply_cost_usd: num(row.supply_cost),
    adders_cost_usd: num(row.adders_cost),
    tax_cost_usd: num(row.tax_cost),
    total_cost_usd: num(row.total_cost),
    avg_price_cents_kwh: num(row.avg_price),
    provisional: row.provisional === true,
    flat_rate_cost_usd: num(row.flat_rate_cost),
    cheapest_window_cost_usd: num(row.cheapest_window_cost),
    saving_vs_flat_usd: num(row.saving_vs_flat),
    saving_vs_cheapest_usd: num(row.saving_vs_cheapest),
    plug_in_cost_usd: num(row.plug_in_cost),
    saving_vs_plug_in_usd: num(row.saving_vs_plug_in),
    end_reason: str(row.end_reason),
  };
}

export function sessionFromLive(live: LiveSession): SessionItem {
  const { session, cost } = live;
  return {
    id: session.id,
    charger_id: live.charger_id,
    charger_name: live.charger_name,
    open: live.open,
    start_time: iso(session.startTimeMs) as string,
    end_time: iso(session.endTimeMs),
    duration_s: session.durationS,
    charging_s: session.chargingS,
    energy_wh: session.energyWh,
    avg_power_w: session.avgPowerW,
    peak_power_w: session.peakPowerW,
    supply_cost_usd: cost.supplyCostUsd,
    adders_cost_usd: cost.addersCostUsd,
    tax_cost_usd: cost.taxUsd,
    total_cost_usd: cost.totalCostUsd,
    avg_price_cents_kwh: cost.avgPriceCentsKwh,
    provisional: cost.provisional,
    flat_rate_cost_usd: null,
    cheapest_window_cost_usd: null,
    saving_vs_flat_usd: null,
    saving_vs_cheapest_usd: null,
    plug_in_cost_usd: null,
    saving_vs_plug_in_usd: null,
    end_reason: session.endReason,
  };
}

const pivot = `|> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()`;

/** Closed sessions of a charger that started in [fromMs, toMs), newest first. */
export async function listSessions(
  influx: InfluxReader,
  query: { chargerId: string; fromMs: number; toMs: number; limit: number; offset: number },
): Promise<SessionItem[]> {
  const rows = await influx.rows(`from(bucket: ${fluxStr(influx.buckets.sessions)})
  |> range(start: ${fluxTime(query.fromMs)}, stop: ${fluxTime(query.toMs)})
  |> filter(fn: (r) => r._measurement == "twc_session" and r.charger_id == ${fluxStr(query.chargerId)} and r._field != "energy_by_interval")
  ${pivot}
  |> sort(columns: ["_time"], desc: true)
  |> limit(n: ${query.limit}, offset: ${query.offset})`);
  return rows.map(sessionFromRow);
}

/**
 * A session's id is `<chargerId>-<startTimeMs>` (session-machine.ts) and its
 * point is stamped with the start, so the point is found by time alone.
 */
export function parseSessionId(id: string): { chargerId: string; startTimeMs: number } | undefined {
  const match = /^(.+)-(\d{10,16})$/.exec(id);
  if (!match) return undefined;
  return { chargerId: match[1] as string, startTimeMs: Number(match[2]) };
}

export async function findSession(influx: InfluxReader, id: string): Promise<SessionItem | undefined> {
  const parsed = parseSessionId(id);
  if (!parsed) return undefined;
  const rows = await influx.rows(`from(bucket: ${fluxStr(influx.buckets.sessions)})
  |> range(start: ${fluxTime(parsed.startTimeMs)}, stop: ${fluxTime(parsed.startTimeMs + 1)})
  |> filter(fn: (r) => r._measurement == "twc_session" and r.charger_id == ${fluxStr(parsed.chargerId)} and r._field != "energy_by_interval")
  ${pivot}
  |> filter(fn: (r) => r.session_id == ${fluxStr(id)})`);
  const row = rows[0];
  return row ? sessionFromRow(row) : undefined;
}

export function sessionHourFromRow(row: FluxRow): SessionHourItem {
  return {
    hour_ending: new Date(String(row.hour_ending)).toISOString(),
    energy_wh: num(row.energy_wh) ?? 0,
    avg_price_cents_kwh: num(row.avg_price),
    supply_cost_usd: num(row.supply_cost),
    adders_cost_usd: num(row.adders_cost),
    tax_cost_usd: num(row.tax_cost),
    total_cost_usd: num(row.total_cost),
    provisional: row.provisional === true,
  };
}

/** The hour points of one session, oldest first. Hour points are stamped within the session. */
export async function sessionHours(
  influx: InfluxReader,
  session: { id: string; chargerId: string; fromMs: number; toMs: number },
): Promise<SessionHourItem[]> {
  const rows = await influx.rows(`from(bucket: ${fluxStr(influx.buckets.sessions)})
  |> range(start: ${fluxTime(session.fromMs)}, stop: ${fluxTime(session.toMs)})
  |> filter(fn: (r) => r._measurement == "twc_session_hour" and r.charger_id == ${fluxStr(session.chargerId)})
  ${pivot}
  |> filter(fn: (r) => r.session_id == ${fluxStr(session.id)})
  |> sort(columns: ["_time"])`);
  return rows.map(sessionHourFromRow);
}

/** Every session hour point in [fromMs, toMs), all chargers or one. */
export async function hourRowsIn(
  influx: InfluxReader,
  range: { fromMs: number; toMs: number; chargerId?: string | undefined },
): Promise<(SessionHourItem & { timeMs: number; session_id: string })[]> {
  const charger = range.chargerId === undefined ? '' : ` and r.charger_id == ${fluxStr(range.chargerId)}`;
  const rows = await influx.rows(`from(bucket: ${fluxStr(influx.buckets.sessions)})
  |> range(start: ${fluxTime(range.fromMs)}, stop: ${fluxTime(range.toMs)})
  |> filter(fn: (r) => r._measurement == "twc_session_hour"${charger})
  ${pivot}
  |> sort(columns: ["_time"])`);
  return rows.map((row) => ({
    ...sessionHourFromRow(row),
    timeMs: Date.parse(String(row._time)),
    session_id: String(row.session_id),
  }));
}

/** Every closed session that started in [fromMs, toMs), oldest first. */
export async function sessionsIn(
  influx: InfluxReader,
  range: { fromMs: number; toMs: number; chargerId?: string | undefined },
): Promise<SessionItem[]> {
  const charger = range.chargerId === undefined ? '' : ` and r.charger_id == ${fluxStr(range.chargerId)}`;
  const rows = await influx.rows(`from(bucket: ${fluxStr(influx.buckets.sessions)})
  |> range(start: ${fluxTime(range.fromMs)}, stop: ${fluxTime(range.toMs)})
  |> filter(fn: (r) => r._measurement == "twc_session" and r._field != "energy_by_interval"${charger})
  ${pivot}
  |> sort(columns: ["_time"])`);
  return rows.map(sessionFromRow);
}

/**
 * How many sessions that started in [fromMs, toMs) are still stored on the
 * price clock of before its correction (their interval energy in the old
 * form, core/src/sessions/session-points.ts): the collector re-prices
 * them shortly after an upgrade, and reports of their month wait for it.
 */
export async function sessionsOnOldClock(
  influx: InfluxReader,
  range: { fromMs: number; toMs: number },
): Promise<number> {
  const rows = await influx.rows(`import "strings"
from(bucket: ${fluxStr(influx.buckets.sessions)})
  |> range(start: ${fluxTime(range.fromMs)}, stop: ${fluxTime(range.toMs)})
  |> filter(fn: (r) => r._measurement == "twc_session" and r._field == "energy_by_interval")
  |> filter(fn: (r) => strings.hasPrefix(v: r._value, prefix: "["))
  |> group()
  |> count()`);
  return num(rows[0]?._value) ?? 0;
}
