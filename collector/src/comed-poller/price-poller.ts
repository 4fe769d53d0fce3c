import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CurrentPrice } from '@twc/core/contracts/redis';
import { FIVE_MINUTES_MS, HOUR_MS, hourEndingOf, intervalAt } from '@twc/core/prices/comed-clock';
import type { PricePoint } from '@twc/core/prices/comed-parse';
import { currentPrice, type RunningAverage, runningAverageOf } from '@twc/core/prices/current-price';
import { checkDayAheadLabels, type LabelCheck } from '@twc/core/prices/day-ahead';
import {
  dayAheadPoints,
  pricePoints,
  rangesToRefetch,
  runningAveragePoint,
  type TimeRange,
} from '@twc/core/prices/price-plan';
import {
  checkPublishedHours,
  type DayCheck,
  PUBLISHED_MISMATCH_ALERT_SHARE,
  publishedCheckPoints,
} from '@twc/core/prices/published-check';
import { CHICAGO_TIME_ZONE, utcInstantsForWallClock, wallClockAt } from '@twc/core/time/wall-clock';
import type { DeletePoints } from '@twc/runtime/influx-delete';
import type { InfluxWriter } from '@twc/runtime/influx-writer';
import type { Logger } from '@twc/runtime/logger';
import { type ComedClient, ComedRequestError, planRangePieces } from './comed-client.js';
import type { ForecastPublisher, ForecastPublisherStats } from './forecast-publisher.js';
import { rederiveHourlyPrices } from './hourly-rederive.js';
import type { PriceState } from './redis-price-state.js';

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
  /** The hourly prices InfluxDB holds for hours ending in (fromMs, toMs]. */
  knownHours(fromMs: number, toMs: number): Promise<{ hourEndingMs: number; count: number; avgPrice: number }[]>;
  /** The stored 5-minute prices stamped in [fromMs, toMs), oldest first. */
  storedPrices(fromMs: number, toMs: number): Promise<PricePoint[]>;
  /** The oldest and newest stored 5-minute price stamps; undefined when none is stored. */
  storedPriceRange(): Promise<{ firstMs: number; lastMs: number } | undefined>;
  deletePoints: DeletePoints;
  /** The stored day-ahead prices of the hours ending in (fromMs, toMs]. */
  storedDayAhead(fromMs: number, toMs: number): Promise<Map<number, number>>;
  /** Publishes the forecast of the hours ahead after each poll and measures its errors daily; none: no forecast. */
  forecast?: ForecastPublisher;
  /** Where the day-ahead backfill keeps its progress (the last Chicago date fetched). */
  dayAheadFile: string;
  /** Pause between the day-ahead requests of a backfill (one per day). Default 2 s. */
  requestSpacingMs?: number;
  /**
   * Where the progress of the one-time price-clock upgrade is kept (stored
   * hourly prices re-derived on the corrected clock, comed-clock.ts).
   */
  upgradeFile: string;
  /** Wait after a failed backfill piece before trying again. */
  backfillRetryMs?: number;
  historyCheckIntervalMs?: number;
  now?: () => number;
}

export type PublishedCheckStats = Omit<DayCheck, 'hours'> & {
  /** The Chicago date last checked, YYYY-MM-DD. */
  date: string;
};

export interface PricePollerStats {
  polls: number;
  failedPolls: number;
  backfill: { done: number; total: number; complete: boolean };
  refetchedHours: number;
  /** The one-time re-derivation of hourly prices on the corrected price clock. */
  upgrade: { complete: boolean; hours: number };
  /** ComEd's published hours against ours: the latest day checked, and hours mismatched over the service's life. */
  published: { latest: PublishedCheckStats | undefined; checkedDays: number; mismatchedHours: number };
  dayAhead: {
    /** The Chicago date whose day-ahead prices were fetched last (tomorrow's, once published). */
    latestDate: string | null;
    backfill: { done: number; total: number; complete: boolean };
    /** How day-ahead labels line up with real-time prices over the last four weeks (day-ahead.ts). */
    labels: LabelCheck | null;
  };
  forecast: ForecastPublisherStats | null;
  latest: CurrentPrice | undefined;
  /** The latest 5-minute price is in Redis, where the API and the bridge read it. */
  priceCached: boolean;
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
  /** Once per installation: re-derives every stored hourly price on the corrected price clock, resuming. */
  upgradePriceClock(): Promise<void>;
  /** Fetches ComEd's published hours of the two Chicago days before today, stores them and compares them with ours. */
  checkPublished(): Promise<void>;
  /** From 16:00 Chicago time: fetches tomorrow's day-ahead prices until ComEd has published them, once a day; true when it stored them. */
  pollDayAhead(): Promise<boolean>;
  /** Fetches the day-ahead prices of every day of the history window up to today, resuming. */
  backfillDayAhead(): Promise<void>;
  /** Checks on the last four weeks that day-ahead labels are read as ComEd means them. */
  checkDayAhead(): Promise<void>;
  stats(): PricePollerStats;
}

