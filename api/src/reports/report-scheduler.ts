/**
 * The timer around dueJobs(): every minute it asks what is due, claims each
 * job in Redis (so only one API replica does it), and runs it. Monthly PDFs
 * go to REPORTS_DIR; a job is done once its file exists or its key is in the
 * state file there. Constructing starts nothing; start() does.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@twc/collector/logger';
import type { Redis } from 'ioredis';
import { calendarPeriod, previousPeriod } from '../core/periods.js';
import { periodTotals } from '../data/cost-totals.js';
import type { Notifier } from '../notify/notifiers.js';
import type { InfluxReader } from '../plugins/app/influx.js';
import { kwh, money, renderMonthlyReport } from './monthly-report.js';
import { monthlyReportData } from './report-data.js';
import { type DueJob, dueJobs, type ScheduleSettings } from './schedule.js';

export const REPORT_FILE = /^twc-report-(\d{4}-\d{2})\.pdf$/;
export const reportFileName = (month: string) => `twc-report-${month}.pdf`;
const STATE_FILE = 'schedule-state.json';
const KEPT_KEYS = 200;

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

  async function run(job: DueJob): Promise<void> {
    if (job.kind === 'monthly-report') {
      const data = await monthlyReportData(options.influx, job.month, timeZone, options.now());
      writeAtomically(join(dir, reportFileName(data.month)), await renderMonthlyReport(data));
      logger.info({ month: data.month }, 'monthly report written');
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
