/**
 * The forward prices and smart charging on a year of the ComEd stand-in's prices
 * (collector/src/simulator/comed-prices.ts), for three seeds: how far
 * day-ahead prices and the forecast are from the real hourly prices, set
 * against a flat guess in the same run, what choosing a night's cheapest
 * hours by them captures of the possible saving, and what the backtest costs
 * (the comed-poller runs one over four weeks every day). Pure computation:
 * no servers. Rewrites the forecast-bench section of docs/PERFORMANCE.md.
 *
 *   pnpm bench:forecast             # a few minutes
 *   pnpm bench:forecast --no-write  # prints only
 *   pnpm bench:forecast --loss      # instead: where the smart charging's missed saving goes
 */
import { cpus, release } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  generatedDayAheadCents,
  generatedPriceCents,
  windyNightOffsetCents,
} from '@twc/collector/simulator/comed-prices';
import { DEFAULT_PLAN_RULES } from '@twc/core/planning/charge-plan';
import { backtestPlans, commuterCases, type PlanBacktestResult } from '@twc/core/planning/plan-backtest';
import { HOUR_MS } from '@twc/core/prices/comed-clock';
import { checkDayAheadLabels } from '@twc/core/prices/day-ahead';
import { measuredIntervalSpread } from '@twc/core/prices/forecast';
import { type BacktestResult, backtestForwardPrices, measuredErrors } from '@twc/core/prices/forecast-backtest';
import { TARIFF_DEFAULTS } from '@twc/core/prices/tariff';
import { writeDocSection } from './doc-section.js';

const DOC = fileURLToPath(new URL('../docs/PERFORMANCE.md', import.meta.url));
const DOC_START = '<!-- forecast-bench:start -->';
const DOC_END = '<!-- forecast-bench:end -->';
const SEEDS = [1, 2, 3];
// Dec 2025 is history for the first day's profile; Jan 1 to Dec 1, 2026 is scored (334 days).
const HISTORY_FROM = Date.UTC(2025, 11, 1, 6);
const SCORED_FROM = Date.UTC(2026, 0, 1, 6);
const SCORED_TO = Date.UTC(2026, 11, 1, 6);
const FOUR_WEEKS_FROM = Date.UTC(2026, 10, 3, 6);
const ERRORS_FROM = Date.UTC(2025, 11, 8, 6);

interface SeedRun {
  seed: number;
  result: BacktestResult;
  plans: PlanBacktestResult;
  plansHourly: PlanBacktestResult;
  plansForecastOnly: PlanBacktestResult;
  plansPerfect: PlanBacktestResult;
  plansMs: number;
  intervalSpreadCents: number | undefined;
  correlations: (number | null)[];
  yearMs: number;
  fourWeeksMs: number;
}

function history(seed: number) {
  const hourly = new Map<number, number>();
  const dayAhead = new Map<number, number>();
  const fiveMinute = new Map<number, number>();
  for (
    let hourEndingMs = HISTORY_FROM + HOUR_MS;
    hourEndingMs <= SCORED_TO + 2 * 24 * HOUR_MS;
    hourEndingMs += HOUR_MS
  ) {
    let sum = 0;
    for (let k = 1; k <= 12; k++) {
      const stampMs = hourEndingMs - k * 5 * 60_000;
      const cents = generatedPriceCents(seed, stampMs);
      fiveMinute.set(stampMs, cents);
      sum += cents;
    }
    hourly.set(hourEndingMs, sum / 12);
    dayAhead.set(hourEndingMs, generatedDayAheadCents(seed, hourEndingMs));
  }
  return { hourly, dayAhead, fiveMinute };
}

/** 5-minute prices of this much and more are spikes, for the loss analysis. */
const SPIKE_CENTS = 20;

/**
 * The replay of the table with one thing changed, for each of them: day-ahead
 * prices that foresaw the negative night hours (the stand-in's own offsets),
 * or the spikes (each hour's excess over its prices without them), or both;
 * no start/stop margin; and no limit on runs as well. Captured shares.
 */
