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
 * The instant the local day starts. Where a zone skips midnight itself (DST
 * starting at 00:00, as in some zones), the day starts at the first local
 * time that exists.
 */
export function startOfLocalDay(date: LocalDate, timeZone: string): number {
  for (let hour = 0; hour < 24; hour++) {
    const [instant] = utcInstantsForWallClock({ ...date, hour, minute: 0 }, timeZone);
    if (instant !== undefined) return instant;
  }
  throw new RangeError(`no local time exists on ${formatLocalDate(date)} in ${timeZone}`);
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

/** The period of the given kind holding the local date. */
export function calendarPeriod(kind: PeriodKind, date: LocalDate, timeZone: string): CalendarPeriod {
  const first = firstDay(kind, date);
  const next = nextFirstDay(kind, first);
  return {
    kind,
    startDate: formatLocalDate(first),
    endDate: formatLocalDate(addDays(next, -1)),
    startMs: startOfLocalDay(first, timeZone),
    endMs: startOfLocalDay(next, timeZone),
  };
}

/** The period of the same kind just before. */
export function previousPeriod(period: CalendarPeriod, timeZone: string): CalendarPeriod {
  const first = parseLocalDate(period.startDate) as LocalDate;
  return calendarPeriod(period.kind, addDays(first, -1), timeZone);
}
