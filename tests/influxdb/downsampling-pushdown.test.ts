/**
 * The downsampling tasks filter fields with == comparisons that InfluxDB
 * evaluates in storage; before, they used contains() over a list, which it
 * cannot. Both forms run here on the same raw data (two simulated chargers,
 * every raw field, six hours) and must write the same points (the extremes
 * the tasks now keep beside them aside): same series,
 * times, types and values. A mean computed in storage adds its samples in
 * another order than Flux does, so floats agree to 12 significant digits
 * (they differ in the 15th); everything else is equal.
 */
import { createChargerModel } from '@twc/collector/simulator/charger-model';
import { buildVersion } from '@twc/collector/simulator/payloads';
import { versionSchema } from '@twc/core/charger/models';
import { type PointData, TIER_EXTREMES } from '@twc/core/contracts/influx-schema';
import { createTestBucket, servers } from '@twc/testenv/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { rawSample, writePoints } from '../grafana/seed.js';
import { containsBaselineFlux, type Tier } from './contains-baseline.js';
import { readBucket, type TypedRow } from './init-script.js';
import { renderedTask, runTaskFlux } from './task-flux.js';

const HOUR_MS = 3_600_000;
const SAMPLE_MS = 5000;
/** On the hour, a day ago: the hourly task's six hours of look-back end here. */
const NOW_MS = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 24 * HOUR_MS;
const FROM_MS = NOW_MS - 6 * HOUR_MS - 10 * 60_000;
const TIERS: Tier[] = ['1m', '5m', '1h'];

let raw: string;

beforeAll(async () => {
  const { influx } = servers();
  raw = await createTestBucket('pushdown-raw');
  const points: PointData[] = [];
  for (const index of [0, 1]) {
    const model = createChargerModel({ index, seed: 11, startTimeMs: FROM_MS, scenario: 'session' });
    const version = versionSchema.parse(buildVersion(model.identity, 'new'));
    const tags = { charger_id: version.serial_number, charger_name: `charger-${index}` };
    for (let timeMs = FROM_MS; timeMs < NOW_MS + 10 * 60_000; timeMs += SAMPLE_MS) {
      points.push(...rawSample(model, tags, version, timeMs - FROM_MS, timeMs).points);
      // A few failed polls, so the maximum of consecutive_failures and the poll times differ from their last values.
      const i = (timeMs - FROM_MS) / SAMPLE_MS;
      if (i % 97 < 3) {
        points.push({
          measurement: 'twc_health',
          tags,
          fields: {
            consecutive_failures: (i % 97) + 1,
            online: i % 97 < 2,
            poll_ms: 900 + i,
            last_error: `timeout ${i}`,
          },
          timeMs,
        });
      }
    }
  }
  await writePoints(influx, raw, points);
}, 120_000);

const key = (row: TypedRow) =>
  `${row.measurement}.${row.field} ${JSON.stringify(row.tags)} ${new Date(row.timeMs).toISOString()}`;

describe.each(TIERS)('the %s task', (tier) => {
  it('writes the same points as the contains() form it replaced', async () => {
    const { influx } = servers();
    const rewritten = await createTestBucket(`pushdown-${tier}-new`);
    const baseline = await createTestBucket(`pushdown-${tier}-old`);
    await runTaskFlux(
      influx,
      renderedTask(tier, influx.org, { raw, m1: rewritten, m5: rewritten, h1: rewritten }),
      NOW_MS,
    );
    await runTaskFlux(influx, containsBaselineFlux(tier, raw, baseline, influx.org), NOW_MS);
    const read = async (bucket: string) =>
      new Map(
        (await readBucket({ influx }, bucket, FROM_MS - HOUR_MS, NOW_MS + HOUR_MS)).map((row) => [key(row), row]),
      );
    const expected = await read(baseline);
    const actual = await read(rewritten);
    // Every window of the look-back, two chargers, every raw field: thousands of points, not a handful.
    expect(expected.size).toBeGreaterThan({ '1m': 2000, '5m': 1000, '1h': 500 }[tier]);
    // Beside them, only the extremes the tasks keep now (checked in downsampling.test.ts).
    const extremes = [...actual.values()].filter((row) => /_(max|min)$/.test(row.field));
    expect(new Set(extremes.map((row) => `${row.measurement}.${row.field}`))).toEqual(
      new Set(Object.entries(TIER_EXTREMES).flatMap(([m, fields]) => Object.keys(fields).map((f) => `${m}.${f}`))),
    );
    for (const row of extremes) actual.delete(key(row));
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    const differing = [...expected].filter(([name, row]) => {
      const other = actual.get(name);
      if (other?.type !== row.type) return true;
      if (row.type !== 'double') return other.value !== row.value;
      const [a, b] = [Number(row.value), Number(other.value)];
      return Math.abs(a - b) > 1e-12 * Math.max(Math.abs(a), Math.abs(b), 1);
    });
    expect(differing.map(([name, row]) => `${name}: ${row.value} vs ${actual.get(name)?.value}`)).toEqual([]);
  }, 120_000);
});