function loss(seed: number): string {
  const { hourly, dayAhead, fiveMinute } = history(seed);
  const negatives = new Map<number, number>();
  const spikes = new Map<number, number>();
  for (const hourEndingMs of hourly.keys()) {
    let windy = 0;
    let calm = 0;
    let calmCount = 0;
    for (let k = 1; k <= 12; k++) {
      const stampMs = hourEndingMs - k * 5 * 60_000;
      windy += windyNightOffsetCents(seed, stampMs) / 12;
      const cents = fiveMinute.get(stampMs) as number;
      if (cents < SPIKE_CENTS) {
        calm += cents;
        calmCount++;
      }
    }
    negatives.set(hourEndingMs, -windy);
    spikes.set(hourEndingMs, calmCount > 0 ? (hourly.get(hourEndingMs) as number) - calm / calmCount : 0);
  }
  const shifted = (...by: ReadonlyMap<number, number>[]) =>
    new Map(
      [...dayAhead].map(([hourEndingMs, cents]) => [
        hourEndingMs,
        cents + by.reduce((sum, map) => sum + (map.get(hourEndingMs) ?? 0), 0),
      ]),
    );
  const errors = measuredErrors(backtestForwardPrices({ hourly, dayAhead, fromMs: ERRORS_FROM, toMs: SCORED_FROM }));
  const intervalSpreadCents = measuredIntervalSpread(fiveMinute, HISTORY_FROM, SCORED_FROM);
  const cases = commuterCases(seed, SCORED_FROM, SCORED_TO);
  const captured = (prices: ReadonlyMap<number, number>, rules = DEFAULT_PLAN_RULES) => {
    const result = backtestPlans({
      hourly,
      dayAhead: prices,
      fiveMinute,
      errors,
      intervalSpreadCents,
      cases,
      powerKw: 11.5,
      tariff: TARIFF_DEFAULTS,
      rules,
    });
    return `${((result.capturedShare ?? 0) * 100).toFixed(1)} % (missed ${result.missedDepartures}, ${result.runsPerCase.toFixed(2)} runs)`;
  };
  return [
    `seed ${seed}`,
    `  as in the table: ${captured(dayAhead)}`,
    `  day-ahead that foresaw the negative hours: ${captured(shifted(negatives))}`,
    `  day-ahead that foresaw the spikes: ${captured(shifted(spikes))}`,
    `  both: ${captured(shifted(negatives, spikes))}`,
    `  no start/stop margin: ${captured(dayAhead, { ...DEFAULT_PLAN_RULES, switchMarginCents: 0 })}`,
    `  no margin, no limit on runs: ${captured(dayAhead, { ...DEFAULT_PLAN_RULES, switchMarginCents: 0, maxRuns: 48 })}`,
  ].join('\n');
}

function run(seed: number): SeedRun {
  const { hourly, dayAhead, fiveMinute } = history(seed);
  const correlations = checkDayAheadLabels(dayAhead, hourly, [-1, 0, 1]).offsets.map((entry) => entry.correlation);
  let started = performance.now();
  const result = backtestForwardPrices({ hourly, dayAhead, fromMs: SCORED_FROM, toMs: SCORED_TO });
  const yearMs = performance.now() - started;
  started = performance.now();
  backtestForwardPrices({ hourly, dayAhead, fromMs: FOUR_WEEKS_FROM, toMs: SCORED_TO });
  const fourWeeksMs = performance.now() - started;
  // Smart charging: a commuter's evenings of the scored year, 11.5 kW, the default rules. The
  // estimates' bands and the 5-minute spread as the comed-poller would have measured them by
  // Jan 1, on December: nothing of the scored year goes into them.
  const errors = measuredErrors(backtestForwardPrices({ hourly, dayAhead, fromMs: ERRORS_FROM, toMs: SCORED_FROM }));
  const intervalSpreadCents = measuredIntervalSpread(fiveMinute, HISTORY_FROM, SCORED_FROM);
  const cases = commuterCases(seed, SCORED_FROM, SCORED_TO);
  const plan = (prices: ReadonlyMap<number, number>, fiveMinutePrices: ReadonlyMap<number, number> | undefined) =>
    backtestPlans({
      hourly,
      dayAhead: prices,
      fiveMinute: fiveMinutePrices,
      errors,
      intervalSpreadCents,
      cases,
      powerKw: 11.5,
      tariff: TARIFF_DEFAULTS,
      rules: DEFAULT_PLAN_RULES,
    });
  started = performance.now();
  const plans = plan(dayAhead, fiveMinute);
  const plansMs = performance.now() - started;
  return {
    seed,
    result,
    correlations,
    yearMs,
    fourWeeksMs,
    plans,
    plansMs,
    intervalSpreadCents,
    // Without the running hour's 5-minute prices: what they bring.
    plansHourly: plan(dayAhead, undefined),
    plansForecastOnly: plan(new Map(), fiveMinute),
    // The same planner told the real prices as its day-ahead prices: what the method loses by itself.
    plansPerfect: plan(hourly, undefined),
  };
}

const cents = (value: number | null) => (value === null ? '-' : value.toFixed(2));
const share = (value: number | null) => (value === null ? '-' : `${Math.round(value * 100)} %`);
const ratio = (value: number | null, base: number | null) =>
  value === null || base === null || base === 0 ? '-' : (value / base).toFixed(2);

