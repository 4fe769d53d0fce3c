/**
 * ComEd's clock, in one place: which interval a price stamp covers, which
 * hour a price belongs to, which interval metered energy falls in. Every
 * other module maps times to intervals and hours through these functions.
 *
 * The rules:
 * - A 5-minute price stamped S (ComEd's `millisUTC`) is the price of the
 *   interval that STARTS at S: [S, S + 5 min). PJM labels its 5-minute
 *   intervals by their beginning and ComEd posts an interval's price as it
 *   begins.
 * - Hours are labelled by their end ("hour ending"), as ComEd publishes and
 *   bills them: the hour ending H is [H - 60 min, H) and its price is the
 *   average of the twelve prices stamped H - 60 min through H - 5 min. Its
 *   twelfth price is posted at H - 5 min, so an hour can be complete as soon
 *   as it ends.
 * - Energy metered in (S, S + 5 min] is energy of the interval stamped S: a
 *   meter reading exactly on a boundary closes the interval before it.
 *
 * - ComEd's published hourly prices (`rrtp/ServletFeed?type=day`) label an
 *   hour by the Chicago wall-clock hour it ENDS at: label 0 of a date is
 *   23:00-24:00 of the day before; on the spring-forward day label 2 does not
 *   exist (label 3 is 01:00-02:00 CST), and on the fall-back day label 1 names
 *   one of two hours and no recording says which (publishedHourEndings).
 *
 * Evidence (real recordings, tests/fixtures/comed/, tested in tests/prices/comed-clock.test.ts):
 * ComEd's own published hourly prices (`rrtp/ServletFeed?type=day`) for the
 * 2025 DST days, against the 5-minute recordings of the same days. With
 * these rules every one of the 41 published hours whose twelve prices are in
 * the recordings is reproduced within 0.1 cent (mean error 0.03 cent); with
 * the opposite reading (a stamp ends its interval) only 17 of 41 come within
 * 0.05 cent and the worst is 3.1 cents off.
 */

import { CHICAGO_TIME_ZONE, utcInstantsForWallClock, wallClockAt } from '../time/wall-clock.js';

export const FIVE_MINUTES_MS = 5 * 60 * 1000;
export const HOUR_MS = 60 * 60 * 1000;
export const PRICES_PER_HOUR = HOUR_MS / FIVE_MINUTES_MS;

function floorTo(timeMs: number, stepMs: number): number {
  return Math.floor(timeMs / stepMs) * stepMs;
}

/** The stamp of the 5-minute interval [S, S + 5 min) that holds the instant `timeMs`: the price in force then. */
export function intervalAt(timeMs: number): number {
  return floorTo(timeMs, FIVE_MINUTES_MS);
}

/**
 * The stamp of the interval that energy metered at `readingMs` belongs to:
 * the S with `readingMs` in (S, S + 5 min]. A reading on a boundary closes
 * the interval that ends there.
 */
export function intervalOfReading(readingMs: number): number {
  return Math.ceil(readingMs / FIVE_MINUTES_MS) * FIVE_MINUTES_MS - FIVE_MINUTES_MS;
}

/** The end of the interval stamped `stampMs`. */
export function intervalEnd(stampMs: number): number {
  return stampMs + FIVE_MINUTES_MS;
}

/** ComEd's "hour ending" label of the hour [H - 60 min, H) that holds the price stamped (or the instant) `timeMs`. */
export function hourEndingOf(timeMs: number): number {
  return floorTo(timeMs, HOUR_MS) + HOUR_MS;
}

/** The twelve 5-minute price stamps of the hour ending at `hourEndMs`, oldest first: H - 60 min through H - 5 min. */
export function stampsInHour(hourEndMs: number): number[] {
  return Array.from({ length: PRICES_PER_HOUR }, (_, i) => hourEndMs - HOUR_MS + i * FIVE_MINUTES_MS);
}

/** True when `timeMs` is exactly on the 5-minute grid (ComEd stamps always are). */
export function isOnFiveMinuteGrid(timeMs: number): boolean {
  return timeMs % FIVE_MINUTES_MS === 0;
}

/** A label of ComEd's hourly feeds: a Chicago local date (month 1-12) and an hour field 0-23. */
export interface HourLabel {
  year: number;
  month: number;
  day: number;
  hour: number;
}

/**
 * The hour ending instant(s) a label of ComEd's published hourly prices
 * (`type=day`) names: the hour ending at `hour`:00 Chicago wall-clock time of
 * the date. One normally; none for a wall-clock time the spring-forward day
 * skips; two for the one the fall-back day repeats (ComEd publishes 24 labels
 * for that 25-hour day, so one of the two hours has no label and the
 * recordings cannot tell which), earliest first.
 */
export function publishedHourEndings(label: HourLabel): number[] {
  return utcInstantsForWallClock({ ...label, minute: 0 }, CHICAGO_TIME_ZONE);
}

/**
 * ComEd's day-ahead feeds (`daynexttoday`, `daynexttomorrow`) have the form
 * of its published hourly prices, and their labels are read the same way:
 * the hour ENDING at that Chicago wall-clock time. No recording of the feeds
 * says so; it is the convention of `type=day` from the same servlet, and the
 * comed-poller checks it on every day it stores (day-ahead.ts): the
 * day-ahead curve must correlate best with the real-time hourly averages at
 * offset 0, and its /health and log say so when it does not.
 */
export const DAY_AHEAD_LABELS = 'hour-ending' as const;

/** The hour ending instant(s) a day-ahead label names (see DAY_AHEAD_LABELS). */
export function dayAheadHourEndings(label: HourLabel): number[] {
  return publishedHourEndings(label);
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** ComEd's `datestart`/`dateend` format: Chicago local wall clock as `YYYYMMDDhhmm`. */
export function formatComedLocal(timeMs: number): string {
  const wall = wallClockAt(timeMs, CHICAGO_TIME_ZONE);
  return `${pad(wall.year, 4)}${pad(wall.month, 2)}${pad(wall.day, 2)}${pad(wall.hour, 2)}${pad(wall.minute, 2)}`;
}

/**
 * Reads a ComEd `YYYYMMDDhhmm` local time as a sortable number of the same
 * digits, or undefined when it is not a valid date and time.
 */
export function parseComedLocal(text: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute] = match.slice(1).map(Number) as [number, number, number, number, number];
  const check = new Date(Date.UTC(year, month - 1, day, hour, minute));
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== hour ||
    check.getUTCMinutes() !== minute
  ) {
    return undefined;
  }
  return Number(text);
}

/** The Chicago local wall clock at `timeMs` as the sortable number `YYYYMMDDhhmm`. */
export function comedLocalNumber(timeMs: number): number {
  return Number(formatComedLocal(timeMs));
}
