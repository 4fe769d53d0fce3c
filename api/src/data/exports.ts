/**
 * Exports: Flux rows turned into CSV lines or JSON lines as they arrive from
 * InfluxDB, so a year of 5-second vitals never sits in memory.
 */

import { SCHEMA } from '@twc/core/contracts/influx-schema';
import { HOUR_MS, intervalEnd } from '@twc/core/prices/comed-clock';
import { csvLine } from '../core/csv.js';
import { fluxStr, fluxTime } from '../core/flux.js';
import type { FluxRow, InfluxReader } from '../plugins/app/influx.js';
import { sessionFromRow } from './sessions.js';

export type ExportDataset = 'sessions' | 'vitals' | 'prices' | 'dayahead';
export type ExportFormat = 'csv' | 'json';

export interface ExportQuery {
  dataset: ExportDataset;
  fromMs: number;
  toMs: number;
  chargerId?: string | undefined;
}

const VITALS_FIELDS = Object.keys(SCHEMA.twc_vitals.fields);
/** power_w is ours (derived), every other twc_vitals field is named as the charger's /api/1/vitals names it. */
const CHARGER_VITALS_FIELDS = VITALS_FIELDS.filter((name) => name !== 'power_w');

const SESSION_COLUMNS = [
  'id',
  'charger_id',
  'charger_name',
  'start_time',
  'end_time',
  'duration_s',
  'charging_s',
  'energy_wh',
  'avg_power_w',
  'peak_power_w',
  'supply_cost_usd',
  'adders_cost_usd',
  'tax_cost_usd',
  'total_cost_usd',
  'avg_price_cents_kwh',
  'provisional',
  'flat_rate_cost_usd',
  'cheapest_window_cost_usd',
  'saving_vs_flat_usd',
  'saving_vs_cheapest_usd',
  'plug_in_cost_usd',
  'saving_vs_plug_in_usd',
  'end_reason',
] as const;

function flux(influx: InfluxReader, query: ExportQuery): string {
  const range = `range(start: ${fluxTime(query.fromMs)}, stop: ${fluxTime(query.toMs)})`;
  const charger = query.chargerId === undefined ? '' : ` and r.charger_id == ${fluxStr(query.chargerId)}`;
  const pivot = '|> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")';
  switch (query.dataset) {
    case 'sessions':
      return `from(bucket: ${fluxStr(influx.buckets.sessions)}) |> ${range}
  |> filter(fn: (r) => r._measurement == "twc_session" and r._field != "energy_by_interval"${charger})
  ${pivot} |> group() |> sort(columns: ["_time"])`;
    case 'vitals':
      // One table per charger, each in time order: no sort over the whole range.
      return `from(bucket: ${fluxStr(influx.buckets.raw)}) |> ${range}
  |> filter(fn: (r) => r._measurement == "twc_vitals"${charger})
  ${pivot}`;
    case 'prices':
      // Intervals that start in [from, to): a price stamped S covers [S, S + 5 min) (comed-clock.ts).
      return `from(bucket: ${fluxStr(influx.buckets.prices)})
  |> ${range}
  |> filter(fn: (r) => r._measurement == "comed_price" and r.price_type == "5min" and r._field == "price_cents_kwh")
  |> keep(columns: ["_time", "_value"])`;
    case 'dayahead':
      // Hours that start in [from, to), stored at their hour ending (comed-clock.ts, DAY_AHEAD_LABELS).
      return `from(bucket: ${fluxStr(influx.buckets.prices)})
  |> range(start: ${fluxTime(query.fromMs + HOUR_MS)}, stop: ${fluxTime(query.toMs + HOUR_MS)})
  |> filter(fn: (r) => r._measurement == "comed_price_dayahead" and r._field == "price_cents_kwh")
  |> keep(columns: ["_time", "_value"])`;
  }
}

function header(dataset: ExportDataset): string[] {
  switch (dataset) {
    case 'sessions':
      return [...SESSION_COLUMNS];
    case 'vitals':
      return ['time', 'charger_id', 'charger_name', ...VITALS_FIELDS];
    case 'prices':
      return ['interval_start', 'interval_end', 'price_cents_kwh'];
    case 'dayahead':
      return ['hour_start', 'hour_ending', 'price_cents_kwh'];
  }
}

function record(dataset: ExportDataset, row: FluxRow): Record<string, unknown> {
  switch (dataset) {
    case 'sessions': {
      const { open, ...session } = sessionFromRow(row);
      return session;
    }
    case 'vitals':
      return {
        time: new Date(String(row._time)).toISOString(),
        charger_id: row.charger_id,
        charger_name: row.charger_name,
        ...Object.fromEntries(VITALS_FIELDS.map((name) => [name, row[name] ?? null])),
      };
    case 'prices': {
      const startMs = Date.parse(String(row._time));
      return {
        interval_start: new Date(startMs).toISOString(),
        interval_end: new Date(intervalEnd(startMs)).toISOString(),
        price_cents_kwh: row._value,
      };
    }
    case 'dayahead': {
      const hourEndingMs = Date.parse(String(row._time));
      return {
        hour_start: new Date(hourEndingMs - HOUR_MS).toISOString(),
        hour_ending: new Date(hourEndingMs).toISOString(),
        price_cents_kwh: row._value,
      };
    }
  }
}

/**
 * One vitals sample in the replay format: `{"t": <epoch ms>, "vitals": {...}}`
 * with the fields the charger sent, as it names them; fields it did not send
 * (stored as absent, never as 0) stay out.
 */
export function replayLine(row: FluxRow): string {
  const vitals: Record<string, unknown> = {};
  for (const name of CHARGER_VITALS_FIELDS) {
    const value = row[name];
    if (value !== null && value !== undefined && value !== '') vitals[name] = value;
  }
  return `${JSON.stringify({ t: Date.parse(String(row._time)), vitals })}\n`;
}

/** The export's lines; InfluxDB is asked (and a failure thrown) before the first line is produced. */
export async function exportLines(
  influx: InfluxReader,
  query: ExportQuery,
  format: ExportFormat,
): Promise<AsyncGenerator<string>> {
  const rows = await influx.stream(flux(influx, query));
  const columns = header(query.dataset);
  return (async function* lines() {
    if (format === 'csv') yield csvLine(columns);
    for await (const row of rows) {
      if (format === 'json' && query.dataset === 'vitals') {
        yield replayLine(row);
        continue;
      }
      const values = record(query.dataset, row);
      yield format === 'csv' ? csvLine(columns.map((column) => values[column])) : `${JSON.stringify(values)}\n`;
    }
  })();
}
