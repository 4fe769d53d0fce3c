import { describe, expect, it } from 'vitest';
import { dueJobs, type ScheduleSettings } from '../../src/reports/schedule.js';

const TZ = 'America/Chicago';
const ALL: ScheduleSettings = { monthlyReports: true, daily: true, weekly: true, notifyHour: 7 };
const keys = (nowMs: number, done: string[] = [], settings = ALL) =>
  dueJobs(nowMs, TZ, settings, (key) => done.includes(key)).map((job) => job.key);

describe('what is due', () => {
  const cases: [string, number, string[], string[]][] = [
    // 2026-03-02 is a Monday; 13:00Z is 07:00 in Chicago (CST, UTC-6).
    [
      'Monday after the hour: last month, yesterday, last week',
      Date.UTC(2026, 2, 2, 13),
      [],
      ['report:2026-02', 'daily:2026-03-01', 'weekly:2026-02-23'],
    ],
    ['before the hour only the report', Date.UTC(2026, 2, 2, 12, 59), [], ['report:2026-02']],
    ['nothing twice', Date.UTC(2026, 2, 2, 13), ['report:2026-02', 'daily:2026-03-01', 'weekly:2026-02-23'], []],
    [
      'Tuesday: only the day, the week was sent',
      Date.UTC(2026, 2, 3, 14),
      ['report:2026-02', 'weekly:2026-02-23'],
      ['daily:2026-03-02'],
    ],
    // Local midnight, not UTC midnight, ends the month: 2026-04-01 03:00Z is still March 31 in Chicago.
    [
      'the month ends at local midnight',
      Date.UTC(2026, 3, 1, 3),
      ['daily:2026-03-30', 'weekly:2026-03-23'],
      ['report:2026-02'],
    ],
    [
      'just after local midnight of April 1',
      Date.UTC(2026, 3, 1, 5, 1),
      ['daily:2026-03-30', 'report:2026-02'],
      ['report:2026-03'],
    ],
  ];
  it.each(cases)('%s', (_name, nowMs, done, expected) => {
    expect(keys(nowMs, done)).toEqual(expected);
  });

  it('skips what is switched off', () => {
    expect(keys(Date.UTC(2026, 2, 2, 13), [], { ...ALL, monthlyReports: false, weekly: false })).toEqual([
      'daily:2026-03-01',
    ]);
  });

  it('names the local day across DST: the day after the 23-hour day', () => {
    // 2026-03-09 12:00Z is 07:00 CDT: yesterday was March 8, the short day.
    expect(dueJobs(Date.UTC(2026, 2, 9, 12), TZ, { ...ALL, weekly: false }, () => false)[1]).toEqual({
      kind: 'daily-summary',
      key: 'daily:2026-03-08',
      date: { year: 2026, month: 3, day: 8 },
    });
  });
});
