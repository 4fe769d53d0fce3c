// `twc forecast backtest` (src/cli/commands/forecast.ts) on the ComEd stand-in's history stored in a real InfluxDB.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOUR_MS } from '@twc/core/prices/comed-clock';
import { backtestForwardPrices } from '@twc/core/prices/forecast-backtest';
import { dayAheadPoints, pricePoints } from '@twc/core/prices/price-plan';
import { createInfluxWriter } from '@twc/runtime/influx-writer';
import { silentLogger } from '@twc/runtime/logger';
import { createSpool } from '@twc/runtime/spool';
import { createTestBucket, servers } from '@twc/testenv/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BacktestOutput, runForecastCommand } from '../../src/cli/commands/forecast.js';
import { generatedDayAheadCents, generatedPriceCents } from '../../src/simulator/comed-server.js';
import { collectingIo } from './run-command.js';

const SEED = 3;
// Six weeks of history: Sep 1 to Oct 13, 2026 (Chicago midnights); the last two weeks are scored.
const HISTORY_FROM = Date.UTC(2026, 8, 1, 5);
const HISTORY_TO = Date.UTC(2026, 9, 15, 5);
const FROM = '2026-09-29T00:00:00-05:00';
const TO = '2026-10-13T00:00:00-05:00';
let bucket: string;

beforeAll(async () => {
  bucket = await createTestBucket('forecast-cli');
  const { influx } = servers();
  const dir = mkdtempSync(join(tmpdir(), 'twc-forecast-cli-'));
  const writer = createInfluxWriter({
    ...influx,
    spool: createSpool({ dir, maxBytes: 1e8, logger: silentLogger() }),
    logger: silentLogger(),
  });
  const prices = [];
  for (let stampMs = HISTORY_FROM; stampMs < HISTORY_TO; stampMs += 5 * 60_000) {
    prices.push({ timeMs: stampMs, priceCentsPerKwh: generatedPriceCents(SEED, stampMs) });
  }
  writer.write(bucket, 'durable', pricePoints(prices, HISTORY_TO));
  const hours = [];
  for (let hourEndingMs = HISTORY_FROM + HOUR_MS; hourEndingMs <= HISTORY_TO; hourEndingMs += HOUR_MS) {
    hours.push({
      label: { year: 0, month: 0, day: 0, hour: 0 },
      priceCentsPerKwh: generatedDayAheadCents(SEED, hourEndingMs),
      hourEndingsMs: [hourEndingMs],
    });
  }
  writer.write(bucket, 'durable', dayAheadPoints(hours));
  await writer.close();
  expect(writer.stats().spooledLines).toBe(0);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

async function run(argv: string[]) {
  const { influx } = servers();
  const { io, output } = collectingIo({
    INFLUXDB_URL: influx.url,
    INFLUXDB_TOKEN: influx.token,
    INFLUXDB_ORG: influx.org,
    INFLUXDB_BUCKET_PRICES: bucket,
  });
  const code = await runForecastCommand(argv, io);
  return { code, ...output };
}

describe('twc forecast backtest', () => {
  it('scores the stored history: day-ahead beats the forecast, which beats a flat guess', async () => {
    const result = await run(['backtest', '--from', FROM, '--to', TO]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as BacktestOutput;
    expect(output.days).toBe(14);
    expect(output.dayAhead.hours).toBe(14 * 24);
    expect(output.dayAhead.mae as number).toBeLessThan(output.forecast.mae as number);
    expect(output.forecast.mae as number).toBeLessThan(output.flat.mae as number);
    expect(output.overnight.withDayAhead.cases).toBe(14);
    expect(output.overnight.withDayAhead.capturedShare as number).toBeGreaterThan(0.7);

    // What InfluxDB gave back is what the stand-in generated: the same figures computed on the generator.
    const hourly = new Map<number, number>();
    const dayAhead = new Map<number, number>();
    for (let hourEndingMs = HISTORY_FROM + HOUR_MS; hourEndingMs <= HISTORY_TO; hourEndingMs += HOUR_MS) {
      let sum = 0;
      for (let k = 1; k <= 12; k++) sum += generatedPriceCents(SEED, hourEndingMs - k * 5 * 60_000);
      hourly.set(hourEndingMs, sum / 12);
      dayAhead.set(hourEndingMs, generatedDayAheadCents(SEED, hourEndingMs));
    }
    const expected = backtestForwardPrices({ hourly, dayAhead, fromMs: Date.parse(FROM), toMs: Date.parse(TO) });
    expect(output.dayAhead.mae).toBeCloseTo(expected.dayAhead.mae as number, 9);
    expect(output.forecast.mae).toBeCloseTo(expected.forecast.mae as number, 9);
    expect(output.overnight.forecastOnly.regretCentsPerKwh).toBeCloseTo(
      expected.overnight.forecastOnly.regretCentsPerKwh as number,
      9,
    );
  }, 60_000);

  it('answers a usage error with exit code 2 naming what is wrong', async () => {
    const unknown = await run(['forwards']);
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringMatching(/unknown subcommand "forwards"/)]);
    const noTo = await run(['backtest', '--from', FROM]);
    expect([noTo.code, noTo.stderr]).toEqual([2, expect.stringMatching(/--to is required/)]);
    const hours = await run(['backtest', '--from', FROM, '--to', TO, '--charge-hours', '0']);
    expect([hours.code, hours.stderr]).toEqual([
      2,
      expect.stringMatching(/--charge-hours must be an integer from 1 to 12/),
    ]);
  });
});
