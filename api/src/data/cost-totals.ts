import { HOUR_MS } from '@twc/core/prices/comed-clock';
import { summarize } from '../core/cost-summary.js';
import type { CalendarPeriod } from '../core/periods.js';
import type { InfluxReader } from '../plugins/app/influx.js';
import { hourRowsIn, sessionsIn } from './sessions.js';

/** Cost totals of a calendar period, all chargers or one. */
export async function periodTotals(influx: InfluxReader, period: CalendarPeriod, chargerId?: string) {
  const range = { fromMs: period.startMs, toMs: period.endMs, chargerId };
  const [hours, sessions] = await Promise.all([hourRowsIn(influx, range), sessionsIn(influx, range)]);
  return {
    start: new Date(period.startMs).toISOString(),
    end: new Date(period.endMs).toISOString(),
    start_date: period.startDate,
    end_date: period.endDate,
    hours: (period.endMs - period.startMs) / HOUR_MS,
    totals: summarize(hours, sessions),
  };
}
