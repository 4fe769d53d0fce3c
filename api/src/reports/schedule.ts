/**
 * What is due now: the monthly PDF once a month is over, yesterday's cost
 * summary and, on Mondays, last week's, each once the local clock passes the
 * notification hour. Pure: the time, the zone, the settings and what was
 * already done in, jobs out. Jobs missed while the API was down are caught up
 * for the latest period only, so a restart never floods a channel.
 */
import { wallClockAt } from '@twc/core/time/wall-clock';
import { addDays, calendarPeriod, formatLocalDate, type LocalDate, localDateAt } from '../core/periods.js';

export type DueJob =
  | { kind: 'monthly-report'; key: string; month: { year: number; month: number } }
  | { kind: 'daily-summary'; key: string; date: LocalDate }
  | { kind: 'weekly-summary'; key: string; date: LocalDate };

export interface ScheduleSettings {
  monthlyReports: boolean;
  daily: boolean;
  weekly: boolean;
  /** Local hour (0-23) after which summaries are sent. */
  notifyHour: number;
}

export function dueJobs(
  nowMs: number,
  timeZone: string,
  settings: ScheduleSettings,
  isDone: (key: string) => boolean,
): DueJob[] {
  const today = localDateAt(nowMs, timeZone);
  const jobs: DueJob[] = [];
  if (settings.monthlyReports) {
    const lastMonth = localDateAt(calendarPeriod('month', today, timeZone).startMs - 1, timeZone);
    const key = `report:${formatLocalDate(lastMonth).slice(0, 7)}`;
    if (!isDone(key))
      jobs.push({ kind: 'monthly-report', key, month: { year: lastMonth.year, month: lastMonth.month } });
  }
  const pastHour = wallClockAt(nowMs, timeZone).hour >= settings.notifyHour;
  if (settings.daily && pastHour) {
    const yesterday = addDays(today, -1);
    const key = `daily:${formatLocalDate(yesterday)}`;
    if (!isDone(key)) jobs.push({ kind: 'daily-summary', key, date: yesterday });
  }
  if (settings.weekly && pastHour) {
    const lastWeek = addDays(today, -7);
    const week = calendarPeriod('week', lastWeek, timeZone);
    const key = `weekly:${week.startDate}`;
    // Sent on Monday; a later day catches up only if Monday's was missed.
    if (!isDone(key)) jobs.push({ kind: 'weekly-summary', key, date: lastWeek });
  }
  return jobs;
}
