/**
 * Pure decisions of the price poller: which points to write for a set of
 * prices, which hours of history to fetch again, and when the current price
 * counts as stale.
 */
import type { PointData } from '../contracts/influx-schema.js';
import { HOUR_MS, hourEndingOf, PRICES_PER_HOUR } from './comed-clock.js';
import type { PricePoint, PublishedHour } from './comed-parse.js';
import { type HourlyPrice, hourlyAggregates } from './hourly.js';

/** ComEd publishes every 5 minutes; a latest price older than this means the feed has stalled. */
export const STALE_AFTER_MS = 15 * 60 * 1000;

export function isPriceStale(feedTimeMs: number | undefined, nowMs: number): boolean {
  return feedTimeMs === undefined || nowMs - feedTimeMs > STALE_AFTER_MS;
}

/**
 * `comed_price` (price_type=5min) for each price, stamped with ComEd's stamp
 * (the interval's start), and `comed_price_hourly` for each hour the prices
 * touch that is over by `nowMs`, stamped with its hour ending. Fetching an
 * interval again rewrites the same points instead of adding duplicates.
 */
export function pricePoints(prices: readonly PricePoint[], nowMs: number): PointData[] {
  const points: PointData[] = prices.map((price) => ({
    measurement: 'comed_price',
    tags: { price_type: '5min' },
    fields: { price_cents_kwh: price.priceCentsPerKwh },
    timeMs: price.timeMs,
  }));
  for (const hour of hourlyAggregates(prices)) {
    if (hour.hourEndingMs > nowMs) continue;
    points.push(hourlyPoint(hour));
  }
  return points;
}

export function hourlyPoint(hour: HourlyPrice): PointData {
  return {
    measurement: 'comed_price_hourly',
    tags: {},
    fields: { avg_price: hour.avgPrice, min_price: hour.minPrice, max_price: hour.maxPrice, count: hour.count },
    timeMs: hour.hourEndingMs,
  };
}

/**
 * The running average of the current hour (ComEd's `currenthouraverage`,
 * stamped with the newest 5-minute price it holds), stored at the hour's
 * end so each poll rewrites one point.
 */
export function runningAveragePoint(average: PricePoint): PointData {
  return {
    measurement: 'comed_price',
    tags: { price_type: 'hourly_avg' },
    fields: { price_cents_kwh: average.priceCentsPerKwh },
    timeMs: hourEndingOf(average.timeMs),
  };
}

export interface TimeRange {
  fromMs: number;
  toMs: number;
}

/**
 * The ranges to fetch again so every hour ending in (fromMs, toMs] has its
 * twelve 5-minute prices: hours missing entirely or with fewer than twelve,
 * merged into contiguous ranges of whole hours, each the stamps [fromMs, toMs).
 */
export function rangesToRefetch(
  known: readonly { hourEndingMs: number; count: number }[],
  fromMs: number,
  toMs: number,
): TimeRange[] {
  const counts = new Map(known.map((hour) => [hour.hourEndingMs, hour.count]));
  const ranges: TimeRange[] = [];
  for (let hourEnd = hourEndingOf(fromMs); hourEnd <= toMs; hourEnd += HOUR_MS) {
    if ((counts.get(hourEnd) ?? 0) >= PRICES_PER_HOUR) continue;
    const last = ranges.at(-1);
    if (last && last.toMs === hourEnd - HOUR_MS) last.toMs = hourEnd;
    else ranges.push({ fromMs: hourEnd - HOUR_MS, toMs: hourEnd });
  }
  return ranges;
}

/**
 * `comed_price_dayahead`, one point per day-ahead hour whose label names one
 * hour (the fall-back day's repeated label names two: which one ComEd means
 * no recording says, so it is not stored).
 */
export function dayAheadPoints(hours: readonly PublishedHour[]): PointData[] {
  return hours.flatMap((hour) =>
    hour.hourEndingsMs.length === 1
      ? [
          {
            measurement: 'comed_price_dayahead' as const,
            tags: {},
            fields: { price_cents_kwh: hour.priceCentsPerKwh },
            timeMs: hour.hourEndingsMs[0] as number,
          },
        ]
      : [],
  );
}
