/**
 * The timer around dueJobs(): every minute it asks what is due, claims each
 * job in Redis (so only one API replica does it), and runs it. Monthly PDFs
 * go to REPORTS_DIR; a job is done once its file exists or its key is in the
 * state file there. Constructing starts nothing; start() does.
 *
 * A month's PDF waits while any of its sessions is still on the price clock
 * of before its correction (the collector re-prices them after an upgrade),
 * and the PDFs an earlier version wrote are written again once, when their
 * month's sessions are re-priced (listed in price-clock.json until then).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@twc/runtime/logger';
import type { Redis } from 'ioredis';
import { calendarPeriod, previousPeriod } from '../core/periods.js';
import { periodTotals } from '../data/cost-totals.js';
import { sessionsOnOldClock } from '../data/sessions.js';
import type { Notifier } from '../notify/notifiers.js';
import type { InfluxReader } from '../plugins/app/influx.js';
import { kwh, money, renderMonthlyReport } from './monthly-report.js';
import { monthlyReportData } from './report-data.js';
import { type DueJob, dueJobs, type ScheduleSettings } from './schedule.js';

export const REPORT_FILE = /^twc-report-(\d{4}-\d{2})\.pdf$/;
export const reportFileName = (month: string) => `twc-report-${month}.pdf`;
const STATE_FILE = 'schedule-state.json';
const CLOCK_FILE = 'price-clock.json';
const KEPT_KEYS = 200;

/** A job that cannot run yet and is tried again at the next tick, without a warning. */
class Deferred extends Error {}

export interface ReportScheduler {
  start(): void;
  stop(): Promise<void>;
  /** Runs what is due now; resolves with the keys of the jobs done. */
  tick(): Promise<string[]>;
}

