/** ComEd prices as the price poller stores them (comed_price, comed_price_hourly). */
import { HOUR_MS, hourEndingFor, intervalStart } from '@twc/collector/prices/intervals';
import { isPriceStale } from '@twc/collector/prices/price-plan';
import { type CurrentPrice, currentPrice } from '@twc/collector/prices/redis-price-state';
import type { z } from 'zod';
import { fluxStr, fluxTime, num } from '../core/flux.js';
import { addDays, formatLocalDate, localDateAt, parseLocalDate, startOfLocalDay } from '../core/periods.js';
import type { InfluxReader } from '../plugins/app/influx.js';
import type { pricePointSchema } from '../schemas.js';

export type PricePointItem = z.infer<typeof pricePointSchema>;
export type PriceResolution = '5min' | 'hour' | 'day';

/** The cached price with `stale` judged now, not when the poller wrote it. */
export function freshen(price: CurrentPrice, nowMs: number): CurrentPrice {
  const feedMs = price.feed_time === null ? undefined : Date.parse(price.feed_time);
  return { ...price, stale: isPriceStale(feedMs, nowMs) };
}

/** The current price rebuilt from the last stored points, for when Redis has none. */
export async function currentPriceFromInflux(influx: InfluxReader, nowMs: number): Promise<CurrentPrice | undefined> {
  const rows = await influx.rows(`from(bucket: ${fluxStr(influx.buckets.prices)})
  |> range(start: 0, stop: ${fluxTime(nowMs + HOUR_MS + 1)})
  |> filter(fn: (r) => r._measurement == "comed_price" and r._field == "price_cents_kwh")
  |> last()`);
  const point = (type: string) => {
    const row = rows.find((candidate) => candidate.price_type === type);
    const price = num(row?._value);
    return row && price !== null ? { timeMs: Date.parse(String(row._time)), priceCentsPerKwh: price } : undefined;
  };
  const latest = point('5min');
  const average = point('hourly_avg');
  if (!latest && !average) return undefined;
  return currentPrice(latest, average, nowMs);
}

const iso = (timeMs: number) => new Date(timeMs).toISOString();

/** Stamps in (fromMs, toMs]: a price stamped T covers the five minutes ending at T (intervals.ts). */
function stampRange(fromMs: number, toMs: number): string {
  return `range(start: ${fluxTime(fromMs + 1)}, stop: ${fluxTime(toMs + 1)})`;
}

export async function fiveMinutePrices(influx: InfluxReader, fromMs: number, toMs: number): Promise<PricePointItem[]> {
  const rows = await influx.rows(`from(bucket: ${fluxStr(influx.buckets.prices)})
  |> ${stampRange(fromMs, toMs)}
  |> filter(fn: (r) => r._measurement == "comed_price" and r.price_type == "5min" and r._field == "price_cents_kwh")
  |> keep(columns: ["_time", "_value"])
  |> sort(columns: ["_time"])`);
  return rows.map((row) => {
    const endMs = Date.parse(String(row._time));
    const price = Number(row._value);
    return {
      start: iso(intervalStart(endMs)),
      end: iso(endMs),
      avg_price_cents_kwh: price,
      min_price_cents_kwh: price,
      max_price_cents_kwh: price,
      count: 1,
    };
  });
}

export async function hourlyPrices(influx: InfluxReader, fromMs: number, toMs: number): Promise<PricePointItem[]> {
  const rows = await influx.rows(`from(bucket: ${fluxStr(influx.buckets.prices)})
  |> ${stampRange(fromMs, toMs)}
  |> filter(fn: (r) => r._measurement == "comed_price_hourly")
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> sort(columns: ["_time"])`);
  return rows.map((row) => {
    const hourEndMs = hourEndingFor(Date.parse(String(row._time)));
    return {
      start: iso(hourEndMs - HOUR_MS),
      end: iso(hourEndMs),
      avg_price_cents_kwh: num(row.avg_price) ?? 0,
      min_price_cents_kwh: num(row.min_price) ?? 0,
      max_price_cents_kwh: num(row.max_price) ?? 0,
      count: num(row.count) ?? 0,
    };
  });
}

/**
 * Calendar days in `timeZone` covering [fromMs, toMs), from the 5-minute
 * prices: each price counts in the local day its interval starts in, so the
 * price stamped 00:00 (23:55-00:00) closes the day before. Rows are streamed,
 * so a long range never sits in memory.
 */
export async function dailyPrices(
  influx: InfluxReader,
  fromMs: number,
  toMs: number,
  timeZone: string,
): Promise<PricePointItem[]> {
  const firstDay = localDateAt(fromMs, timeZone);
  const afterLastDay = addDays(localDateAt(toMs - 1, timeZone), 1);
  const startMs = startOfLocalDay(firstDay, timeZone);
  const endMs = startOfLocalDay(afterLastDay, timeZone);
  const days = new Map<string, { sum: number; min: number; max: number; count: number }>();
  const rows = await influx.stream(`from(bucket: ${fluxStr(influx.buckets.prices)})
  |> ${stampRange(startMs, endMs)}
  |> filter(fn: (r) => r._measurement == "comed_price" and r.price_type == "5min" and r._field == "price_cents_kwh")
  |> keep(columns: ["_time", "_value"])
  |> sort(columns: ["_time"])`);
  for await (const row of rows) {
    const price = num(row._value);
    if (price === null) continue;
    const day = formatLocalDate(localDateAt(intervalStart(Date.parse(String(row._time))), timeZone));
    const bucket = days.get(day);
    if (bucket) {
      bucket.sum += price;
      bucket.min = Math.min(bucket.min, price);
      bucket.max = Math.max(bucket.max, price);
      bucket.count++;
    } else {
      days.set(day, { sum: price, min: price, max: price, count: 1 });
    }
  }
  return [...days.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([day, bucket]) => {
      const date = parseLocalDate(day) as NonNullable<ReturnType<typeof parseLocalDate>>;
      return {
        start: iso(startOfLocalDay(date, timeZone)),
        end: iso(startOfLocalDay(addDays(date, 1), timeZone)),
        avg_price_cents_kwh: bucket.sum / bucket.count,
        min_price_cents_kwh: bucket.min,
        max_price_cents_kwh: bucket.max,
        count: bucket.count,
      };
    });
}
