import { describe, expect, it } from 'vitest';
import {
  calendarPeriod,
  type PeriodKind,
  parseLocalDate,
  previousPeriod,
  startOfLocalDay,
} from '../../src/core/periods.js';

const iso = (ms: number) => new Date(ms).toISOString();

describe('calendar periods', () => {
  const cases: [PeriodKind, string, string, string, string, string][] = [
    ['day', '2026-03-08', 'America/Chicago', '2026-03-08T06:00:00.000Z', '2026-03-09T05:00:00.000Z', '2026-03-08'],
    ['day', '2026-11-01', 'America/Chicago', '2026-11-01T05:00:00.000Z', '2026-11-02T06:00:00.000Z', '2026-11-01'],
    ['week', '2026-03-11', 'America/Chicago', '2026-03-09T05:00:00.000Z', '2026-03-16T05:00:00.000Z', '2026-03-09'],
    ['week', '2026-03-09', 'America/Chicago', '2026-03-09T05:00:00.000Z', '2026-03-16T05:00:00.000Z', '2026-03-09'],
    ['week', '2026-03-15', 'America/Chicago', '2026-03-09T05:00:00.000Z', '2026-03-16T05:00:00.000Z', '2026-03-09'],
    ['month', '2026-02-14', 'America/Chicago', '2026-02-01T06:00:00.000Z', '2026-03-01T06:00:00.000Z', '2026-02-01'],
    ['month', '2026-12-31', 'Europe/Berlin', '2026-11-30T23:00:00.000Z', '2026-12-31T23:00:00.000Z', '2026-12-01'],
    ['year', '2026-07-04', 'America/Chicago', '2026-01-01T06:00:00.000Z', '2027-01-01T06:00:00.000Z', '2026-01-01'],
  ];
  it.each(cases)('%s of %s in %s', (kind, date, zone, start, end, startDate) => {
    const period = calendarPeriod(kind, parseLocalDate(date) as never, zone);
    expect([iso(period.startMs), iso(period.endMs), period.startDate]).toEqual([start, end, startDate]);
  });

  it('steps back to the period before, across a year end', () => {
    const january = calendarPeriod('month', { year: 2026, month: 1, day: 20 }, 'America/Chicago');
    expect(previousPeriod(january, 'America/Chicago')).toMatchObject({
      startDate: '2025-12-01',
      endDate: '2025-12-31',
    });
  });

  it('starts a day whose midnight does not exist at the first local time that does', () => {
    // America/Santiago moved clocks from 00:00 to 01:00 on 2025-09-07.
    expect(iso(startOfLocalDay({ year: 2025, month: 9, day: 7 }, 'America/Santiago'))).toBe('2025-09-07T04:00:00.000Z');
  });

  it('reads only real dates', () => {
    expect(parseLocalDate('2026-02-29')).toBeUndefined();
    expect(parseLocalDate('2028-02-29')).toEqual({ year: 2028, month: 2, day: 29 });
    expect(parseLocalDate('2026-1-5')).toBeUndefined();
  });
});
