/**
 * The comed-poller's reads of what InfluxDB holds in the prices bucket: the
 * hourly prices it wrote, the stored 5-minute prices, their extent.
 */
import type { QueryApi } from '@influxdata/influxdb-client';
import type { PricePoint } from '@twc/core/prices/comed-parse';

const fluxTime = (timeMs: number) => `time(v: ${JSON.stringify(new Date(timeMs).toISOString())})`;

export interface StoredHourlyPrice {
  hourEndingMs: number;
  count: number;
  avgPrice: number;
}

export interface InfluxPriceStore {
  /** The stored hourly prices of the hours ending in (fromMs, toMs]. */
  hourlyPrices(fromMs: number, toMs: number): Promise<StoredHourlyPrice[]>;
  /** The stored 5-minute prices stamped in [fromMs, toMs), oldest first. */
  fiveMinutePrices(fromMs: number, toMs: number): Promise<PricePoint[]>;
  /** The oldest and newest stored 5-minute price stamps; undefined when none is stored. */
  fiveMinuteRange(): Promise<{ firstMs: number; lastMs: number } | undefined>;
  /** The stored day-ahead prices of the hours ending in (fromMs, toMs], by hour ending. */
  dayAheadPrices(fromMs: number, toMs: number): Promise<Map<number, number>>;
}

export function createInfluxPriceStore(options: { queryApi: QueryApi; bucket: string }): InfluxPriceStore {
  const { queryApi } = options;
  const bucket = JSON.stringify(options.bucket);
  const fiveMinute = `filter(fn: (r) => r._measurement == "comed_price" and r.price_type == "5min" and r._field == "price_cents_kwh")`;
  return {
    async hourlyPrices(fromMs, toMs) {
      const rows = await queryApi.collectRows<{ _time: string; count: number; avg_price: number }>(
        `from(bucket: ${bucket})
          |> range(start: ${fluxTime(fromMs + 1)}, stop: ${fluxTime(toMs + 1)})
          |> filter(fn: (r) => r._measurement == "comed_price_hourly" and (r._field == "count" or r._field == "avg_price"))
          |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
          |> keep(columns: ["_time", "count", "avg_price"])`,
      );
      return rows.map((row) => ({ hourEndingMs: Date.parse(row._time), count: row.count, avgPrice: row.avg_price }));
    },
    async fiveMinutePrices(fromMs, toMs) {
      const rows = await queryApi.collectRows<{ _time: string; _value: number }>(
        `from(bucket: ${bucket})
          |> range(start: ${fluxTime(fromMs)}, stop: ${fluxTime(toMs)})
          |> ${fiveMinute}
          |> keep(columns: ["_time", "_value"])
          |> sort(columns: ["_time"])`,
      );
      return rows.map((row) => ({ timeMs: Date.parse(row._time), priceCentsPerKwh: row._value }));
    },
    async dayAheadPrices(fromMs, toMs) {
      const rows = await queryApi.collectRows<{ _time: string; _value: number }>(
        `from(bucket: ${bucket})
          |> range(start: ${fluxTime(fromMs + 1)}, stop: ${fluxTime(toMs + 1)})
          |> filter(fn: (r) => r._measurement == "comed_price_dayahead" and r._field == "price_cents_kwh")
          |> keep(columns: ["_time", "_value"])`,
      );
      return new Map(rows.map((row) => [Date.parse(row._time), row._value]));
    },
    async fiveMinuteRange() {
      const rows = await queryApi.collectRows<{ _time: string }>(
        `data = from(bucket: ${bucket}) |> range(start: 0) |> ${fiveMinute} |> keep(columns: ["_time", "_value"])
        union(tables: [data |> first(), data |> last()]) |> sort(columns: ["_time"])`,
      );
      const first = rows[0];
      const last = rows.at(-1);
      return first && last ? { firstMs: Date.parse(first._time), lastMs: Date.parse(last._time) } : undefined;
    },
  };
}
