/**
 * `twc plan backtest`: smart charging replayed on a price history
 * (core/src/planning/plan-backtest.ts). For each charging case, the planner
 * re-plans at plug-in and every 5 minutes with only what was known then (the
 * running hour's 5-minute prices among it); the result is billed at the real
 * hourly prices and set against charging at plug-in and against the
 * hindsight-best plan. The estimates' bands and the 5-minute spread are
 * measured on the history before the first case, as the comed-poller measures
 * them. Prints JSON.
 *
 * Prices come from the stored history (--from/--to, with the comed-poller's
 * INFLUXDB_* settings: hourly and day-ahead prices) or from a file: a ComEd
 * 5-minute feed answer (--prices), optionally with day-ahead prices as the
 * API exports them (--dayahead, JSON lines of /export/json?dataset=dayahead).
 * Cases come from --arrivals (a JSON array of {"plug_in", "departure",
 * "energy_kwh"}) or are a commuter's evenings generated from --seed.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { InfluxDB } from '@influxdata/influxdb-client';
import { DEFAULT_PLAN_RULES, type PlanRules } from '@twc/core/planning/charge-plan';
import { backtestPlans, type ChargeCase, commuterCases } from '@twc/core/planning/plan-backtest';
import { HOUR_MS } from '@twc/core/prices/comed-clock';
import { ComedFeedError, type PricePoint, parseComedFeed } from '@twc/core/prices/comed-parse';
import { measuredIntervalSpread } from '@twc/core/prices/forecast';
import { backtestForwardPrices, measuredErrors } from '@twc/core/prices/forecast-backtest';
import { hourlyAggregates } from '@twc/core/prices/hourly';
import { parseTariffEnv, TariffError, tariffSettingsOf } from '@twc/core/prices/tariff';
import { z } from 'zod';
import { loadPricePollerConfig } from '../../comed-poller/config.js';
import { createInfluxPriceStore } from '../../comed-poller/influx-price-store.js';
import { type Command, type CommandIo, integerOption, processIo, UsageError, usageError } from '../command.js';
import { parseTimeRange } from '../iso-time.js';

const USAGE = [
  'twc plan backtest (--from <ISO-8601> --to <ISO-8601> | --prices FILE [--dayahead FILE]) [options]',
  '',
  '  --from, --to        the cases in [from, to), on the stored hourly and day-ahead prices',
  "                      (the comed-poller's INFLUXDB_* settings); five weeks before `from` are read too",
  '  --prices FILE       instead: a ComEd 5minutefeed answer covering the cases and five weeks before',
  '  --dayahead FILE     with --prices: day-ahead prices, JSON lines as GET /api/v1/export/json?dataset=dayahead',
  '  --arrivals FILE     the cases: [{"plug_in": ISO, "departure": ISO, "energy_kwh": N}, ...]',
  "                      (default: a commuter's evenings, generated from --seed)",
  '  --seed N            the generated cases (default 1)',
  '  --power-kw N        charging power (default 11.5)',
  '  --buffer-min N      be done N minutes before departure (default 30)',
  '  --max-runs N        at most N charging runs a night (default 3)',
  '  --always-below C    charge in every hour under C cents/kWh',
  '  --never-above C     never charge in an hour over C cents/kWh unless the departure needs it',
  '  Each night is re-planned at plug-in and every 5 minutes, on the 5-minute prices of the file or',
  '  of InfluxDB; the bands and the 5-minute spread are measured on the history before the first case.',
  '  The tariff (for the totals) is read from TARIFF_* as the collector reads it.',
].join('\n');

/** The forecast learns from four weeks and the recent level; a case needs them before it. */
const HISTORY_BEFORE_MS = 35 * 24 * HOUR_MS;
const MIN_PRICES_PER_HOUR = 9;

export type PlanCommandIo = CommandIo;

const arrivalsSchema = z.array(
  z.object({
    plug_in: z.iso.datetime({ offset: true }),
    departure: z.iso.datetime({ offset: true }),
    energy_kwh: z.number().positive().max(250),
  }),
);

const dayAheadLineSchema = z.object({ hour_ending: z.iso.datetime({ offset: true }), price_cents_kwh: z.number() });

async function readText(option: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new UsageError(`${option} ${path} cannot be read (${code === 'ENOENT' ? 'no such file' : code})`, false);
  }
}

