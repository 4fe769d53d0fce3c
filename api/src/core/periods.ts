/**
 * Calendar periods (day, week, month, year) in the user's time zone. A local
 * day is 23 or 25 hours long when DST starts or ends, so period bounds are
 * local midnights converted to UTC instants, never start + 24 h. Weeks start
 * on Monday (ISO 8601). Pure.
 */
import { utcInstantsForWallClock, wallClockAt } from '@twc/core/time/wall-clock';

export type PeriodKind = 'day' | 'week' | 'month' | 'year';

export interface LocalDate {
  year: number;
  month: number;
  day: number;
}

export interface CalendarPeriod {
  kind: PeriodKind;
  /** First local day of the period, YYYY-MM-DD. */
  startDate: string;
  /** Last local day of the period, YYYY-MM-DD. */
  endDate: string;
  startMs: number;
  /** Exclusive: the first instant of the next period. */
  endMs: number;
}

/** Reads YYYY-MM-DD; undefined unless it is a real calendar date. */
export function parseLocalDate(text: string): LocalDate | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  const [year, month, day] = match.slice(1).map(Number) as [number, number, number];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    return undefined;
  }
  return { year, month, day };
}

export function formatLocalDate(date: LocalDate): string {
  return `${String(date.year).padStart(4, '0')}-${String(date.month).padStart(2, '0')}-${String(date.day).padStart(2, '0')}`;
}

/** The date `days` after `date` (negative: before), by the calendar. */
export function addDays(date: LocalDate, days: number): LocalDate {
  const shifted = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
}

function addMonths(date: LocalDate, months: number): LocalDate {
  const shifted = new Date(Date.UTC(date.year, date.month - 1 + months, 1));
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: 1 };
}

/**
 * A calendar day that never happened in a zone: Pacific/Apia skipped
 * 2011-12-30 and Pacific/Kwajalein 1993-08-21 when they moved across the
 * date line. A client asking for one is answered 400.
 */
export class NonexistentLocalDateError extends RangeError {
  override readonly name = 'NonexistentLocalDateError';
  constructor(
    readonly date: LocalDate,
    readonly timeZone: string,
  ) {
    super(`${formatLocalDate(date)} does not exist in ${timeZone} (the zone skipped that day)`);
  }
}

function startOfDayOrUndefined(date: LocalDate, timeZone: string): number | undefined {
  for (let hour = 0; hour < 24; hour++) {
    const [instant] = utcInstantsForWallClock({ ...date, hour, minute: 0 }, timeZone);
    if (instant !== undefined) return instant;
  }
  return undefined;
}

/**
 * The instant the local day starts. Where a zone skips midnight itself (DST
 * starting at 00:00, as in some zones), the day starts at the first local
 * time that exists. Throws NonexistentLocalDateError for a day the zone skipped.
 */
export function startOfLocalDay(date: LocalDate, timeZone: string): number {
  const instant = startOfDayOrUndefined(date, timeZone);
  if (instant === undefined) throw new NonexistentLocalDateError(date, timeZone);
  return instant;
}

/**
 * The instant local time reaches `date`: its start, or for a day the zone
 * skipped, the start of the next day that exists (where the day before ended).
 * For the exclusive end of a period.
 */
export function localDayBoundary(date: LocalDate, timeZone: string): number {
  // No zone has skipped more than one day at a time.
  for (let ahead = 0; ahead < 3; ahead++) {
    const instant = startOfDayOrUndefined(addDays(date, ahead), timeZone);
    if (instant !== undefined) return instant;
  }
  throw new NonexistentLocalDateError(date, timeZone);
}

/** The local calendar date at an instant. */
export function localDateAt(timeMs: number, timeZone: string): LocalDate {
  const wall = wallClockAt(timeMs, timeZone);
  return { year: wall.year, month: wall.month, day: wall.day };
}

function firstDay(kind: PeriodKind, date: LocalDate): LocalDate {
  switch (kind) {
    case 'day':
      return date;
    case 'week': {
      const weekday = new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
      return addDays(date, -((weekday + 6) % 7));
    }
    case 'month':
      return { year: date.year, month: date.month, day: 1 };
    case 'year':
      return { year: date.year, month: 1, day: 1 };
  }
}

function nextFirstDay(kind: PeriodKind, first: LocalDate): LocalDate {
  switch (kind) {
    case 'day':
      return addDays(first, 1);
    case 'week':
      return addDays(first, 7);
    case 'month':
      return addMonths(first, 1);
    case 'year':
      return { year: first.year + 1, month: 1, day: 1 };
  }
}

/**
 * The period of the given kind holding the local date; a day the zone
 * skipped has no period (NonexistentLocalDateError).
 */
export function calendarPeriod(kind: PeriodKind, date: LocalDate, timeZone: string): CalendarPeriod {
  if (kind === 'day') startOfLocalDay(date, timeZone);
  const first = firstDay(kind, date);
  const next = nextFirstDay(kind, first);
  return {
    kind,
    startDate: formatLocalDate(first),
    endDate: formatLocalDate(addDays(next, -1)),
    startMs: localDayBoundary(first, timeZone),
    endMs: localDayBoundary(next, timeZone),
  };
}

/** The period of the same kind just before (for a day, the day before that exists). */
export function previousPeriod(period: CalendarPeriod, timeZone: string): CalendarPeriod {
  const first = parseLocalDate(period.startDate) as LocalDate;
  let before = addDays(first, -1);
  if (period.kind === 'day') {
    for (let back = 0; back < 2 && startOfDayOrUndefined(before, timeZone) === undefined; back++) {
      before = addDays(before, -1);
    }
  }
  return calendarPeriod(period.kind, before, timeZone);
}
