import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from '@influxdata/influxdb-client';
import { createTestBucket, servers, uniqueKeyPrefix } from '@twc/testenv/vitest';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { createComedClient } from '../../src/prices/comed-client.js';
import { FIVE_MINUTES_MS, HOUR_MS, intervalEndsInHour } from '../../src/prices/intervals.js';
import { createPricePoller, type PricePoller } from '../../src/prices/price-poller.js';
import { type CurrentPrice, createRedisPriceState, priceKeys } from '../../src/prices/redis-price-state.js';
import { type ComedServer, createComedServer } from '../../src/simulator/comed-server.js';
import { createInfluxWriter } from '../../src/storage/influx-writer.js';
import { createSpool } from '../../src/storage/spool.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Harness {
  poller: PricePoller;
  server: ComedServer;
  bucket: string;
  prefix: string;
  progressFile: string;
  clock: { now: number };
}

async function startServer(nowMs: number) {
  const clock = { now: nowMs };
  const server = createComedServer({ now: () => clock.now, seed: 7 });
  const { url } = await server.start();
  cleanups.push(() => server.stop());
  return { clock, server, url };
}

async function harness(options: {
  backfillDays: number;
  served: Awaited<ReturnType<typeof startServer>>;
  pieceSpacingMs?: number;
  bucket?: string;
  progressFile?: string;
}): Promise<Harness> {
  const { influx, redis } = servers();
  const { clock, server, url } = options.served;
  const dir = mkdtempSync(join(tmpdir(), 'twc-price-poller-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const bucket = options.bucket ?? (await createTestBucket('prices'));
  const prefix = uniqueKeyPrefix('prices');
  const client = createComedClient({ baseUrl: url, timeoutMs: 2000, pieceSpacingMs: options.pieceSpacingMs ?? 0 });
  const writer = createInfluxWriter({
    url: influx.url,
    token: influx.token,
    org: influx.org,
    spool: createSpool({ dir: join(dir, 'spool'), maxBytes: 1e7, logger: silentLogger() }),
    logger: silentLogger(),
  });
  const state = createRedisPriceState({ url: redis.url, keyPrefix: prefix, logger: silentLogger() });
  await state.ready(5000);
  const queryApi = new InfluxDB({ url: influx.url, token: influx.token }).getQueryApi(influx.org);
  const progressFile = options.progressFile ?? join(dir, 'backfill.json');
  const poller = createPricePoller({
    client,
    writer,
    bucket,
    state,
    logger: silentLogger(),
    pollIntervalMs: 300_000,
    backfillDays: options.backfillDays,
    progressFile,
    now: () => clock.now,
    knownHours: async (fromMs, toMs) => hourlyRows(bucket, fromMs, toMs, queryApi),
  });
  cleanups.push(async () => {
    await poller.stop();
    await writer.close();
    await state.stop();
    await client.close();
  });
  return { poller, server, bucket, prefix, progressFile, clock };
}

type QueryApi = ReturnType<InfluxDB['getQueryApi']>;
async function hourlyRows(bucket: string, fromMs: number, toMs: number, queryApi?: QueryApi) {
  const { influx } = servers();
  const api = queryApi ?? new InfluxDB({ url: influx.url, token: influx.token }).getQueryApi(influx.org);
  const rows = await api.collectRows<{ _time: string; _value: number; _field: string }>(
    `from(bucket: "${bucket}")
      |> range(start: time(v: "${new Date(fromMs + 1).toISOString()}"), stop: time(v: "${new Date(toMs + 1).toISOString()}"))
      |> filter(fn: (r) => r._measurement == "comed_price_hourly" and r._field == "count")`,
  );
  return rows.map((row) => ({ hourEndingMs: Date.parse(row._time), count: row._value }));
}

async function fiveMinuteRows(bucket: string, fromMs: number, toMs: number) {
  const { influx } = servers();
  const rows = await new InfluxDB({ url: influx.url, token: influx.token })
    .getQueryApi(influx.org)
    .collectRows<{ _time: string; _value: number }>(
      `from(bucket: "${bucket}")
        |> range(start: time(v: "${new Date(fromMs + 1).toISOString()}"), stop: time(v: "${new Date(toMs + 1).toISOString()}"))
        |> filter(fn: (r) => r._measurement == "comed_price" and r.price_type == "5min")`,
    );
  return rows.map((row) => ({ timeMs: Date.parse(row._time), price: row._value }));
}

async function readCurrent(prefix: string): Promise<CurrentPrice> {
  const redis = new Redis(servers().redis.url);
  try {
    return JSON.parse((await redis.get(priceKeys.current(prefix))) ?? 'null') as CurrentPrice;
  } finally {
    redis.disconnect();
  }
}

// 2026-11-02 12:00 Chicago (CST, UTC-6) is 18:00 UTC; the day before is the 25-hour day.
const NOV_2_NOON_CHICAGO = Date.UTC(2026, 10, 2, 18, 0);

describe('price poller', () => {
  it('caches the current price in Redis with a stale flag that is set and cleared', async () => {
    const h = await harness({ served: await startServer(NOV_2_NOON_CHICAGO + 12 * 60_000), backfillDays: 0 });
    await h.poller.pollOnce();
    const fresh = await readCurrent(h.prefix);
    expect(fresh.five_minute).toEqual({
      time: new Date(NOV_2_NOON_CHICAGO + 10 * 60_000).toISOString(),
      price_cents_kwh: h.server.priceAt(NOV_2_NOON_CHICAGO + 10 * 60_000),
    });
    expect(fresh.stale).toBe(false);
    expect(fresh.hour_average?.hour_ending).toBe(new Date(NOV_2_NOON_CHICAGO + HOUR_MS).toISOString());
    const soFar = [5, 10].reduce(
      (sum, minutes) => sum + (h.server.priceAt(NOV_2_NOON_CHICAGO + minutes * 60_000) ?? Number.NaN),
      0,
    );
    expect(fresh.hour_average?.price_cents_kwh).toBeCloseTo(soFar / 2, 9);

    // The feed breaks and time moves on: the last price stays, flagged stale.
    h.server.setFaults({ response: 'html-200' });
    h.clock.now += 20 * 60_000;
    await h.poller.pollOnce();
    const stale = await readCurrent(h.prefix);
    expect(stale.stale).toBe(true);
    expect(stale.five_minute).toEqual(fresh.five_minute);
    expect(h.poller.stats().failedPolls).toBe(1);

    h.server.clearFaults();
    await h.poller.pollOnce();
    const back = await readCurrent(h.prefix);
    expect(back.stale).toBe(false);
    expect(Date.parse(back.feed_time ?? '')).toBe(NOV_2_NOON_CHICAGO + 30 * 60_000);
  });

  it('survives a 500, a timeout and an empty answer from the feed', async () => {
    const h = await harness({ served: await startServer(NOV_2_NOON_CHICAGO), backfillDays: 0 });
    for (const fault of ['status-500', 'empty-array', 'timeout'] as const) {
      h.server.setFaults({ response: fault });
      await h.poller.pollOnce();
    }
    expect(h.poller.stats().failedPolls).toBe(3);
    h.server.clearFaults();
    await h.poller.pollOnce();
    expect(h.poller.stats().failedPolls).toBe(3);
    expect((await readCurrent(h.prefix)).stale).toBe(false);
  }, 30_000);

  it('backfills the 25-hour November day with every hour complete and averages exact', async () => {
    const h = await harness({ served: await startServer(NOV_2_NOON_CHICAGO), backfillDays: 2 });
    await h.poller.backfill();
    // 2026-11-01 in Chicago runs from 05:00 UTC on Nov 1 to 06:00 UTC on Nov 2: 25 hours.
    const dayStart = Date.UTC(2026, 10, 1, 5);
    const dayEnd = Date.UTC(2026, 10, 2, 6);
    const hours = await hourlyRows(h.bucket, dayStart, dayEnd);
    expect(hours).toHaveLength(25);
    expect(hours.every((hour) => hour.count === 12)).toBe(true);
    const prices = await fiveMinuteRows(h.bucket, dayStart, dayEnd);
    expect(prices).toHaveLength(25 * 12);

    // The average is checked against the server's own prices, computed here independently.
    const { influx } = servers();
    const hourEnd = Date.UTC(2026, 10, 1, 7); // 01:00-02:00 CDT, the first of the two 1 AM hours
    const [row] = await new InfluxDB({ url: influx.url, token: influx.token })
      .getQueryApi(influx.org)
      .collectRows<{ _value: number }>(
        `from(bucket: "${h.bucket}") |> range(start: 2026-11-01T06:59:00Z, stop: 2026-11-01T07:01:00Z)
          |> filter(fn: (r) => r._measurement == "comed_price_hourly" and r._field == "avg_price")`,
      );
    const expected = intervalEndsInHour(hourEnd).map((stamp) => h.server.priceAt(stamp) as number);
    expect(row?._value).toBeCloseTo(expected.reduce((a, b) => a + b, 0) / 12, 9);
  });

  it('resumes a backfill interrupted halfway without gaps or duplicates', async () => {
    const serverNow = Date.UTC(2026, 9, 20, 12);
    const served = await startServer(serverNow);
    const first = await harness({ served, backfillDays: 70, pieceSpacingMs: 400 });
    // Break the feed as soon as the first monthly piece has been asked for.
    const watcher = setInterval(() => {
      if (served.server.requests().length >= 1) served.server.setFaults({ response: 'status-500' });
    }, 5);
    await expect(first.poller.backfill()).rejects.toThrow();
    clearInterval(watcher);
    const progress = JSON.parse(readFileSync(first.progressFile, 'utf8')) as { startMs: number; doneUntilMs: number };
    expect(progress.doneUntilMs).toBeGreaterThan(progress.startMs);
    expect(progress.doneUntilMs).toBeLessThan(serverNow);
    const firstRunStart = served.server.requests()[0]?.datestart;

    served.server.clearFaults();
    served.server.clearRequests();
    const second = await harness({ served, backfillDays: 70, bucket: first.bucket, progressFile: first.progressFile });
    await second.poller.backfill();
    const resumedAt = served.server.requests()[0]?.datestart ?? '';
    expect(resumedAt > (firstRunStart ?? '')).toBe(true);
    expect(JSON.parse(readFileSync(first.progressFile, 'utf8'))).toEqual({
      startMs: progress.startMs,
      doneUntilMs: serverNow,
    });

    const hourCount = (serverNow - progress.startMs) / HOUR_MS;
    const hours = await hourlyRows(first.bucket, progress.startMs, serverNow);
    expect(hours).toHaveLength(hourCount);
    expect(hours.filter((hour) => hour.count !== 12)).toEqual([]);
    const prices = await fiveMinuteRows(first.bucket, progress.startMs, serverNow);
    expect(prices).toHaveLength(hourCount * 12);
    expect(new Set(prices.map((price) => price.timeMs)).size).toBe(prices.length);
    expect(prices.every((price, i) => i === 0 || price.timeMs - (prices[i - 1]?.timeMs ?? 0) === FIVE_MINUTES_MS)).toBe(
      true,
    );
  }, 60_000);

  it('re-fetches hours that had missing 5-minute prices in the daily check', async () => {
    const serverNow = Date.UTC(2026, 6, 10, 12);
    const served = await startServer(serverNow);
    const missing = [Date.UTC(2026, 6, 10, 3, 15), Date.UTC(2026, 6, 10, 3, 20), Date.UTC(2026, 6, 10, 8, 5)];
    served.server.setFaults({ missingStampsMs: missing });
    const h = await harness({ served, backfillDays: 1 });
    await h.poller.backfill();
    const short = (await hourlyRows(h.bucket, serverNow - 24 * HOUR_MS, serverNow)).filter((hour) => hour.count < 12);
    expect(short).toEqual([
      { hourEndingMs: Date.UTC(2026, 6, 10, 4), count: 10 },
      { hourEndingMs: Date.UTC(2026, 6, 10, 9), count: 11 },
    ]);

    served.server.clearFaults();
    served.server.clearRequests();
    await h.poller.checkHistory();
    const after = await hourlyRows(h.bucket, serverNow - 24 * HOUR_MS, serverNow);
    expect(after.filter((hour) => hour.count < 12)).toEqual([]);
    // Two gaps less than a day apart: one request.
    expect(served.server.requests()).toHaveLength(1);
    expect(h.poller.stats().refetchedHours).toBe(2);
  });
});
