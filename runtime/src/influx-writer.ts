import { HttpError, InfluxDB, Point, setLogger, type WriteApi } from '@influxdata/influxdb-client';
import { type MeasurementSchema, type PointData, SCHEMA } from '@twc/core/contracts/influx-schema';
import type { Logger } from './logger.js';
import { createSpool, type Spool, type SpoolKind, type SpoolStats } from './spool.js';

/** Lines per write request and per spool file. */
const MAX_BATCH_LINES = 5000;

/**
 * One point as InfluxDB line protocol with millisecond precision, or
 * undefined when no field has a value. A field not in the schema is a bug in
 * our code, not in the data, and throws.
 */
export function toLineProtocol(point: PointData): string | undefined {
  const schema: MeasurementSchema = SCHEMA[point.measurement];
  const line = new Point(point.measurement).timestamp(String(Math.round(point.timeMs)));
  for (const [key, value] of Object.entries(point.tags)) {
    if (value !== '') line.tag(key, value);
  }
  for (const [name, value] of Object.entries(point.fields)) {
    const type = schema.fields[name];
    if (type === undefined) throw new Error(`field ${name} is not in the schema of ${point.measurement}`);
    if (value === null || value === undefined) continue;
    if (type === 'bool') {
      if (typeof value === 'boolean') line.booleanField(name, value);
    } else if (type === 'string') {
      line.stringField(name, String(value));
    } else {
      const number = typeof value === 'number' ? value : Number(value);
      if (!Number.isFinite(number)) continue;
      if (type === 'int') line.intField(name, Math.trunc(number));
      else line.floatField(name, number);
    }
  }
  return line.toLineProtocol();
}

export interface InfluxWriterOptions {
  url: string;
  token: string;
  org: string;
  spool: Spool;
  logger: Logger;
  flushIntervalMs?: number;
  requestTimeoutMs?: number;
  /** First and longest wait between attempts to replay the spool while InfluxDB is down. */
  replayMinDelayMs?: number;
  replayMaxDelayMs?: number;
}

export interface InfluxWriterStats {
  writtenLines: number;
  spooledLines: number;
  replayedLines: number;
  /** Lines InfluxDB refused as invalid (never retried). */
  rejectedLines: number;
  pendingLines: number;
  influxReachable: boolean;
  spool: SpoolStats;
}

export interface InfluxWriter {
  /** Starts the periodic flush and spool replay. */
  start(): void;
  /** Queues points; they are written at the next flush, or spooled if InfluxDB is down. */
  write(bucket: string, kind: SpoolKind, points: PointData[]): void;
  /** Writes what is queued now and tries the spool once. */
  flush(): Promise<void>;
  /** Flushes, spools whatever could not be written, and stops. */
  close(): Promise<void>;
  stats(): InfluxWriterStats;
}

/**
 * Writes points to InfluxDB without ever losing one to an outage: batches
 * that fail go to the on-disk spool, and the spool is replayed oldest first
 * once InfluxDB answers again. While the spool is not empty, new batches are
 * appended behind it, so points arrive in the order they were taken.
 * Rewriting a point InfluxDB already holds overwrites it with the same
 * values, so a batch replayed after a write that timed out but succeeded
 * leaves no duplicate.
 */
