/**
 * The downsampling tasks' Flux as init.sh installs it, for running it as a
 * query: the test seeds fill their tiers with it, and the benchmark times it.
 * A forced run of a task executes the same Flux with now() at the time it was
 * scheduled for; a query with `now` pinned does the same without the task
 * scheduler in between.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfluxDB } from '@influxdata/influxdb-client';
import type { Tier } from './contains-baseline.js';
import { TASKS_DIR } from './init-script.js';

export interface TaskBuckets {
  raw: string;
  m1: string;
  m5: string;
  h1: string;
}

/** influxdb/tasks/downsample-<tier>.flux with init.sh's placeholders filled in. */
export function renderedTask(tier: Tier, org: string, buckets: TaskBuckets): string {
  const flux = readFileSync(join(TASKS_DIR, `downsample-${tier}.flux`), 'utf8')
    .replaceAll('@ORG@', org)
    .replaceAll('@BUCKET_RAW@', buckets.raw)
    .replaceAll('@BUCKET_1M@', buckets.m1)
    .replaceAll('@BUCKET_5M@', buckets.m5)
    .replaceAll('@BUCKET_1H@', buckets.h1);
  const left = /@[A-Z_0-9]+@/.exec(flux);
  if (left) throw new Error(`downsample-${tier}.flux: placeholder ${left[0]} not filled`);
  return flux;
}

/** The same task recomputing every complete window of the `lookbackMs` before its now(), as a longer gap is refilled. */
export function withLookback(flux: string, lookbackMs: number): string {
  const changed = flux.replace(/^lookback = \w+$/m, `lookback = ${lookbackMs}ms`);
  if (changed === flux) throw new Error('no `lookback = ...` line');
  return changed;
}

/**
 * Runs a task's Flux as a query with now() at `nowMs`, as a run scheduled
 * then would, and returns how long InfluxDB took to answer. What the task
 * writes is not sent back (each result is limited to no rows after `to`).
 */
export async function runTaskFlux(
  influx: { url: string; token: string; org: string },
  flux: string,
  nowMs: number,
): Promise<number> {
  const api = new InfluxDB({ url: influx.url, token: influx.token, timeout: 600_000 }).getQueryApi({
    org: influx.org,
    now: () => new Date(nowMs).toISOString(),
  });
  // A query, unlike a task, needs each of several results named apart.
  let results = 0;
  const silent = flux.replace(
    /\|> to\([^)]*\)/g,
    (write) => `${write}\n    |> limit(n: 0)\n    |> yield(name: "written_${++results}")`,
  );
  const started = performance.now();
  await api.collectLines(silent);
  return performance.now() - started;
}

/** Runs a query with now() at `nowMs`, reading its whole result, and returns how long it took. */
export async function timeFluxQuery(
  influx: { url: string; token: string; org: string },
  flux: string,
  nowMs: number,
): Promise<number> {
  const api = new InfluxDB({ url: influx.url, token: influx.token, timeout: 600_000 }).getQueryApi({
    org: influx.org,
    now: () => new Date(nowMs).toISOString(),
  });
  const started = performance.now();
  await api.collectLines(flux);
  return performance.now() - started;
}
