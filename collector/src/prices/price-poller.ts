import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../logger.js';
import type { InfluxWriter } from '../storage/influx-writer.js';
import { type ComedClient, ComedRequestError, planRangePieces } from './comed-client.js';
import type { PricePoint } from './comed-parse.js';
import { FIVE_MINUTES_MS, HOUR_MS, hourEndingFor } from './intervals.js';
import { pricePoints, rangesToRefetch, runningAveragePoint, type TimeRange } from './price-plan.js';
import { type CurrentPrice, currentPrice, type PriceState } from './redis-price-state.js';

const DAY_MS = 24 * HOUR_MS;

export interface PricePollerOptions {
  client: ComedClient;
  writer: InfluxWriter;
  bucket: string;
  state: PriceState;
  logger: Logger;
  pollIntervalMs: number;
  backfillDays: number;
  /** Where backfill progress is kept, so an interrupted backfill resumes. */
  progressFile: string;
  /** Hourly counts InfluxDB holds for hours ending in (fromMs, toMs]. */
  knownHours(fromMs: number, toMs: number): Promise<{ hourEndingMs: number; count: number }[]>;
  /** Wait after a failed backfill piece before trying again. */
  backfillRetryMs?: number;
  historyCheckIntervalMs?: number;
  now?: () => number;
}

export interface PricePollerStats {
  polls: number;
  failedPolls: number;
  backfill: { done: number; total: number; complete: boolean };
  refetchedHours: number;
  latest: CurrentPrice | undefined;
}

export interface PricePoller {
  start(): void;
  stop(): Promise<void>;
  /** One poll of the live feed and the running hour average. */
  pollOnce(): Promise<void>;
  /** Fetches the history window, resuming from the saved progress. */
  backfill(): Promise<void>;
  /** Re-fetches every hour of the history window with fewer than twelve 5-minute prices. */
  checkHistory(): Promise<void>;
  stats(): PricePollerStats;
}

interface BackfillProgress {
  /** The oldest time the backfill covers. */
  startMs: number;
  /** Everything in (startMs, doneUntilMs] has been fetched and written. */
  doneUntilMs: number;
}

function readProgress(file: string): BackfillProgress | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as BackfillProgress;
    return Number.isFinite(parsed.startMs) && Number.isFinite(parsed.doneUntilMs) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function writeProgress(file: string, progress: BackfillProgress): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(progress));
  renameSync(`${file}.tmp`, file);
}