function decimalOption(name: string, raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${name} must be a number, got "${raw}"`);
  return value;
}

async function loadArrivals(path: string): Promise<ChargeCase[]> {
  const text = await readText('--arrivals', path);
  let parsed: z.infer<typeof arrivalsSchema>;
  try {
    parsed = arrivalsSchema.parse(JSON.parse(text));
  } catch (error) {
    const detail =
      error instanceof z.ZodError
        ? error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')
        : (error as Error).message;
    throw new UsageError(`--arrivals ${path}: ${detail}`, false);
  }
  return parsed.map((entry, index) => {
    const plugInMs = Date.parse(entry.plug_in);
    const departureMs = Date.parse(entry.departure);
    if (departureMs <= plugInMs)
      throw new UsageError(`--arrivals ${path}: [${index}] departs before it plugs in`, false);
    return { plugInMs, departureMs, energyKwh: entry.energy_kwh };
  });
}

async function pricesFromFiles(pricesPath: string, dayAheadPath: string | undefined) {
  const text = await readText('--prices', pricesPath);
  let feed: ReturnType<typeof parseComedFeed>;
  try {
    feed = parseComedFeed(text);
  } catch (error) {
    if (error instanceof ComedFeedError) {
      throw new UsageError(`--prices ${pricesPath} is not a ComEd 5minutefeed answer: ${error.message}`, false);
    }
    throw error;
  }
  const hourly = new Map(
    hourlyAggregates(feed.prices)
      .filter((hour) => hour.count >= MIN_PRICES_PER_HOUR)
      .map((hour) => [hour.hourEndingMs, hour.avgPrice]),
  );
  const dayAhead = new Map<number, number>();
  if (dayAheadPath !== undefined) {
    const lines = (await readText('--dayahead', dayAheadPath)).split('\n');
    for (const [index, line] of lines.entries()) {
      if (line.trim() === '') continue;
      let entry: z.infer<typeof dayAheadLineSchema>;
      try {
        entry = dayAheadLineSchema.parse(JSON.parse(line));
      } catch {
        throw new UsageError(`--dayahead ${dayAheadPath}: line ${index + 1} is not an exported day-ahead price`, false);
      }
      dayAhead.set(Date.parse(entry.hour_ending), entry.price_cents_kwh);
    }
  }
  const stamps = feed.prices.map((price) => price.timeMs);
  return { hourly, dayAhead, fiveMinute: feed.prices, firstMs: Math.min(...stamps), lastMs: Math.max(...stamps) };
}

export async function runPlanCommand(argv: string[], io: PlanCommandIo): Promise<number> {
  const refuse = (error: UsageError | string): number => usageError(io.stderr, 'plan', USAGE, error);
  const [subcommand, ...rest] = argv;
  if (subcommand !== 'backtest') return refuse(`unknown subcommand "${subcommand ?? ''}"`);
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: Object.fromEntries(
        [
          'from',
          'to',
          'prices',
          'dayahead',
          'arrivals',
          'seed',
          'power-kw',
          'buffer-min',
          'max-runs',
          'always-below',
          'never-above',
        ].map((name) => [name, { type: 'string' as const }]),
      ),
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | undefined> });
  } catch (error) {
    return refuse((error as Error).message);
  }
  try {
    const fromFiles = values.prices !== undefined;
    if (fromFiles && (values.from !== undefined || values.to !== undefined)) {
      throw new UsageError('give --prices FILE or --from and --to, not both');
    }
    if (!fromFiles && values.dayahead !== undefined) throw new UsageError('--dayahead goes with --prices');
    const seed = integerOption('seed', values.seed, 1, 0, 2 ** 31 - 1);
    const powerKw = decimalOption('power-kw', values['power-kw']) ?? 11.5;
    if (!(powerKw > 0 && powerKw <= 50))
      throw new UsageError(`--power-kw must be above 0 and at most 50, got ${powerKw}`);
    const rules: PlanRules = {
      bufferMs:
        integerOption('buffer-min', values['buffer-min'], DEFAULT_PLAN_RULES.bufferMs / 60_000, 0, 600) * 60_000,
      maxRuns: integerOption('max-runs', values['max-runs'], DEFAULT_PLAN_RULES.maxRuns, 1, 24),
      alwaysBelowCents: decimalOption('always-below', values['always-below']),
      neverAboveCents: decimalOption('never-above', values['never-above']),
    };
    let tariff: ReturnType<typeof parseTariffEnv>;
    try {
      tariff = parseTariffEnv(tariffSettingsOf(io.env));
    } catch (error) {
      if (error instanceof TariffError) throw new UsageError(error.message, false);
      throw error;
    }

    let hourly: Map<number, number>;
    let dayAhead: Map<number, number>;
    let fiveMinutePrices: readonly PricePoint[];
    let casesFromMs: number;
    let casesToMs: number;
    if (fromFiles) {
      const loaded = await pricesFromFiles(values.prices as string, values.dayahead);
      ({ hourly, dayAhead } = loaded);
      fiveMinutePrices = loaded.fiveMinute;
      casesFromMs = loaded.firstMs + HISTORY_BEFORE_MS;
      casesToMs = loaded.lastMs - 24 * HOUR_MS;
    } else {
      const range = parseTimeRange(values);
      if (typeof range === 'string') throw new UsageError(range);
      const { influx } = loadPricePollerConfig(io.env);
      const queryApi = new InfluxDB({ url: influx.url, token: influx.token, timeout: 120_000 }).getQueryApi(influx.org);
      const store = createInfluxPriceStore({ queryApi, bucket: influx.bucket });
      const untilMs = range.toMs + 2 * 24 * HOUR_MS;
      const [hours, stored, fiveMinute] = await Promise.all([
        store.hourlyPrices(range.fromMs - HISTORY_BEFORE_MS, untilMs),
        store.dayAheadPrices(range.fromMs - HISTORY_BEFORE_MS, untilMs),
        store.fiveMinutePrices(range.fromMs - HISTORY_BEFORE_MS, untilMs),
      ]);
      fiveMinutePrices = fiveMinute;
      hourly = new Map(
        hours.filter((hour) => hour.count >= MIN_PRICES_PER_HOUR).map((hour) => [hour.hourEndingMs, hour.avgPrice]),
      );
      dayAhead = stored;
      casesFromMs = range.fromMs;
      casesToMs = range.toMs;
    }
    const cases =
      values.arrivals === undefined ? commuterCases(seed, casesFromMs, casesToMs) : await loadArrivals(values.arrivals);
    if (cases.length === 0) throw new UsageError('no charging case in the range: give a longer history', false);
    // Measured on the history before the first case, so no case is judged with bands that saw it.
    const firstCaseMs = Math.min(...cases.map((c) => c.plugInMs));
    const historyFromMs = hourly.size > 0 ? Math.min(...hourly.keys()) : firstCaseMs;
    const measureFromMs = historyFromMs + 7 * 24 * HOUR_MS;
    const measureToMs = firstCaseMs - 24 * HOUR_MS;
    const errors =
      measureFromMs < measureToMs
        ? measuredErrors(backtestForwardPrices({ hourly, dayAhead, fromMs: measureFromMs, toMs: measureToMs }))
        : undefined;
    const fiveMinute = new Map(fiveMinutePrices.map((price) => [price.timeMs, price.priceCentsPerKwh]));
    const intervalSpreadCents = measuredIntervalSpread(fiveMinute, historyFromMs - HOUR_MS, firstCaseMs - HOUR_MS);
    const result = backtestPlans({
      hourly,
      dayAhead,
      fiveMinute: fiveMinute.size > 0 ? fiveMinute : undefined,
      errors,
      intervalSpreadCents,
      cases,
      powerKw,
      tariff,
      rules,
    });
    io.stdout(
      `${JSON.stringify(
        {
          cases_from: new Date(Math.min(...cases.map((c) => c.plugInMs))).toISOString(),
          cases_to: new Date(Math.max(...cases.map((c) => c.departureMs))).toISOString(),
          arrivals: values.arrivals === undefined ? `commuter, seed ${seed}` : values.arrivals,
          power_kw: powerKw,
          rules,
          day_ahead_hours: dayAhead.size,
          five_minute_prices: fiveMinute.size,
          bands: errors ?? 'defaults (less than a week of history before the first case)',
          interval_spread_cents: intervalSpreadCents ?? null,
          ...result,
        },
        null,
        2,
      )}\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof UsageError) return refuse(error);
    io.stderr(`twc plan: ${(error as Error).message}\n`);
    return 1;
  }
}

export const planCommand: Command = {
  summary: 'smart charging replayed on a price history (backtest)',
  usage: USAGE,
  run: (argv) => runPlanCommand(argv, processIo()),
};
