/** ComEd prices as the price poller stores them (comed_price, comed_price_hourly). */

import type { CurrentPrice } from '@twc/core/contracts/redis';
import { FIVE_MINUTES_MS, HOUR_MS } from '@twc/core/prices/comed-clock';
import { currentPrice } from '@twc/core/prices/current-price';
import { isPriceStale } from '@twc/core/prices/price-plan';
import type { z } from 'zod';
import { fluxStr, fluxTime, num } from '../core/flux.js';
import {
  addDays,
  formatLocalDate,
  localDateAt,
  localDayBoundary,
  parseLocalDate,
  startOfLocalDay,
} from '../core/periods.js';
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
  // The running average is stored at its hour's end (price-plan.ts); the newest price in it is
  // not stored with it, so the latest 5-minute price stands in when it lies in that hour.
  const stored = point('hourly_avg');
  const average = stored && {
    hourEndingMs: stored.timeMs,
    priceCentsPerKwh: stored.priceCentsPerKwh,
    timeMs:
      latest && latest.timeMs >= stored.timeMs - HOUR_MS && latest.timeMs < stored.timeMs
        ? latest.timeMs
        : stored.timeMs - HOUR_MS,
  };
  if (!latest && !average) return undefined;
  return currentPrice(latest, average, nowMs);
}

const iso = (timeMs: number) => new Date(timeMs).toISOString();

/** Points stamped in [fromMs, toMs). */
function stampRange(fromMs: number, toMs: number): string {
  return `range(start: ${fluxTime(fromMs)}, stop: ${fluxTime(toMs)})`;
}

/**
 * 5-minute prices whose interval starts in [fromMs, toMs): a price stamped S
 * covers [S, S + 5 min) (comed-clock.ts).
 */

export async function fiveMinutePrices(influx: InfluxReader, fromMs: number, toMs: number): Promise<PricePointItem[]> {
  const rows = await influx.rows(`from(bucket: ${fluxStr(influx.buckets.prices)})
  |> ${stampRange(fromMs, toMs)}
  |> filter(fn: (r) => r._measurement == "comed_price" and r.price_type == "5min" and r._field == "price_cents_kwh")
  |> keep(columns: ["_time", "_value"])
  |> sort(columns: ["_time"])`);
  return rows.map((row) => {
    const startMs = Date.parse(String(row._time));
    const price = Number(row._value);
    return {
      start: iso(startMs),
      end: iso(startMs + FIVE_MINUTES_MS),
      avg_price_cents_kwh: price,
      min_price_cents_kwh: price,
      max_price_cents_kwh: price,
      count: 1,
    };
  });
}

/** Hourly prices of the hours that start in [fromMs, toMs); each is stored at its hour ending. */
export async function hourlyPrices(influx: InfluxReader, fromMs: number, toMs: number): Promise<PricePointItem[]> {
  const rows = await influx.rows(`from(bucket: ${fluxStr(influx.buckets.prices)})
  |> ${stampRange(fromMs + HOUR_MS, toMs + HOUR_MS)}
  |> filter(fn: (r) => r._measurement == "comed_price_hourly")
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> sort(columns: ["_time"])`);
  return rows.map((row) => {
    const hourEndMs = Date.parse(String(row._time));
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
 * prices: each price counts in the local day its interval starts in, which is
 * the day of its stamp (00:00-00:05 opens the day). Rows are streamed, so a
 * long range never sits in memory.
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
  const endMs = localDayBoundary(afterLastDay, timeZone);
  const days = new Map<string, { sum: number; min: number; max: number; count: number }>();
  const rows = await influx.stream(`from(bucket: ${fluxStr(influx.buckets.prices)})
  |> ${stampRange(startMs, endMs)}
  |> filter(fn: (r) => r._measurement == "comed_price" and r.price_type == "5min" and r._field == "price_cents_kwh")
  |> keep(columns: ["_time", "_value"])
  |> sort(columns: ["_time"])`);
  for await (const row of rows) {
    const price = num(row._value);
    if (price === null) continue;
    const day = formatLocalDate(localDateAt(Date.parse(String(row._time)), timeZone));
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
        end: iso(localDayBoundary(addDays(date, 1), timeZone)),
        avg_price_cents_kwh: bucket.sum / bucket.count,
        min_price_cents_kwh: bucket.min,
        max_price_cents_kwh: bucket.max,
        count: bucket.count,
      };
    });
}