function report(runs: SeedRun[]): string {
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown'}), Linux ${release()}, Node ${process.version}. Rerun with \`pnpm bench:forecast\`.`,
    '',
    `The ComEd stand-in's prices, Jan 1 to Dec 1, 2026 (${runs[0]?.result.days ?? 0} days, each judged with what was known the day before), per seed. MAE in ¢/kWh against the real hourly average; "× flat" is the ratio to a flat guess (the mean of the week before) in the same run. Overnight: a car plugged in 18:00 to 07:00 needing 4 hours, the hours chosen by the estimates against the hindsight-best hours:`,
    '',
    '| seed | day-ahead MAE | × flat | forecast MAE | × flat | flat MAE | r at label offset -1 / 0 / +1 | overnight saving possible ¢/kWh | captured, day-ahead at 18:00 | captured, forecast only at 12:00 | backtest of a year ms | of 4 weeks ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { seed, result, correlations, yearMs, fourWeeksMs } of runs) {
    lines.push(
      `| ${seed} | ${cents(result.dayAhead.mae)} | ${ratio(result.dayAhead.mae, result.flat.mae)} | ${cents(result.forecast.mae)} | ${ratio(result.forecast.mae, result.flat.mae)} | ${cents(result.flat.mae)} | ${correlations.map((r) => (r === null ? '-' : r.toFixed(2))).join(' / ')} | ${cents(result.overnight.withDayAhead.possibleSavingCentsPerKwh)} | ${share(result.overnight.withDayAhead.capturedShare)} | ${share(result.overnight.forecastOnly.capturedShare)} | ${Math.round(yearMs)} | ${Math.round(fourWeeksMs)} |`,
    );
  }
  lines.push(
    '',
    `Smart charging (\`twc plan backtest\`): a commuter's evenings of the same year (plugged in 17:00 to 19:30, leaving 06:30 to 07:45 on work days and 09:00 to 11:00 at weekends, 4 to 60 kWh; \`commuterCases\`), 11.5 kW, the default rules (30 minutes' buffer, at most ${DEFAULT_PLAN_RULES.maxRuns} runs a plan), re-planned at plug-in and every 5 minutes on what was known then (the running hour's 5-minute prices stamped before the decision, the day-ahead prices published by then; the bands and the 5-minute spread, ${runs.map((entry) => (entry.intervalSpreadCents ?? 0).toFixed(2)).join(' / ')} ¢, as measured on December), billed at the real prices. Captured is the share of the saving the hindsight-best plan makes over charging at plug-in. "Hourly prices only" re-plans the same way without the 5-minute prices (the running hour priced by its day-ahead price), "forecast only" without day-ahead prices, "told the real prices" gives the planner the real hourly prices as its day-ahead prices, to show what the method itself leaves. Runs are the car's starts a night:`,
    '',
    '| seed | evenings | kWh | at plug-in $ | planned $ | hindsight $ | saved $ | captured | captured, hourly prices only | captured, forecast only | captured, told the real prices | missed departures | runs per night | runs, hourly prices only | backtest ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const { seed, plans, plansHourly, plansForecastOnly, plansPerfect, plansMs } of runs) {
    lines.push(
      `| ${seed} | ${plans.cases} | ${Math.round(plans.planned.energyKwh)} | ${plans.atPlugIn.totalUsd.toFixed(2)} | ${plans.planned.totalUsd.toFixed(2)} | ${plans.hindsight.totalUsd.toFixed(2)} | ${plans.savingUsd.toFixed(2)} | ${share(plans.capturedShare)} | ${share(plansHourly.capturedShare)} | ${share(plansForecastOnly.capturedShare)} | ${share(plansPerfect.capturedShare)} | ${plans.missedDepartures + plansHourly.missedDepartures + plansForecastOnly.missedDepartures} | ${plans.runsPerCase.toFixed(2)} | ${plansHourly.runsPerCase.toFixed(2)} | ${Math.round(plansMs)} |`,
    );
  }
  const meetsGoal = runs.every(({ plans }) => (plans.capturedShare ?? 0) >= 0.9 && plans.missedDepartures === 0);
  lines.push(
    '',
    `- goal, at least 90 % of the hindsight saving with no missed departure: ${meetsGoal ? '**met**' : '**not met**'} (${runs.map(({ plans }) => (plans.capturedShare === null ? '-' : `${(plans.capturedShare * 100).toFixed(1)} %`)).join(', ')}; missed ${runs.map(({ plans }) => plans.missedDepartures).join(', ')})`,
  );
  lines.push(
    '',
    "The stand-in is built so that its day-ahead prices know the day but not the hour: the figures show the product uses what it is given, and that the label check peaks where it should. They say nothing of ComEd's real day-ahead accuracy; `twc forecast backtest` on your stored history does.",
  );
  return lines.join('\n');
}

const { values } = parseArgs({
  options: { 'no-write': { type: 'boolean' }, loss: { type: 'boolean' } },
  strict: true,
});
if (values.loss) {
  for (const seed of SEEDS) process.stdout.write(`${loss(seed)}\n`);
} else {
  const runs = SEEDS.map(run);
  const markdown = report(runs);
  process.stdout.write(`${markdown}\n`);
  if (!values['no-write']) writeDocSection(DOC, DOC_START, DOC_END, markdown);
}