export function createReportScheduler(options: {
  dir: string;
  timeZone: string;
  settings: ScheduleSettings;
  influx: InfluxReader;
  notifier: Notifier;
  redis: Redis;
  keyPrefix: string;
  logger: Logger;
  now: () => number;
  intervalMs?: number;
}): ReportScheduler {
  const { dir, logger, timeZone } = options;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<string[]> | undefined;
  let done: string[] | undefined;
  let failureLogged = false;

  function loadDone(): string[] {
    if (!done) {
      try {
        const parsed = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as unknown;
        done = Array.isArray(parsed) ? parsed.filter((key): key is string => typeof key === 'string') : [];
      } catch {
        done = [];
      }
    }
    return done;
  }

  function markDone(key: string): void {
    const keys = [...loadDone().filter((existing) => existing !== key), key].slice(-KEPT_KEYS);
    done = keys;
    writeAtomically(join(dir, STATE_FILE), JSON.stringify(keys));
  }

  function writeAtomically(path: string, content: string | Buffer): void {
    writeFileSync(`${path}.tmp`, content);
    renameSync(`${path}.tmp`, path);
  }

  function isDone(key: string): boolean {
    const month = /^report:(\d{4}-\d{2})$/.exec(key)?.[1];
    if (month !== undefined) return existsSync(join(dir, reportFileName(month)));
    return loadDone().includes(key);
  }

  /** Only one replica runs a job; with Redis down each replica decides alone. */
  async function claim(key: string): Promise<boolean> {
    try {
      const result = await options.redis.set(`${options.keyPrefix}schedule:${key}`, '1', 'EX', 6 * 3600, 'NX');
      return result === 'OK';
    } catch {
      return true;
    }
  }

  async function summary(job: Extract<DueJob, { kind: 'daily-summary' | 'weekly-summary' }>): Promise<void> {
    const kind = job.kind === 'daily-summary' ? 'day' : 'week';
    const period = calendarPeriod(kind, job.date, timeZone);
    const [current, previous] = await Promise.all([
      periodTotals(options.influx, period),
      periodTotals(options.influx, previousPeriod(period, timeZone)),
    ]);
    const { totals } = current;
    const label = kind === 'day' ? period.startDate : `week of ${period.startDate}`;
    const change = totals.total_cost_usd - previous.totals.total_cost_usd;
    const lines = [
      `${kwh(totals.energy_wh)} in ${totals.sessions} session${totals.sessions === 1 ? '' : 's'}, ${money(totals.total_cost_usd)} in total`,
      totals.avg_price_cents_kwh === null
        ? 'no priced energy'
        : `average price ${totals.avg_price_cents_kwh.toFixed(2)} ¢/kWh`,
      `${change >= 0 ? '+' : '-'}${money(Math.abs(change))} against the ${kind} before; ${money(totals.saving_vs_flat_usd)} saved against the flat rate`,
    ];
    const failed = await options.notifier.send({
      title: `Wall Connector charging cost, ${label}`,
      text: lines.join('\n'),
      data: { period: kind, ...current, previous: previous.totals },
    });
    if (failed.length > 0 && failed.length === options.notifier.channels.length) {
      throw new Error(`every notification channel failed: ${failed.join(', ')}`);
    }
  }

  /** Writes a month's PDF; false when the month still has sessions on the old price clock (try later). */
  async function writeReport(month: { year: number; month: number }): Promise<boolean> {
    const period = calendarPeriod('month', { ...month, day: 1 }, timeZone);
    if ((await sessionsOnOldClock(options.influx, { fromMs: period.startMs, toMs: period.endMs })) > 0) return false;
    const data = await monthlyReportData(options.influx, month, timeZone, options.now());
    writeAtomically(join(dir, reportFileName(data.month)), await renderMonthlyReport(data));
    logger.info({ month: data.month }, 'monthly report written');
    return true;
  }

  /** Reports an earlier version wrote before the price clock was corrected: listed once, rewritten once each. */
  function oldClockReports(): string[] {
    const file = join(dir, CLOCK_FILE);
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { pending?: unknown };
      if (Array.isArray(parsed.pending)) {
        return parsed.pending.filter((month): month is string => typeof month === 'string');
      }
    } catch {
      // The first start of this version: every report already there was made on the old clock.
    }
    const pending = readdirSync(dir)
      .map((name) => REPORT_FILE.exec(name)?.[1])
      .filter((month): month is string => month !== undefined)
      .sort();
    writeAtomically(file, JSON.stringify({ pending }));
    return pending;
  }

  async function rewriteOldClockReports(): Promise<void> {
    const pending = oldClockReports();
    for (const month of [...pending]) {
      if (!(await claim(`reprice:${month}`))) continue;
      const [year, monthNumber] = month.split('-').map(Number) as [number, number];
      if (!(await writeReport({ year, month: monthNumber }))) {
        await options.redis.del(`${options.keyPrefix}schedule:reprice:${month}`).catch(() => undefined);
        continue;
      }
      pending.splice(pending.indexOf(month), 1);
      writeAtomically(join(dir, CLOCK_FILE), JSON.stringify({ pending }));
      logger.info({ month }, 'monthly report written again on the corrected price clock');
    }
  }

  async function run(job: DueJob): Promise<void> {
    if (job.kind === 'monthly-report') {
      if (!(await writeReport(job.month))) throw new Deferred('its sessions are being re-priced');
      return;
    }
    await summary(job);
    markDone(job.key);
  }

  async function tick(): Promise<string[]> {
    mkdirSync(dir, { recursive: true });
    const settings = {
      ...options.settings,
      daily: options.settings.daily && options.notifier.channels.length > 0,
      weekly: options.settings.weekly && options.notifier.channels.length > 0,
    };
    // First, so the listing of reports made on the old clock holds only those.
    if (options.settings.monthlyReports) {
      await rewriteOldClockReports().catch((error: unknown) => {
        logger.warn(
          { err: (error as Error).message },
          'could not rewrite the reports made before the price clock correction',
        );
      });
    }
    const completed: string[] = [];
    for (const job of dueJobs(options.now(), timeZone, settings, isDone)) {
      if (!(await claim(job.key))) continue;
      try {
        await run(job);
        completed.push(job.key);
        failureLogged = false;
      } catch (error) {
        // Let another attempt (here or on another replica) try again later.
        await options.redis.del(`${options.keyPrefix}schedule:${job.key}`).catch(() => undefined);
        if (error instanceof Deferred) {
          logger.debug({ job: job.key, reason: error.message }, 'scheduled job waits');
          continue;
        }
        if (!failureLogged) logger.warn({ job: job.key, err: (error as Error).message }, 'scheduled job failed');
        failureLogged = true;
      }
    }
    return completed;
  }

  return {
    start() {
      if (timer) return;
      timer = setInterval(() => {
        if (!running) running = tick().finally(() => (running = undefined));
      }, options.intervalMs ?? 60_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
    tick: () => {
      if (!running) running = tick().finally(() => (running = undefined));
      return running;
    },
  };
}
