// `twc plan backtest` (src/cli/commands/plan.ts) on the ComEd stand-in's year, from files and from InfluxDB.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PLAN_RULES } from '@twc/core/planning/charge-plan';
import { backtestPlans, commuterCases } from '@twc/core/planning/plan-backtest';
import { HOUR_MS } from '@twc/core/prices/comed-clock';
import { measuredIntervalSpread } from '@twc/core/prices/forecast';
import { backtestForwardPrices, measuredErrors } from '@twc/core/prices/forecast-backtest';
import { dayAheadPoints, pricePoints } from '@twc/core/prices/price-plan';
import { TARIFF_DEFAULTS } from '@twc/core/prices/tariff';
import { createInfluxWriter } from '@twc/runtime/influx-writer';
import { silentLogger } from '@twc/runtime/logger';
import { createSpool } from '@twc/runtime/spool';
import { createTestBucket, servers } from '@twc/testenv/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPlanCommand } from '../../src/cli/commands/plan.js';
import { generatedDayAheadCents, generatedPriceCents } from '../../src/simulator/comed-server.js';
import { collectingIo } from './run-command.js';

const SEED = 1;
// Dec 1, 2025 to Dec 3, 2026 (Chicago): five weeks of history before the first evening scored.
const FROM = Date.UTC(2025, 11, 1, 6);
const TO = Date.UTC(2026, 11, 3, 6);
const dir = mkdtempSync(join(tmpdir(), 'twc-plan-cli-'));
const pricesFile = join(dir, 'feed.json');
const dayAheadFile = join(dir, 'dayahead.jsonl');
const hourly = new Map<number, number>();
const dayAhead = new Map<number, number>();
const fiveMinute = new Map<number, number>();

