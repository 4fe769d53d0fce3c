/**
 * `twc forecast backtest --from <ISO> --to <ISO> [--charge-hours N]`: how
 * good the forward prices are on the stored history (forecast-backtest.ts):
 * the mean absolute error of ComEd's day-ahead prices, of the forecast and of
 * a flat guess against the real hourly prices, and what matters for
 * charging: the regret of choosing the cheapest N hours of a night (18:00 to
 * 07:00) by them against the hindsight-best choice. Each day is judged with
 * only what was known then. Reads the prices bucket with the comed-poller's
 * settings (INFLUXDB_*); prints JSON.
 */
import { parseArgs } from 'node:util';
import { InfluxDB } from '@influxdata/influxdb-client';
import { HOUR_MS } from '@twc/core/prices/comed-clock';
import { type BacktestResult, backtestForwardPrices } from '@twc/core/prices/forecast-backtest';
import { loadPricePollerConfig } from '../../comed-poller/config.js';
import { createInfluxPriceStore } from '../../comed-poller/influx-price-store.js';
import { type Command, type CommandIo, integerOption, processIo, UsageError, usageError } from '../command.js';
import { parseTimeRange } from '../iso-time.js';

const USAGE = [
  'twc forecast backtest --from <ISO-8601> --to <ISO-8601> [--charge-hours <1-12>]',
  '',
  '  Scores the Chicago days starting in [from, to); each day needs the four weeks before it stored.',
  '  --charge-hours  hours charged overnight in the regret figures (default 4)',
  "  Settings: the comed-poller's INFLUXDB_URL, INFLUXDB_TOKEN(_FILE), INFLUXDB_ORG, INFLUXDB_BUCKET_PRICES.",
].join('\n');

/** The forecast's profile takes four weeks and the recent level three days before the first day. */
const HISTORY_BEFORE_MS = 32 * 24 * HOUR_MS;
/** Hours with fewer 5-minute prices than this are left out, as the comed-poller leaves them out. */
const MIN_PRICES_PER_HOUR = 9;

export type ForecastCommandIo = CommandIo;

export interface BacktestOutput extends BacktestResult {
  from: string;
  to: string;
  charge_hours: number;
}

export async function runForecastCommand(argv: string[], io: ForecastCommandIo): Promise<number> {
  const refuse = (error: UsageError | string): number => usageError(io.stderr, 'forecast', USAGE, error);
  const [subcommand, ...rest] = argv;
  if (subcommand !== 'backtest') return refuse(`unknown subcommand "${subcommand ?? ''}"`);
  let values: { from?: string; to?: string; 'charge-hours'?: string };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { from: { type: 'string' }, to: { type: 'string' }, 'charge-hours': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return refuse((error as Error).message);
  }
  const range = parseTimeRange(values);
  if (typeof range === 'string') return refuse(range);
  let chargeHours: number;
  try {
    chargeHours = integerOption('charge-hours', values['charge-hours'], 4, 1, 12);
  } catch (error) {
    if (error instanceof UsageError) return refuse(error);
    throw error;
  }
  try {
    const { influx } = loadPricePollerConfig(io.env);
    const queryApi = new InfluxDB({ url: influx.url, token: influx.token, timeout: 120_000 }).getQueryApi(influx.org);
    const store = createInfluxPriceStore({ queryApi, bucket: influx.bucket });
    const historyFromMs = range.fromMs - HISTORY_BEFORE_MS;
    // The overnight window of the last day ends the morning after it.
    const untilMs = range.toMs + 2 * 24 * HOUR_MS;
    const [hours, dayAhead] = await Promise.all([
      store.hourlyPrices(historyFromMs, untilMs),
      store.dayAheadPrices(historyFromMs, untilMs),
    ]);
    const hourly = new Map(
      hours.filter((hour) => hour.count >= MIN_PRICES_PER_HOUR).map((hour) => [hour.hourEndingMs, hour.avgPrice]),
    );
    const result = backtestForwardPrices({ hourly, dayAhead, fromMs: range.fromMs, toMs: range.toMs, chargeHours });
    const output: BacktestOutput = {
      from: new Date(range.fromMs).toISOString(),
      to: new Date(range.toMs).toISOString(),
      charge_hours: chargeHours,
      ...result,
    };
    io.stdout(`${JSON.stringify(output, null, 2)}\n`);
    return 0;
  } catch (error) {
    io.stderr(`twc forecast: ${(error as Error).message}\n`);
    return 1;
  }
}

export const forecastCommand: Command = {
  summary: 'forward prices scored on the stored history (backtest)',
  usage: USAGE,
  run: (argv) => runForecastCommand(argv, processIo()),
};