function describe(error: unknown): string {
  if (error instanceof ComedRequestError) return `${error.kind}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The ComEd poller: the live feed and running hour average every few
 * minutes, a resumable backfill of history at start-up, and a daily check
 * that fills hours ComEd was missing when first fetched. Every write goes
 * through the spooling InfluxDB writer; points are stamped with the interval
 * they price, so fetching again rewrites instead of duplicating.
 */
export function createPricePoller(options: PricePollerOptions): PricePoller {
  const { client, writer, logger } = options;
  const now = options.now ?? Date.now;
  const log = logger.child({ module: 'price-poller' });
  const backfillRetryMs = options.backfillRetryMs ?? 10 * 60_000;
  const historyCheckIntervalMs = options.historyCheckIntervalMs ?? DAY_MS;
  let latest: PricePoint | undefined;
  let average: PricePoint | undefined;
  let current: CurrentPrice | undefined;
  let failing = false;
  const counters = { polls: 0, failedPolls: 0, refetchedHours: 0 };
  const backfillStats = { done: 0, total: 0, complete: false };
  const timers = new Set<NodeJS.Timeout>();
  let started = false;
  let stopped = false;
  const running = new Set<Promise<void>>();

  function track(task: Promise<void>): void {
    running.add(task);
    task.finally(() => running.delete(task));
  }

  function later(delayMs: number, task: () => Promise<void>): void {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) track(task());
    }, delayMs);
    timers.add(timer);
  }

  function writePrices(prices: PricePoint[], coveredFromMs: number): void {
    // Only hours whose whole span was fetched get an hourly aggregate; a partial
    // hour at the edge of a fetch must not overwrite a complete one.
    const points = pricePoints(prices, now()).filter(
      (point) => point.measurement !== 'comed_price_hourly' || point.timeMs - HOUR_MS >= coveredFromMs,
    );
    writer.write(options.bucket, 'durable', points);
  }

  async function pollOnce(): Promise<void> {
    counters.polls++;
    try {
      const feed = await client.fiveMinuteFeed();
      const newest = feed.prices.at(-1);
      const oldest = feed.prices[0];
      if (oldest) writePrices(feed.prices, oldest.timeMs - FIVE_MINUTES_MS);
      let hourAverage: PricePoint | undefined;
      try {
        hourAverage = await client.currentHourAverage();
        writer.write(options.bucket, 'durable', [runningAveragePoint(hourAverage)]);
      } catch (error) {
        log.debug({ err: describe(error) }, 'current hour average unavailable');
      }
      const changed =
        newest?.timeMs !== latest?.timeMs ||
        newest?.priceCentsPerKwh !== latest?.priceCentsPerKwh ||
        hourAverage?.priceCentsPerKwh !== average?.priceCentsPerKwh;
      latest = newest ?? latest;
      average = hourAverage ?? average;
      current = currentPrice(latest, average, now());
      await options.state.save(current, changed);
      if (failing) log.info({ latest: current.five_minute }, 'ComEd prices flowing again');
      failing = false;
    } catch (error) {
      counters.failedPolls++;
      if (!failing) log.warn({ err: describe(error) }, 'ComEd price poll failed; will keep trying');
      failing = true;
      // Keep the last known price readable, flagged stale once it is old.
      current = currentPrice(latest, average, now());
      await options.state.save(current, false);
    }
  }

  async function backfill(): Promise<void> {
    const endMs = Math.floor(now() / FIVE_MINUTES_MS) * FIVE_MINUTES_MS;
    const wantedStartMs = hourEndingFor(endMs - options.backfillDays * DAY_MS) - HOUR_MS;
    const saved = readProgress(options.progressFile);
    // A saved progress covering the wanted window resumes; a longer window set since starts over.
    const progress: BackfillProgress =
      saved && saved.startMs <= wantedStartMs
        ? { startMs: saved.startMs, doneUntilMs: Math.max(saved.doneUntilMs, wantedStartMs) }
        : { startMs: wantedStartMs, doneUntilMs: wantedStartMs };
    if (progress.doneUntilMs >= endMs) {
      backfillStats.complete = true;
      return;
    }
    const pieces = planRangePieces(progress.doneUntilMs, endMs);
    backfillStats.total = pieces.length;
    backfillStats.done = 0;
    const started = now();
    log.info(
      { from: new Date(progress.doneUntilMs).toISOString(), to: new Date(endMs).toISOString(), pieces: pieces.length },
      saved ? 'resuming price backfill' : 'starting price backfill',
    );
    for (const piece of pieces) {
      if (stopped) return;
      const fetched = await client.fiveMinuteRange(piece.fromMs, piece.toMs);
      writePrices(fetched.prices, piece.fromMs);
      // The progress marker moves only once the piece is in InfluxDB or the spool.
      await writer.flush();
      progress.doneUntilMs = piece.toMs;
      writeProgress(options.progressFile, progress);
      backfillStats.done++;
      const elapsedS = (now() - started) / 1000;
      const rate = backfillStats.done / Math.max(elapsedS, 0.001);
      log.info(
        {
          done: backfillStats.done,
          total: backfillStats.total,
          prices: fetched.prices.length,
          ratePerMin: Math.round(rate * 60 * 10) / 10,
          etaS: Math.round((backfillStats.total - backfillStats.done) / rate),
        },
        'price backfill progress',
      );
    }
    backfillStats.complete = true;
    log.info({ pieces: pieces.length }, 'price backfill complete');
  }

  async function checkHistory(): Promise<void> {
    const lastCompleteHour = hourEndingFor(now()) - HOUR_MS;
    const fromMs = lastCompleteHour - options.backfillDays * DAY_MS;
    const known = await options.knownHours(fromMs, lastCompleteHour);
    const ranges = rangesToRefetch(known, fromMs, lastCompleteHour);
    // Neighbouring gaps less than a day apart are fetched in one request.
    const merged: TimeRange[] = [];
    for (const range of ranges) {
      const last = merged.at(-1);
      if (last && range.fromMs - last.toMs < DAY_MS) last.toMs = range.toMs;
      else merged.push({ ...range });
    }
    for (const range of merged) {
      if (stopped) return;
      const fetched = await client.fiveMinuteRange(range.fromMs, range.toMs);
      writePrices(fetched.prices, range.fromMs);
    }
    const hours = ranges.reduce((sum, range) => sum + (range.toMs - range.fromMs) / HOUR_MS, 0);
    counters.refetchedHours += hours;
    if (hours > 0) log.info({ hours, requests: merged.length }, 're-fetched hours with missing 5-minute prices');
    await writer.flush();
  }

  async function pollLoop(): Promise<void> {
    await pollOnce();
    later(options.pollIntervalMs, pollLoop);
  }

  async function historyLoop(): Promise<void> {
    try {
      if (!backfillStats.complete) await backfill();
      await checkHistory();
      later(historyCheckIntervalMs, historyLoop);
    } catch (error) {
      log.warn({ err: describe(error), retryInS: backfillRetryMs / 1000 }, 'price history fetch failed; will retry');
      later(backfillRetryMs, historyLoop);
    }
  }

  return {
    start() {
      if (started) return;
      started = true;
      stopped = false;
      track(pollLoop());
      track(historyLoop());
    },
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled([...running]);
    },
    pollOnce,
    backfill,
    checkHistory,
    stats: () => ({ ...counters, backfill: { ...backfillStats }, latest: current }),
  };
}
