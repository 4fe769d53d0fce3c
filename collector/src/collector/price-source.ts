import type { QueryApi } from '@influxdata/influxdb-client';
import { HOUR_MS, hourEndingOf, PRICES_PER_HOUR } from '@twc/core/prices/comed-clock';
import type { PricePoint } from '@twc/core/prices/comed-parse';

export interface PriceSource {
  /** The 5-minute prices stamped in [fromMs, toMs), oldest first. */
  prices(fromMs: number, toMs: number): Promise<PricePoint[]>;
}

interface CachedHour {
  prices: PricePoint[];
  fetchedMs: number;
}

/**
 * 5-minute ComEd prices read from InfluxDB (the poller writes them), cached
 * by hour: an hour with all twelve prices never changes and is kept, an
 * incomplete one is asked again after `refreshMs`, so pricing a session at
 * every sample costs at most one small query a minute.
 */
export function createInfluxPriceSource(options: {
  queryApi: QueryApi;
  bucket: string;
  refreshMs?: number;
  now?: () => number;
  /** Complete hours kept in the cache; the oldest go first. */
  maxHours?: number;
}): PriceSource {
  const refreshMs = options.refreshMs ?? 60_000;
  const now = options.now ?? Date.now;
  const maxHours = options.maxHours ?? 24 * 14;
  const cache = new Map<number, CachedHour>();

  async function query(fromMs: number, toMs: number): Promise<PricePoint[]> {
    const rows = await options.queryApi.collectRows<{ _time: string; _value: number }>(
      `from(bucket: ${JSON.stringify(options.bucket)})
        |> range(start: time(v: ${JSON.stringify(new Date(fromMs).toISOString())}), stop: time(v: ${JSON.stringify(new Date(toMs).toISOString())}))
        |> filter(fn: (r) => r._measurement == "comed_price" and r.price_type == "5min" and r._field == "price_cents_kwh")
        |> keep(columns: ["_time", "_value"])`,
    );
    return rows.map((row) => ({ timeMs: Date.parse(row._time), priceCentsPerKwh: row._value }));
  }

  return {
    async prices(fromMs, toMs) {
      const firstHour = hourEndingOf(fromMs);
      const lastHour = hourEndingOf(toMs - 1);
      const stale: number[] = [];
      for (let hour = firstHour; hour <= lastHour; hour += HOUR_MS) {
        const cached = cache.get(hour);
        const complete = cached !== undefined && cached.prices.length === PRICES_PER_HOUR;
        if (!complete && (cached === undefined || now() - cached.fetchedMs >= refreshMs)) stale.push(hour);
      }
      if (stale.length > 0) {
        const fetched = await query((stale[0] as number) - HOUR_MS, stale.at(-1) as number);
        const fetchedMs = now();
        for (const hour of stale) cache.set(hour, { prices: [], fetchedMs });
        for (const point of fetched) cache.get(hourEndingOf(point.timeMs))?.prices.push(point);
        if (cache.size > maxHours) {
          for (const hour of [...cache.keys()].sort((a, b) => a - b).slice(0, cache.size - maxHours))
            cache.delete(hour);
        }
      }
      const result: PricePoint[] = [];
      for (let hour = firstHour; hour <= lastHour; hour += HOUR_MS) {
        for (const point of cache.get(hour)?.prices ?? []) {
          if (point.timeMs >= fromMs && point.timeMs < toMs) result.push(point);
        }
      }
      return result;
    },
  };
}