interface BackfillProgress {
  /** The oldest time the backfill covers. */
  startMs: number;
  /** Every price stamped in [startMs, doneUntilMs) has been fetched and written. */
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

interface UpgradeProgress {
  /** Hours starting before this are re-derived. */
  doneUntilMs: number | null;
  complete: boolean;
}

/** Starts the day's look for tomorrow's day-ahead prices: ComEd publishes them around 16:30. */
const DAY_AHEAD_FROM_HOUR = 16;
const DAY_AHEAD_CHECK_DAYS = 28;

function readJsonFile<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function readUpgrade(file: string): UpgradeProgress {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as UpgradeProgress;
    if (typeof parsed.complete === 'boolean') return parsed;
  } catch {
    // none yet
  }
  return { doneUntilMs: null, complete: false };
}

function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(value));
  renameSync(`${file}.tmp`, file);
}

/** The Chicago calendar date `daysBack` days before the one holding `timeMs`, and the instant it starts. */
function chicagoDateBefore(
  timeMs: number,
  daysBack: number,
): { year: number; month: number; day: number; startMs: number; text: string } {
  const today = wallClockAt(timeMs, CHICAGO_TIME_ZONE);
  const date = new Date(Date.UTC(today.year, today.month - 1, today.day - daysBack));
  const fields = { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
  const [startMs] = utcInstantsForWallClock({ ...fields, hour: 0, minute: 0 }, CHICAGO_TIME_ZONE);
  return { ...fields, startMs: startMs as number, text: date.toISOString().slice(0, 10) };
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
  let average: RunningAverage | undefined;
  let current: CurrentPrice | undefined;
  let failing = false;
  let priceCached = false;
  const counters = { polls: 0, failedPolls: 0, refetchedHours: 0 };
  const upgradeStats = { complete: false, hours: 0 };
  const publishedStats: PricePollerStats['published'] = { latest: undefined, checkedDays: 0, mismatchedHours: 0 };
  const dayAheadStats: PricePollerStats['dayAhead'] = {
    latestDate: null,
    backfill: { done: 0, total: 0, complete: false },
    labels: null,
  };
  const requestSpacingMs = options.requestSpacingMs ?? 2000;
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
      if (oldest) writePrices(feed.prices, oldest.timeMs);
      let hourAverage: RunningAverage | undefined;
      try {
        const answer = await client.currentHourAverage();
        hourAverage = runningAverageOf(answer);
        writer.write(options.bucket, 'durable', [runningAveragePoint(answer)]);
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
      priceCached = (await options.state.save(current, changed)) && current.five_minute !== null;
      if (failing) log.info({ latest: current.five_minute }, 'ComEd prices flowing again');
      failing = false;
    } catch (error) {
      counters.failedPolls++;
      if (!failing) log.warn({ err: describe(error) }, 'ComEd price poll failed; will keep trying');
      failing = true;
      // Keep the last known price readable, flagged stale once it is old.
      current = currentPrice(latest, average, now());
      priceCached = (await options.state.save(current, false)) && current.five_minute !== null;
    }
  }

  async function backfill(): Promise<void> {
    // Up to the interval in force now: ComEd posts a price as its interval begins.
    const endMs = intervalAt(now()) + FIVE_MINUTES_MS;
    const wantedStartMs = hourEndingOf(endMs - options.backfillDays * DAY_MS) - HOUR_MS;
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
      writeJson(options.progressFile, progress);
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
    // The hour ending H is complete at H: its twelfth price is stamped H - 5 min.
    const lastCompleteHour = hourEndingOf(now()) - HOUR_MS;
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

  async function upgradePriceClock(): Promise<void> {
    const progress = readUpgrade(options.upgradeFile);
    if (progress.complete) {
      upgradeStats.complete = true;
      return;
    }
    const range = await options.storedPriceRange();
    // Hours over by now; the running one is rewritten by every poll anyway.
    const untilMs = hourEndingOf(now()) - HOUR_MS;
    // From an hour before the first stamp's hour: the old clock put a stamp on the hour into the
    // hour ending at it, so the oldest stored hourly point can end at the first stamp.
    const fromMs = progress.doneUntilMs ?? (range ? hourEndingOf(range.firstMs) - 2 * HOUR_MS : untilMs);
    if (range && fromMs < untilMs) {
      log.info(
        { from: new Date(fromMs).toISOString(), to: new Date(untilMs).toISOString() },
        progress.doneUntilMs === null
          ? 'price clock upgrade: re-deriving stored hourly prices (a 5-minute stamp starts its interval)'
          : 'price clock upgrade: resuming',
      );
      await rederiveHourlyPrices(
        { bucket: options.bucket, writer, deletePoints: options.deletePoints, storedPrices: options.storedPrices },
        fromMs,
        untilMs,
        (piece) => {
          upgradeStats.hours += piece.hours;
          writeJson(options.upgradeFile, { doneUntilMs: piece.toMs, complete: false } satisfies UpgradeProgress);
        },
        () => stopped,
      );
      if (stopped) return;
    }
    writeJson(options.upgradeFile, { doneUntilMs: untilMs, complete: true } satisfies UpgradeProgress);
    upgradeStats.complete = true;
    if (range) log.info({ hours: upgradeStats.hours }, 'price clock upgrade: stored hourly prices re-derived');
  }

  async function checkPublished(): Promise<void> {
    // The two days before today: yesterday, and the day before in case a check was missed.
    for (const daysBack of [2, 1]) {
      if (stopped) return;
      const date = chicagoDateBefore(now(), daysBack);
      const { hours, skipped } = await client.publishedHours(date);
      const endings = hours.flatMap((hour) => hour.hourEndingsMs);
      if (endings.length === 0) continue;
      const stored = await options.knownHours(Math.min(...endings) - 1, Math.max(...endings));
      const byHour = new Map(stored.map((hour) => [hour.hourEndingMs, hour]));
      const check = checkPublishedHours(hours, (hourEndingMs) => byHour.get(hourEndingMs));
      writer.write(options.bucket, 'durable', publishedCheckPoints(check, date.startMs));
      const { hours: _hours, ...summary } = check;
      const latest: PublishedCheckStats = { date: date.text, ...summary };
      const previous = publishedStats.latest;
      if (previous?.date !== latest.date) {
        publishedStats.checkedDays++;
        publishedStats.mismatchedHours += check.mismatched;
      }
      publishedStats.latest = latest;
      const level =
        check.mismatchShare !== null && check.mismatchShare > PUBLISHED_MISMATCH_ALERT_SHARE ? 'warn' : 'info';
      log[level]({ ...latest, skipped }, "ComEd's published hourly prices compared with ours");
    }
    await writer.flush();
  }

  async function pollDayAhead(): Promise<boolean> {
    if (wallClockAt(now(), CHICAGO_TIME_ZONE).hour < DAY_AHEAD_FROM_HOUR) return false;
    const tomorrow = chicagoDateBefore(now(), -1);
    if (dayAheadStats.latestDate !== null && dayAheadStats.latestDate >= tomorrow.text) return false;
    const { hours } = await client.dayAheadHours();
    // `[]` until published; an answer for another day is not tomorrow's either.
    const forTomorrow = hours.filter(
      ({ label }) => label.year === tomorrow.year && label.month === tomorrow.month && label.day === tomorrow.day,
    );
    if (forTomorrow.length === 0) return false;
    writer.write(options.bucket, 'durable', dayAheadPoints(forTomorrow));
    await writer.flush();
    dayAheadStats.latestDate = tomorrow.text;
    log.info({ date: tomorrow.text, hours: forTomorrow.length }, "tomorrow's day-ahead prices stored");
    return true;
  }

  async function backfillDayAhead(): Promise<void> {
    const saved = readJsonFile<{ doneThrough: string }>(options.dayAheadFile);
    const dates = [];
    for (let daysBack = options.backfillDays; daysBack >= 0; daysBack--) {
      const date = chicagoDateBefore(now(), daysBack);
      if (saved && date.text <= saved.doneThrough && daysBack > 0) continue;
      dates.push(date);
    }
    dayAheadStats.backfill = { done: 0, total: dates.length, complete: false };
    for (const [index, date] of dates.entries()) {
      if (stopped) return;
      if (index > 0 && requestSpacingMs > 0) await sleep(requestSpacingMs);
      const { hours } = await client.dayAheadHours(date);
      writer.write(options.bucket, 'durable', dayAheadPoints(hours));
      await writer.flush();
      writeJson(options.dayAheadFile, { doneThrough: date.text });
      dayAheadStats.backfill.done++;
      if (dayAheadStats.latestDate === null || date.text > dayAheadStats.latestDate)
        dayAheadStats.latestDate = date.text;
    }
    dayAheadStats.backfill.complete = true;
    if (dates.length > 1) log.info({ days: dates.length }, 'day-ahead price backfill complete');
  }

  async function checkDayAhead(): Promise<void> {
    const toMs = hourEndingOf(now()) - HOUR_MS;
    const fromMs = toMs - DAY_AHEAD_CHECK_DAYS * DAY_MS;
    const [dayAhead, hours] = await Promise.all([
      options.storedDayAhead(fromMs, toMs),
      options.knownHours(fromMs, toMs),
    ]);
    const realTime = new Map(
      hours.filter((hour) => hour.count >= 12).map((hour) => [hour.hourEndingMs, hour.avgPrice]),
    );
    const labels = checkDayAheadLabels(dayAhead, realTime, [-1, 0, 1]);
    dayAheadStats.labels = labels;
    if (labels.bestOffsetHours === null) return;
    const correlation = (offset: number) =>
      labels.offsets.find((entry) => entry.offsetHours === offset)?.correlation ?? null;
    writer.write(options.bucket, 'durable', [
      {
        measurement: 'comed_dayahead_check',
        tags: {},
        fields: {
          best_offset_h: labels.bestOffsetHours,
          r_minus1: correlation(-1),
          r_0: correlation(0),
          r_plus1: correlation(1),
          pairs: labels.offsets.find((entry) => entry.offsetHours === 0)?.pairs ?? 0,
        },
        timeMs: toMs,
      },
    ]);
    if (labels.bestOffsetHours !== 0) {
      log.warn(
        { offsets: labels.offsets },
        'day-ahead prices line up best with real-time prices an hour off: ComEd labels them otherwise than read here',
      );
    }
  }

  async function pollLoop(): Promise<void> {
    await pollOnce();
    // Tomorrow's day-ahead prices are only a forecast: a failure there must not hold the live price up.
    const dayAheadArrived = await pollDayAhead().catch((error: unknown) => {
      log.debug({ err: describe(error) }, 'day-ahead prices unavailable; will try at the next poll');
      return false;
    });
    // The written prices must be readable before the forecast reads them back.
    if (options.forecast) {
      await writer.flush();
      await options.forecast.refresh(current, dayAheadArrived);
    }
    later(options.pollIntervalMs, pollLoop);
  }

  async function historyLoop(): Promise<void> {
    try {
      if (!upgradeStats.complete) await upgradePriceClock();
      if (!backfillStats.complete) await backfill();
      if (!dayAheadStats.backfill.complete) {
        await backfillDayAhead().catch((error: unknown) => {
          log.warn({ err: describe(error) }, 'day-ahead price backfill failed; will resume tomorrow');
        });
      }
      await checkHistory();
      // A broken published feed must not hold up the history: it is only a check.
      await checkPublished().catch((error: unknown) => {
        log.warn({ err: describe(error) }, "could not check ComEd's published hourly prices; will try tomorrow");
      });
      await checkDayAhead().catch((error: unknown) => {
        log.warn({ err: describe(error) }, 'could not check the day-ahead labels; will try tomorrow');
      });
      await options.forecast?.measureAccuracy().catch((error: unknown) => {
        log.warn({ err: describe(error) }, 'could not backtest the forward prices; will try tomorrow');
      });
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
    upgradePriceClock,
    checkPublished,
    pollDayAhead,
    backfillDayAhead,
    checkDayAhead,
    stats: () => ({
      ...counters,
      backfill: { ...backfillStats },
      upgrade: { ...upgradeStats },
      published: { ...publishedStats, latest: publishedStats.latest && { ...publishedStats.latest } },
      dayAhead: { ...dayAheadStats, backfill: { ...dayAheadStats.backfill } },
      forecast: options.forecast?.stats() ?? null,
      latest: current,
      priceCached,
    }),
  };
}