export function createInfluxWriter(options: InfluxWriterOptions): InfluxWriter {
  const { spool, logger } = options;
  const flushIntervalMs = options.flushIntervalMs ?? 1000;
  const replayMinDelayMs = options.replayMinDelayMs ?? 1000;
  const replayMaxDelayMs = options.replayMaxDelayMs ?? 30_000;
  const client = new InfluxDB({ url: options.url, token: options.token, timeout: options.requestTimeoutMs ?? 10_000 });
  // The client library logs every failed write itself; we log state changes once instead.
  setLogger({ error: (message) => logger.debug({ source: 'influxdb-client' }, message), warn: () => {} });

  const writeApis = new Map<string, WriteApi>();
  const pending = new Map<string, { bucket: string; kind: SpoolKind; lines: string[] }>();
  let pendingLines = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let reachable = true;
  let replayDelayMs = replayMinDelayMs;
  let nextReplayAt = 0;
  let outageSpooledLines = 0;
  const counters = { writtenLines: 0, spooledLines: 0, replayedLines: 0, rejectedLines: 0 };
  const rejectionsLogged = new Set<string>();

  function writeApiFor(bucket: string): WriteApi {
    let api = writeApis.get(bucket);
    if (!api) {
      // Our own batching and spool replace the library's buffer and retries.
      api = client.getWriteApi(options.org, bucket, 'ms', {
        maxRetries: 0,
        batchSize: MAX_BATCH_LINES + 1,
        flushInterval: 0,
        maxBufferLines: MAX_BATCH_LINES * 2,
        writeFailed: () => undefined,
      });
      writeApis.set(bucket, api);
    }
    return api;
  }

  /** 'ok', 'rejected' (InfluxDB refused the data: retrying cannot help) or 'failed' (try again later). */
  async function send(bucket: string, lines: string[]): Promise<'ok' | 'rejected' | 'failed'> {
    const api = writeApiFor(bucket);
    api.writeRecords(lines);
    try {
      await api.flush();
      return 'ok';
    } catch (error) {
      if (error instanceof HttpError && (error.statusCode === 400 || error.statusCode === 422)) {
        const key = `${bucket}:${error.message}`;
        if (!rejectionsLogged.has(key)) {
          rejectionsLogged.add(key);
          logger.error({ bucket, status: error.statusCode, err: error.message }, 'InfluxDB rejected points');
        }
        counters.rejectedLines += lines.length;
        return 'rejected';
      }
      if (reachable) {
        logger.warn(
          { err: error instanceof Error ? error.message : String(error), bucket },
          'InfluxDB write failed; spooling points to disk until it is back',
        );
      }
      reachable = false;
      return 'failed';
    }
  }

  function toSpool(bucket: string, kind: SpoolKind, lines: string[]): void {
    spool.append(bucket, kind, lines);
    counters.spooledLines += lines.length;
    outageSpooledLines += lines.length;
  }

  async function flushPending(): Promise<void> {
    const groups = [...pending.values()].flatMap((group) => {
      const chunks = [];
      for (let start = 0; start < group.lines.length; start += MAX_BATCH_LINES) {
        chunks.push({ ...group, lines: group.lines.slice(start, start + MAX_BATCH_LINES) });
      }
      return chunks;
    });
    pending.clear();
    pendingLines = 0;
    for (const group of groups) {
      // Behind a non-empty spool, new points queue up after the old ones.
      if (spool.stats().files > 0 || !reachable) {
        toSpool(group.bucket, group.kind, group.lines);
        continue;
      }
      const result = await send(group.bucket, group.lines);
      if (result === 'ok') counters.writtenLines += group.lines.length;
      else if (result === 'failed') toSpool(group.bucket, group.kind, group.lines);
    }
  }

  async function replaySpool(now: number): Promise<void> {
    if (spool.stats().files === 0 || now < nextReplayAt) return;
    for (let entry = spool.oldest(); entry; entry = spool.oldest()) {
      const result = await send(entry.bucket, entry.lines);
      if (result === 'failed') {
        nextReplayAt = Date.now() + replayDelayMs;
        replayDelayMs = Math.min(replayDelayMs * 2, replayMaxDelayMs);
        return;
      }
      if (result === 'ok') counters.replayedLines += entry.lines.length;
      spool.remove(entry.seq);
    }
    if (!reachable || outageSpooledLines > 0) {
      logger.info({ replayedLines: outageSpooledLines }, 'InfluxDB reachable again; spool replayed');
    }
    reachable = true;
    outageSpooledLines = 0;
    replayDelayMs = replayMinDelayMs;
    nextReplayAt = 0;
  }

  async function cycle(): Promise<void> {
    await flushPending();
    await replaySpool(Date.now());
  }

  function runCycle(): Promise<void> {
    // One cycle at a time: a slow InfluxDB must not pile up overlapping writes.
    if (!running) {
      running = cycle().finally(() => {
        running = undefined;
      });
    }
    return running;
  }

  return {
    start() {
      if (timer) return;
      timer = setInterval(() => {
        runCycle().catch((error: unknown) => logger.error({ err: error }, 'influx writer cycle failed'));
      }, flushIntervalMs);
      timer.unref();
    },
    write(bucket, kind, points) {
      const key = `${bucket}\n${kind}`;
      let group = pending.get(key);
      if (!group) {
        group = { bucket, kind, lines: [] };
        pending.set(key, group);
      }
      for (const point of points) {
        const line = toLineProtocol(point);
        if (line !== undefined) {
          group.lines.push(line);
          pendingLines++;
        }
      }
    },
    async flush() {
      if (running) await running;
      nextReplayAt = 0;
      await runCycle();
    },
    async close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (running) await running;
      await flushPending();
      // One last try at the spool, so a clean stop after an outage leaves nothing behind
      // when InfluxDB is back; whatever still fails stays on disk for the next start.
      nextReplayAt = 0;
      await replaySpool(Date.now());
      await Promise.allSettled([...writeApis.values()].map((api) => api.close()));
      writeApis.clear();
    },
    stats() {
      return { ...counters, pendingLines, influxReachable: reachable, spool: spool.stats() };
    },
  };
}

/** A service's writer and its on-disk spool, wired the same way in every service. */
export function createSpoolingWriter(options: {
  influx: { url: string; token: string; org: string };
  spool: { dir: string; maxBytes: number };
  logger: Logger;
}): InfluxWriter {
  const spool = createSpool({ ...options.spool, logger: options.logger.child({ module: 'spool' }) });
  return createInfluxWriter({
    url: options.influx.url,
    token: options.influx.token,
    org: options.influx.org,
    spool,
    logger: options.logger.child({ module: 'influx-writer' }),
  });
}