beforeAll(() => {
  const entries: string[] = [];
  for (let stampMs = TO - 5 * 60_000; stampMs >= FROM; stampMs -= 5 * 60_000) {
    fiveMinute.set(stampMs, generatedPriceCents(SEED, stampMs));
    entries.push(`{"millisUTC":"${stampMs}","price":"${generatedPriceCents(SEED, stampMs)}"}`);
  }
  writeFileSync(pricesFile, `[${entries.join(',')}]`);
  const lines: string[] = [];
  for (let hourEndingMs = FROM + HOUR_MS; hourEndingMs <= TO; hourEndingMs += HOUR_MS) {
    let sum = 0;
    for (let k = 1; k <= 12; k++) sum += generatedPriceCents(SEED, hourEndingMs - k * 5 * 60_000);
    hourly.set(hourEndingMs, sum / 12);
    const price = generatedDayAheadCents(SEED, hourEndingMs);
    dayAhead.set(hourEndingMs, price);
    lines.push(
      JSON.stringify({
        hour_start: new Date(hourEndingMs - HOUR_MS).toISOString(),
        hour_ending: new Date(hourEndingMs).toISOString(),
        price_cents_kwh: price,
      }),
    );
  }
  writeFileSync(dayAheadFile, `${lines.join('\n')}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[], env: Record<string, string | undefined> = {}) {
  const { io, output } = collectingIo(env);
  const code = await runPlanCommand(argv, io);
  return { code, ...output };
}

describe('twc plan backtest', () => {
  it("replays a commuter's year on the stand-in's prices: no departure missed, 90 % of the saving captured", async () => {
    const result = await run(['backtest', '--prices', pricesFile, '--dayahead', dayAheadFile]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(output.cases).toBeGreaterThan(320);
    expect(output.skipped).toBe(0);
    expect(output.missedDepartures).toBe(0);
    expect(output.savingUsd).toBeGreaterThan(0);
    expect(output.planned.energyKwh).toBeCloseTo(output.atPlugIn.energyKwh, 3);
    // The goal: 90 % of the hindsight saving, re-planning every 5 minutes on what was known.
    expect(output.capturedShare).toBeGreaterThan(0.9);
    expect(output.runsPerCase).toBeLessThanOrEqual(DEFAULT_PLAN_RULES.maxRuns);

    // What the files gave is what the stand-in generated: the same figures on the generator directly,
    // with the bands and the 5-minute spread measured on the history before the first case.
    const cases = commuterCases(SEED, FROM + 35 * 24 * HOUR_MS, TO - 5 * 60_000 - 24 * HOUR_MS);
    const firstCaseMs = (cases[0] as { plugInMs: number }).plugInMs;
    const errors = measuredErrors(
      backtestForwardPrices({
        hourly,
        dayAhead,
        fromMs: FROM + HOUR_MS + 7 * 24 * HOUR_MS,
        toMs: firstCaseMs - 24 * HOUR_MS,
      }),
    );
    // (The file's hourly averages are exact to 1e-9, the generator's sums floats.)
    for (const source of ['day_ahead', 'forecast'] as const) {
      expect(output.bands[source].low).toBeCloseTo(errors?.[source].low as number, 6);
      expect(output.bands[source].high).toBeCloseTo(errors?.[source].high as number, 6);
    }
    const intervalSpreadCents = measuredIntervalSpread(fiveMinute, FROM, firstCaseMs - HOUR_MS);
    expect(output.interval_spread_cents).toBeCloseTo(intervalSpreadCents as number, 9);
    expect(output.five_minute_prices).toBe(fiveMinute.size);
    const direct = backtestPlans({
      hourly,
      dayAhead,
      fiveMinute,
      errors,
      intervalSpreadCents,
      cases,
      powerKw: 11.5,
      tariff: TARIFF_DEFAULTS,
      rules: DEFAULT_PLAN_RULES,
    });
    expect(output.cases).toBe(direct.cases);
    expect(output.capturedShare).toBeCloseTo(direct.capturedShare as number, 6);
    // Without the day-ahead prices the planner has only the forecast, and captures less.
    const forecastOnly = JSON.parse((await run(['backtest', '--prices', pricesFile])).stdout);
    expect(forecastOnly.missedDepartures).toBe(0);
    expect(forecastOnly.capturedShare).toBeLessThan(output.capturedShare);
  }, 120_000);

  it('reads the stored history with the comed-poller settings, and takes the cases from a file', async () => {
    const bucket = await createTestBucket('plan-cli');
    const { influx } = servers();
    const spoolDir = join(dir, 'spool');
    const writer = createInfluxWriter({
      ...influx,
      spool: createSpool({ dir: spoolDir, maxBytes: 1e8, logger: silentLogger() }),
      logger: silentLogger(),
    });
    const from = Date.UTC(2026, 8, 1, 5);
    const to = Date.UTC(2026, 9, 15, 5);
    const prices = [];
    for (let stampMs = from; stampMs < to; stampMs += 5 * 60_000) {
      prices.push({ timeMs: stampMs, priceCentsPerKwh: generatedPriceCents(SEED, stampMs) });
    }
    writer.write(bucket, 'durable', pricePoints(prices, to));
    writer.write(
      bucket,
      'durable',
      dayAheadPoints(
        [...dayAhead]
          .filter(([hourEndingMs]) => hourEndingMs > from && hourEndingMs <= to)
          .map(([hourEndingMs, price]) => ({
            label: { year: 0, month: 0, day: 0, hour: 0 },
            priceCentsPerKwh: price,
            hourEndingsMs: [hourEndingMs],
          })),
      ),
    );
    await writer.close();
    const arrivals = join(dir, 'arrivals.json');
    writeFileSync(
      arrivals,
      JSON.stringify([
        { plug_in: '2026-10-12T18:10:00-05:00', departure: '2026-10-13T07:00:00-05:00', energy_kwh: 30 },
        { plug_in: '2026-10-13T18:40:00-05:00', departure: '2026-10-13T21:00:00-05:00', energy_kwh: 40 },
      ]),
    );
    const env = {
      INFLUXDB_URL: influx.url,
      INFLUXDB_TOKEN: influx.token,
      INFLUXDB_ORG: influx.org,
      INFLUXDB_BUCKET_PRICES: bucket,
    };
    const result = await run(
      ['backtest', '--from', '2026-10-12T00:00:00-05:00', '--to', '2026-10-14T00:00:00-05:00', '--arrivals', arrivals],
      env,
    );
    expect(result.stderr).toBe('');
    const output = JSON.parse(result.stdout);
    // The second evening needs 40 kWh in 1.8 hours at 11.5 kW: it cannot be made, and says so.
    expect([output.cases, output.missedDepartures]).toEqual([2, 1]);
    expect(output.day_ahead_hours).toBeGreaterThan(24 * 30);
  }, 60_000);

  it('answers a usage error with exit code 2 naming what is wrong', async () => {
    const both = await run(['backtest', '--prices', pricesFile, '--from', '2026-01-01T00:00Z']);
    expect([both.code, both.stderr]).toEqual([2, expect.stringMatching(/not both/)]);
    const missing = await run(['backtest', '--prices', join(dir, 'nope.json')]);
    expect([missing.code, missing.stderr]).toEqual([
      2,
      expect.stringMatching(/nope\.json cannot be read \(no such file\)/),
    ]);
    const runs = await run(['backtest', '--prices', pricesFile, '--max-runs', '0']);
    expect([runs.code, runs.stderr]).toEqual([2, expect.stringMatching(/--max-runs must be an integer from 1 to 24/)]);
    const bad = join(dir, 'bad-arrivals.json');
    writeFileSync(bad, JSON.stringify([{ plug_in: 'tonight', departure: '2026-10-13T07:00:00Z', energy_kwh: 5 }]));
    const arrivals = await run(['backtest', '--prices', pricesFile, '--arrivals', bad]);
    expect([arrivals.code, arrivals.stderr]).toEqual([2, expect.stringMatching(/0\.plug_in/)]);
  });
});
