/**
 * What the downsampling tasks cost a run, at 2 and 10 chargers: each task's
 * Flux (influxdb/tasks/) against the contains() form it replaced
 * (tests/influxdb/contains-baseline.ts), on the same raw data in the same run.
 * The raw bucket holds the six hours and ten minutes before "now" that the
 * hourly task's look-back reads, written from the charger simulator through
 * the collector's schemas and writer (every car charging). Each form runs as
 * a query with now() pinned, as a forced run of the task would; the result
 * is not sent back. Rewrites the downsampling-bench section of docs/PERFORMANCE.md.
 *
 *   pnpm bench:downsampling             # about 4 minutes
 *   pnpm bench:downsampling --no-write  # prints only
 */
import { rmSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createChargerModel } from '@twc/collector/simulator/charger-model';
import { buildVersion } from '@twc/collector/simulator/payloads';
import { versionSchema } from '@twc/core/charger/models';
import type { PointData } from '@twc/core/contracts/influx-schema';
import { type InfluxServer, makeTempDir, startInfluxd } from '@twc/testenv';
import { rawSample, writePoints } from '../tests/grafana/seed.js';
import { containsBaselineFlux, TIER_SETTINGS, type Tier } from '../tests/influxdb/contains-baseline.js';
import { renderedTask, runTaskFlux } from '../tests/influxdb/task-flux.js';
import { writeDocSection } from './doc-section.js';

const DOC = fileURLToPath(new URL('../docs/PERFORMANCE.md', import.meta.url));
const DOC_START = '<!-- downsampling-bench:start -->';
const DOC_END = '<!-- downsampling-bench:end -->';
const HOUR_MS = 3_600_000;
const SAMPLE_MS = 5000;
const TIERS: Tier[] = ['1m', '5m', '1h'];
const CHARGER_COUNTS = [2, 10];
/** Runs of each rewritten task (the median is reported); the baseline, seconds a run, runs once. */
const RUNS = 5;

interface Row {
  chargers: number;
  tier: Tier;
  runsMs: number[];
  baselineMs: number;
}

async function createBucket(influx: InfluxServer, name: string): Promise<string> {
  const response = await fetch(`${influx.url}/api/v2/buckets`, {
    method: 'POST',
    headers: { authorization: `Token ${influx.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ orgID: influx.orgId, name, retentionRules: [] }),
  });
  if (!response.ok) throw new Error(`creating bucket ${name}: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
  return name;
}

async function seedRaw(influx: InfluxServer, bucket: string, chargers: number, nowMs: number): Promise<void> {
  const fromMs = nowMs - 6 * HOUR_MS - 10 * 60_000;
  for (let index = 0; index < chargers; index++) {
    const model = createChargerModel({ index, seed: 5, startTimeMs: fromMs, scenario: 'session' });
    const version = versionSchema.parse(buildVersion(model.identity, 'new'));
    const tags = { charger_id: version.serial_number, charger_name: `charger-${index + 1}` };
    const points: PointData[] = [];
    for (let timeMs = fromMs; timeMs < nowMs + 10 * 60_000; timeMs += SAMPLE_MS) {
      points.push(...rawSample(model, tags, version, timeMs - fromMs, timeMs).points);
    }
    await writePoints(influx, bucket, points);
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};
const seconds = (ms: number) => (ms >= 10_000 ? (ms / 1000).toFixed(1) : (ms / 1000).toFixed(2));
const share = (ms: number, everyMs: number) => `${((ms / everyMs) * 100).toFixed(2)} %`;

function report(rows: Row[], startLoad: number): string {
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown'}), Linux ${release()}, Node ${process.version}, load average ${startLoad.toFixed(2)} at the start. Rerun with \`pnpm bench:downsampling\`.`,
    '',
    `Each task's Flux run at 10 minutes past the raw data's sixth hour, every car charging; "contains()" is the form the tasks had before, in the same run. The rewritten task's time is the median of ${RUNS} runs; "of a core" is the run time over the task's interval, what it costs continuously:`,
    '',
    '| chargers | task | every | look-back | run s (rewritten) | of a core | run s (contains()) | of a core | contains() × rewritten |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const tier = TIER_SETTINGS[row.tier];
    const runMs = median(row.runsMs);
    lines.push(
      `| ${row.chargers} | twc-downsample-${row.tier} | ${tier.window} | ${tier.lookback} | ${seconds(runMs)} | ${share(runMs, tier.windowMs)} | ${seconds(row.baselineMs)} | ${share(row.baselineMs, tier.windowMs)} | ${Math.round(row.baselineMs / runMs)} |`,
    );
  }
  for (const chargers of CHARGER_COUNTS) {
    const of = rows.filter((row) => row.chargers === chargers);
    const total = (pick: (row: Row) => number) =>
      of.reduce((sum, row) => sum + pick(row) / TIER_SETTINGS[row.tier].windowMs, 0) * 100;
    lines.push(
      '',
      `- ${chargers} chargers, the three tasks together: ${total((row) => median(row.runsMs)).toFixed(2)} % of a core (contains(): ${total((row) => row.baselineMs).toFixed(1)} %)`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'no-write': { type: 'boolean' } }, strict: true });
  const startLoad = loadavg()[0] ?? 0;
  const dir = makeTempDir('downsampling-bench');
  const influx = await startInfluxd(dir);
  const rows: Row[] = [];
  try {
    // On the hour, a day ago: as if the hourly task were scheduled now.
    const nowMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 24 * HOUR_MS;
    for (const chargers of CHARGER_COUNTS) {
      const raw = await createBucket(influx, `raw-${chargers}`);
      await seedRaw(influx, raw, chargers, nowMs);
      for (const tier of TIERS) {
        const out = await createBucket(influx, `${tier}-${chargers}`);
        const baselineOut = await createBucket(influx, `${tier}-${chargers}-contains`);
        const flux = renderedTask(tier, influx.org, { raw, m1: out, m5: out, h1: out });
        const runsMs: number[] = [];
        for (let run = 0; run < RUNS; run++) runsMs.push(await runTaskFlux(influx, flux, nowMs));
        const baselineMs = await runTaskFlux(influx, containsBaselineFlux(tier, raw, baselineOut, influx.org), nowMs);
        rows.push({ chargers, tier, runsMs, baselineMs });
        process.stderr.write(
          `${chargers} chargers, ${tier}: ${seconds(median(runsMs))} s, contains() ${seconds(baselineMs)} s\n`,
        );
      }
    }
  } finally {
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const markdown = report(rows, startLoad);
  process.stdout.write(`${markdown}\n`);
  if (!values['no-write']) writeDocSection(DOC, DOC_START, DOC_END, markdown);
}

await main();
