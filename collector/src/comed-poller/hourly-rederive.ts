/**
 * Stored hourly prices re-derived from the stored 5-minute prices, a Chicago
 * month at a time: the upgrade step after the price clock was corrected
 * (an installation of before then grouped the prices stamped H-55 .. H into
 * the hour ending H; comed-clock.ts says H-60 .. H-5), and `twc reprice`.
 * Each piece deletes the piece's hourly points and writes them again from the
 * 5-minute prices, so running it twice, or again after an interruption,
 * gives the same store.
 */

import { HOUR_MS } from '@twc/core/prices/comed-clock';
import type { PricePoint } from '@twc/core/prices/comed-parse';
import { hourlyAggregates } from '@twc/core/prices/hourly';
import { hourlyPoint } from '@twc/core/prices/price-plan';
import type { DeletePoints } from '@twc/runtime/influx-delete';
import type { InfluxWriter } from '@twc/runtime/influx-writer';
import { planRangePieces } from './comed-client.js';

export interface HourlyRederiveDeps {
  bucket: string;
  writer: InfluxWriter;
  deletePoints: DeletePoints;
  /** The stored 5-minute prices stamped in [fromMs, toMs). */
  storedPrices(fromMs: number, toMs: number): Promise<PricePoint[]>;
}

export interface RederivePiece {
  fromMs: number;
  toMs: number;
  hours: number;
}

/**
 * Re-derives the hours that start in [fromMs, toMs), both on the hour grid.
 * `onPiece` runs once each piece is written (or spooled): the caller keeps
 * its progress there.
 */
export async function rederiveHourlyPrices(
  deps: HourlyRederiveDeps,
  fromMs: number,
  toMs: number,
  onPiece: (piece: RederivePiece) => void | Promise<void> = () => {},
  shouldStop: () => boolean = () => false,
): Promise<number> {
  if (fromMs % HOUR_MS !== 0 || toMs % HOUR_MS !== 0) throw new RangeError('rederive: bounds must be on the hour');
  if (toMs <= fromMs) return 0;
  let hoursWritten = 0;
  for (const piece of planRangePieces(fromMs, toMs)) {
    if (shouldStop()) break;
    const prices = await deps.storedPrices(piece.fromMs, piece.toMs);
    const hours = hourlyAggregates(prices);
    // Hourly points are stamped with their hour ending: those of this piece lie in (from, to].
    await deps.deletePoints(deps.bucket, 'comed_price_hourly', piece.fromMs + 1, piece.toMs);
    deps.writer.write(deps.bucket, 'durable', hours.map(hourlyPoint));
    await deps.writer.flush();
    hoursWritten += hours.length;
    await onPiece({ fromMs: piece.fromMs, toMs: piece.toMs, hours: hours.length });
  }
  return hoursWritten;
}
