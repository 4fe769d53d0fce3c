/**
 * An HTTP load generator on undici's Pool, for the API benchmark: closed-loop
 * (every connection sends its next request when the last one is answered, to
 * find the most a server answers) and open-loop at a fixed rate (requests
 * leave on a schedule whether or not earlier ones were answered, so a slow
 * server cannot slow the load down and hide its own latency).
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as Undici from 'undici';
import { type Distribution, distribution } from './poll-lateness.js';

// undici is the collector's dependency, not the workspace root's: load it from there.
const { Pool } = createRequire(new URL('../collector/package.json', import.meta.url))('undici') as typeof Undici;

export interface LoadResult {
  /** Answered with a 2xx status within the window. */
  answered: number;
  /** Answered with another status, or failed at the connection. */
  failed: number;
  elapsedS: number;
  answeredPerS: number;
  /** From handing a request to the pool to the last byte of its answer. */
  latencyMs: Distribution;
  /** Open loop only: how late requests left against their schedule (this process's own delay). */
  sendLagMs?: Distribution;
  /** The first error or unexpected status seen, for the report. */
  firstFailure?: string;
  /** The latencies and send lags themselves, so windows can be combined. */
  samples: { latencyMs: number[]; sendLagMs: number[] };
}

interface Target {
  /** http://host:port */
  origin: string;
  path: string;
  connections: number;
  durationMs: number;
}

async function timedRequest(
  pool: InstanceType<typeof Pool>,
  path: string,
): Promise<{ ok: boolean; latencyMs: number; failure?: string }> {
  const startMs = performance.now();
  try {
    const { statusCode, body } = await pool.request({ path, method: 'GET' });
    // Read the whole answer: the latency is to its last byte, and an unread body holds the connection.
    await body.arrayBuffer();
    const latencyMs = performance.now() - startMs;
    return statusCode >= 200 && statusCode < 300
      ? { ok: true, latencyMs }
      : { ok: false, latencyMs, failure: `status ${statusCode}` };
  } catch (error) {
    const code = (error as { code?: string }).code;
    return { ok: false, latencyMs: performance.now() - startMs, failure: code ?? (error as Error).message };
  }
}

function summarize(
  latencies: number[],
  lags: number[] | undefined,
  failed: number,
  elapsedS: number,
  firstFailure: string | undefined,
): LoadResult {
  return {
    answered: latencies.length,
    failed,
    elapsedS,
    answeredPerS: latencies.length / elapsedS,
    latencyMs: distribution(latencies),
    ...(lags === undefined ? {} : { sendLagMs: distribution(lags) }),
    ...(firstFailure === undefined ? {} : { firstFailure }),
    samples: { latencyMs: latencies, sendLagMs: lags ?? [] },
  };
}

/** Several windows of the same kind as one: counts and times added, distributions over every request. */
export function combine(results: readonly LoadResult[]): LoadResult {
  const open = results.some((result) => result.sendLagMs !== undefined);
  return summarize(
    results.flatMap((result) => result.samples.latencyMs),
    open ? results.flatMap((result) => result.samples.sendLagMs) : undefined,
    results.reduce((total, result) => total + result.failed, 0),
    results.reduce((total, result) => total + result.elapsedS, 0),
    results.find((result) => result.firstFailure !== undefined)?.firstFailure,
  );
}

/** Closed loop: `connections` requests in flight at all times for `durationMs`. */
export async function maxThroughput(target: Target): Promise<LoadResult> {
  const pool = new Pool(target.origin, { connections: target.connections, pipelining: 1 });
  const latencies: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  const startMs = performance.now();
  const endMs = startMs + target.durationMs;
  async function loop(): Promise<void> {
    while (performance.now() < endMs) {
      const result = await timedRequest(pool, target.path);
      if (result.ok) latencies.push(result.latencyMs);
      else {
        failed++;
        firstFailure ??= result.failure;
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: target.connections }, loop));
    return summarize(latencies, undefined, failed, (performance.now() - startMs) / 1000, firstFailure);
  } finally {
    await pool.close();
  }
}

/**
 * Open loop: request i leaves at start + i / rate. Timers fire about every
 * millisecond, so the requests due since the last tick leave together; how
 * late each left is reported apart (`sendLagMs`) and not counted as the
 * server's latency.
 */
export async function fixedRate(target: Target & { ratePerS: number }): Promise<LoadResult> {
  const pool = new Pool(target.origin, { connections: target.connections, pipelining: 1 });
  const latencies: number[] = [];
  const lags: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  const total = Math.floor((target.ratePerS * target.durationMs) / 1000);
  const intervalMs = 1000 / target.ratePerS;
  const inFlight = new Set<Promise<void>>();
  const startMs = performance.now();
  try {
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor((performance.now() - startMs) / intervalMs) + 1);
      for (; sent < due; sent++) {
        lags.push(performance.now() - (startMs + sent * intervalMs));
        const request = timedRequest(pool, target.path).then((result) => {
          if (result.ok) latencies.push(result.latencyMs);
          else {
            failed++;
            firstFailure ??= result.failure;
          }
          inFlight.delete(request);
        });
        inFlight.add(request);
      }
      await sleep(1);
    }
    await Promise.all(inFlight);
    return summarize(latencies, lags, failed, (performance.now() - startMs) / 1000, firstFailure);
  } finally {
    await pool.close();
  }
}
