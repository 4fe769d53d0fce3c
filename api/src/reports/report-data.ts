/** The figures of a monthly report, read from InfluxDB. */
import { HOUR_MS } from '@twc/core/prices/comed-clock';
import { type CostTotals, summarize } from '../core/cost-summary.js';
import { type CalendarPeriod, calendarPeriod, formatLocalDate, localDateAt } from '../core/periods.js';
import { dailyPrices, type PricePointItem } from '../data/prices.js';
import { hourRowsIn, type SessionItem, sessionsIn } from '../data/sessions.js';
import type { InfluxReader } from '../plugins/app/influx.js';

export interface ReportDay {
  date: string;
  energyWh: number;
  totalCostUsd: number;
}

export interface MonthlyReportData {
  /** YYYY-MM */
  month: string;
  timeZone: string;
  period: CalendarPeriod;
  totals: CostTotals;
  sessions: SessionItem[];
  days: ReportDay[];
  prices: PricePointItem[];
  generatedMs: number;
}

/** Reads YYYY-MM; undefined unless it is a real month. */
export function parseMonth(text: string): { year: number; month: number } | undefined {
  const match = /^(\d{4})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  // InfluxDB's times end in April 2262.
  return month >= 1 && month <= 12 && year >= 1970 && year <= 2261 ? { year, month } : undefined;
}

export async function monthlyReportData(
  influx: InfluxReader,
  month: { year: number; month: number },
  timeZone: string,
  nowMs: number,
): Promise<MonthlyReportData> {
  const period = calendarPeriod('month', { ...month, day: 1 }, timeZone);
  const range = { fromMs: period.startMs, toMs: period.endMs };
  const [hours, sessions, prices] = await Promise.all([
    hourRowsIn(influx, range),
    sessionsIn(influx, range),
    dailyPrices(influx, period.startMs, period.endMs, timeZone),
  ]);
  const byDay = new Map<string, ReportDay>();
  for (let ms = period.startMs; ms < period.endMs; ms += 24 * HOUR_MS) {
    const date = formatLocalDate(localDateAt(ms + 2 * HOUR_MS, timeZone));
    byDay.set(date, { date, energyWh: 0, totalCostUsd: 0 });
  }
  for (const hour of hours) {
    // Hour points are stamped within their hour, so the stamp's local day is the hour's.
    const day = byDay.get(formatLocalDate(localDateAt(hour.timeMs, timeZone)));
    if (!day) continue;
    day.energyWh += hour.energy_wh;
    day.totalCostUsd += hour.total_cost_usd ?? 0;
  }
  return {
    month: `${month.year}-${String(month.month).padStart(2, '0')}`,
    timeZone,
    period,
    totals: summarize(hours, sessions),
    sessions,
    days: [...byDay.values()],
    prices,
    generatedMs: nowMs,
  };
}
