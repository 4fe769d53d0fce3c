import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from '@influxdata/influxdb-client';
import type { PointData } from '@twc/core/contracts/influx-schema';
import { type CurrentPrice, priceForecastSchema, priceKeys } from '@twc/core/contracts/redis';
import { FIVE_MINUTES_MS, HOUR_MS, stampsInHour } from '@twc/core/prices/comed-clock';
import { DEFAULT_NIGHT } from '@twc/core/prices/forecast-snapshot';
import { createInfluxDelete, type DeletePoints } from '@twc/runtime/influx-delete';
import { createInfluxWriter, type InfluxWriter } from '@twc/runtime/influx-writer';
import { silentLogger } from '@twc/runtime/logger';
import { createSpool } from '@twc/runtime/spool';
import { createTestBucket, servers, uniqueKeyPrefix } from '@twc/testenv/vitest';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createComedClient } from '../../src/comed-poller/comed-client.js';
import { createForecastPublisher, type ForecastPublisher } from '../../src/comed-poller/forecast-publisher.js';
import { createInfluxPriceStore } from '../../src/comed-poller/influx-price-store.js';
import { createPricePoller, type PricePoller } from '../../src/comed-poller/price-poller.js';
import { createRedisPriceState } from '../../src/comed-poller/redis-price-state.js';
import { type ComedServer, createComedServer, generatedDayAheadCents } from '../../src/simulator/comed-server.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Harness {
  poller: PricePoller;
  forecast: ForecastPublisher;
  writer: InfluxWriter;
  /** Replaces the InfluxDB delete the poller uses (to break it on purpose). */
  setDelete(deletePoints: DeletePoints): void;
  server: ComedServer;
  bucket: string;
  prefix: string;
  progressFile: string;
  dayAheadFile: string;
  clock: { now: number };
}

async function startServer(nowMs: number, serverOptions: Parameters<typeof createComedServer>[0] = {}) {
  const clock = { now: nowMs };
  const server = createComedServer({ now: () => clock.now, seed: 7, ...serverOptions });
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
  upgradeFile?: string;
  dayAheadFile?: string;
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
  const store = createInfluxPriceStore({ queryApi, bucket });
  let deletePoints: DeletePoints = createInfluxDelete(influx);
  const dayAheadFile = options.dayAheadFile ?? join(dir, 'dayahead-backfill.json');
  const forecast = createForecastPublisher({
    writer,
    bucket,
    state,
    logger: silentLogger(),
    night: DEFAULT_NIGHT,
    knownHours: store.hourlyPrices,
    storedDayAhead: store.dayAheadPrices,
    now: () => clock.now,
  });
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
    knownHours: store.hourlyPrices,
    storedPrices: store.fiveMinutePrices,
    storedPriceRange: store.fiveMinuteRange,
    deletePoints: (...args) => deletePoints(...args),
    upgradeFile: options.upgradeFile ?? join(dir, 'price-clock-upgrade.json'),
    dayAheadFile,
    requestSpacingMs: 0,
    storedDayAhead: store.dayAheadPrices,
    forecast,
  });
  cleanups.push(async () => {
    await poller.stop();
    await writer.close();
    await state.stop();
    await client.close();
  });
  return {
    poller,
    forecast,
    writer,
    server,
    bucket,
    prefix,
    progressFile,
    dayAheadFile,
    clock,
    setDelete: (replacement) => {
      deletePoints = replacement;
    },
  };
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

/** The 5-minute prices stamped in [fromMs, toMs). */
async function fiveMinuteRows(bucket: string, fromMs: number, toMs: number) {
  const { influx } = servers();
  const rows = await new InfluxDB({ url: influx.url, token: influx.token })
    .getQueryApi(influx.org)
    .collectRows<{ _time: string; _value: number }>(
      `from(bucket: "${bucket}")
        |> range(start: time(v: "${new Date(fromMs).toISOString()}"), stop: time(v: "${new Date(toMs).toISOString()}"))
        |> filter(fn: (r) => r._measurement == "comed_price" and r.price_type == "5min")`,
    );
  return rows.map((row) => ({ timeMs: Date.parse(row._time), price: row._value }));
}

async function readKey(key: string): Promise<string | null> {
  const redis = new Redis(servers().redis.url);
  try {
    return await redis.get(key);
  } finally {
    redis.disconnect();
  }
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
    expect(h.poller.stats().priceCached).toBe(true);
    expect(fresh.hour_average?.hour_ending).toBe(new Date(NOV_2_NOON_CHICAGO + HOUR_MS).toISOString());
    // The hour ending 13:00 so far: the prices stamped 12:00, 12:05 and 12:10.
    const soFar = [0, 5, 10].reduce(
      (sum, minutes) => sum + (h.server.priceAt(NOV_2_NOON_CHICAGO + minutes * 60_000) ?? Number.NaN),
      0,
    );
    expect(fresh.hour_average?.price_cents_kwh).toBeCloseTo(soFar / 3, 9);

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
    const expected = stampsInHour(hourEnd).map((stamp) => h.server.priceAt(stamp) as number);
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
    // Through the price stamped at serverNow: ComEd posts it as its interval begins.
    expect(JSON.parse(readFileSync(first.progressFile, 'utf8'))).toEqual({
      startMs: progress.startMs,
      doneUntilMs: serverNow + FIVE_MINUTES_MS,
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
    // The price stamped 08:00 opens the hour ending 09:00.
    const missing = [Date.UTC(2026, 6, 10, 3, 15), Date.UTC(2026, 6, 10, 3, 20), Date.UTC(2026, 6, 10, 8, 0)];
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

async function writePoints(bucket: string, points: PointData[]): Promise<void> {
  const { influx } = servers();
  const dir = mkdtempSync(join(tmpdir(), 'twc-seed-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const writer = createInfluxWriter({
    ...influx,
    spool: createSpool({ dir, maxBytes: 1e7, logger: silentLogger() }),
    logger: silentLogger(),
  });
  writer.write(bucket, 'durable', points);
  await writer.close();
}

async function hourlyAverages(bucket: string, fromMs: number, toMs: number): Promise<Map<number, [number, number]>> {
  const { influx } = servers();
  const rows = await new InfluxDB({ url: influx.url, token: influx.token })
    .getQueryApi(influx.org)
    .collectRows<{ _time: string; avg_price: number; count: number }>(
      `from(bucket: "${bucket}")
        |> range(start: time(v: "${new Date(fromMs).toISOString()}"), stop: time(v: "${new Date(toMs).toISOString()}"))
        |> filter(fn: (r) => r._measurement == "comed_price_hourly")
        |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`,
    );
  return new Map(rows.map((row) => [Date.parse(row._time), [row.avg_price, row.count]]));
}

describe('price clock upgrade', () => {
  // 40 days of prices, so the re-derivation runs in two monthly pieces.
  const NOW = Date.UTC(2026, 10, 10, 18, 7);
  const FIRST = Date.UTC(2026, 9, 1, 5); // Oct 1, 00:00 CDT
  const LAST = Date.UTC(2026, 10, 10, 18, 0);

  /** A store as the previous version wrote it: each hour ending H averaged the prices stamped H-55 .. H. */
  async function oldRuleStore(server: ComedServer): Promise<string> {
    const bucket = await createTestBucket('old-clock');
    const points: PointData[] = [];
    for (let stamp = FIRST; stamp <= LAST; stamp += FIVE_MINUTES_MS) {
      points.push({
        measurement: 'comed_price',
        tags: { price_type: '5min' },
        fields: { price_cents_kwh: server.priceAt(stamp) as number },
        timeMs: stamp,
      });
    }
    for (let hourEnd = FIRST; hourEnd <= LAST; hourEnd += HOUR_MS) {
      const prices = [];
      for (let stamp = hourEnd - 55 * 60_000; stamp <= hourEnd; stamp += FIVE_MINUTES_MS) {
        if (stamp >= FIRST && stamp <= LAST) prices.push(server.priceAt(stamp) as number);
      }
      const sum = prices.reduce((total, price) => total + price, 0);
      points.push({
        measurement: 'comed_price_hourly',
        tags: {},
        fields: {
          avg_price: sum / prices.length,
          min_price: Math.min(...prices),
          max_price: Math.max(...prices),
          count: prices.length,
        },
        timeMs: hourEnd,
      });
    }
    await writePoints(bucket, points);
    return bucket;
  }

  /** The hour ending H on the corrected clock, computed here: the mean of the prices stamped H-60 .. H-5. */
  function expectedHours(server: ComedServer): Map<number, [number, number]> {
    const hours = new Map<number, [number, number]>();
    for (let hourEnd = FIRST + HOUR_MS; hourEnd <= LAST; hourEnd += HOUR_MS) {
      const prices = stampsInHour(hourEnd).map((stamp) => server.priceAt(stamp) as number);
      hours.set(hourEnd, [prices.reduce((total, price) => total + price, 0) / 12, 12]);
    }
    return hours;
  }

  function expectSameHours(actual: Map<number, [number, number]>, expected: Map<number, [number, number]>) {
    expect([...actual.keys()].sort((a, b) => a - b)).toEqual([...expected.keys()].sort((a, b) => a - b));
    const wrong = [...expected].filter(([hourEnd, [avg, count]]) => {
      const got = actual.get(hourEnd);
      return !got || Math.abs(got[0] - avg) > 1e-9 || got[1] !== count;
    });
    expect(wrong).toEqual([]);
  }

  it('re-derives every stored hour on the corrected clock, once, and resumes after an interruption', async () => {
    const served = await startServer(NOW);
    const bucket = await oldRuleStore(served.server);
    const upgradeFile = join(mkdtempSync(join(tmpdir(), 'twc-upgrade-')), 'price-clock-upgrade.json');
    const before = await hourlyAverages(bucket, FIRST, LAST + 1);
    // The old store differs from the corrected one in nearly every hour.
    const expected = expectedHours(served.server);
    const differing = [...expected].filter(
      ([hourEnd, [avg]]) => Math.abs((before.get(hourEnd)?.[0] ?? 0) - avg) > 1e-9,
    );
    expect(differing.length).toBeGreaterThan(expected.size * 0.9);

    // Pieces: the hour before October (where the old clock put the first stamp's hour), October,
    // November. The first run is cut off after October: InfluxDB refuses the next delete.
    const first = await harness({ served, backfillDays: 0, bucket, upgradeFile });
    const { influx } = servers();
    const realDelete = createInfluxDelete(influx);
    let deletes = 0;
    first.setDelete(async (...args) => {
      deletes++;
      if (deletes === 3) throw new Error('InfluxDB went away');
      await realDelete(...args);
    });
    await expect(first.poller.upgradePriceClock()).rejects.toThrow('InfluxDB went away');
    const partial = JSON.parse(readFileSync(upgradeFile, 'utf8')) as { doneUntilMs: number; complete: boolean };
    expect(partial).toEqual({ doneUntilMs: Date.UTC(2026, 10, 1, 5), complete: false });

    const second = await harness({ served, backfillDays: 0, bucket, upgradeFile });
    await second.poller.upgradePriceClock();
    expect(JSON.parse(readFileSync(upgradeFile, 'utf8'))).toEqual({
      doneUntilMs: Date.UTC(2026, 10, 10, 18),
      complete: true,
    });
    // The hour ending at the first stamp (old rule: that stamp alone) is gone; every other hour is on the new clock.
    const after = await hourlyAverages(bucket, FIRST, LAST + 1);
    expect(before.has(FIRST)).toBe(true);
    expectSameHours(after, expected);

    // Done once: a third start leaves the store alone, and a repeat by hand gives the same store.
    const third = await harness({ served, backfillDays: 0, bucket, upgradeFile });
    third.setDelete(() => Promise.reject(new Error('must not delete again')));
    await third.poller.upgradePriceClock();
    expect(third.poller.stats().upgrade).toEqual({ complete: true, hours: 0 });
  }, 60_000);

  it('has nothing to do on a new installation', async () => {
    const served = await startServer(NOW);
    const upgradeFile = join(mkdtempSync(join(tmpdir(), 'twc-upgrade-')), 'price-clock-upgrade.json');
    const h = await harness({ served, backfillDays: 0, upgradeFile });
    await h.poller.upgradePriceClock();
    expect(h.poller.stats().upgrade).toEqual({ complete: true, hours: 0 });
    expect(JSON.parse(readFileSync(upgradeFile, 'utf8'))).toMatchObject({ complete: true });
  });
});

describe("ComEd's published hourly prices", () => {
  const NOW = Date.UTC(2026, 10, 3, 7, 30); // Nov 3, 01:30 CST: the two days before are Nov 1 (25 h) and Nov 2

  async function published(bucket: string) {
    const { influx } = servers();
    const api = new InfluxDB({ url: influx.url, token: influx.token }).getQueryApi(influx.org);
    const hours = await api.collectRows<{
      _time: string;
      price_cents_kwh: number;
      diff_cents?: number;
      mismatch: boolean;
    }>(
      `from(bucket: "${bucket}") |> range(start: 2026-10-30T00:00:00Z, stop: 2026-11-04T00:00:00Z)
        |> filter(fn: (r) => r._measurement == "comed_price_published")
        |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`,
    );
    const days = await api.collectRows<Record<string, number | string>>(
      `from(bucket: "${bucket}") |> range(start: 2026-10-30T00:00:00Z, stop: 2026-11-04T00:00:00Z)
        |> filter(fn: (r) => r._measurement == "comed_price_check")
        |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`,
    );
    return { hours, days };
  }

  it('stores them beside ours and finds every hour in agreement when our prices are right', async () => {
    const served = await startServer(NOW);
    const h = await harness({ served, backfillDays: 3 });
    await h.poller.backfill();
    await h.poller.checkPublished();
    const { hours, days } = await published(h.bucket);
    // Nov 1: 24 labels, one of them (1 AM) naming two hours; Nov 2: 24 labels.
    expect(hours).toHaveLength(23 + 24);
    expect(hours.filter((hour) => hour.mismatch)).toEqual([]);
    expect(hours.every((hour) => Math.abs(hour.diff_cents ?? 1) <= 0.05)).toBe(true);
    expect(days.map((day) => [day._time, day.hours_compared, day.hours_mismatched, day.hours_unverifiable])).toEqual([
      ['2026-11-01T05:00:00Z', 23, 0, 1],
      ['2026-11-02T06:00:00Z', 24, 0, 0],
    ]);
    expect(h.poller.stats().published).toMatchObject({
      checkedDays: 2,
      mismatchedHours: 0,
      latest: { date: '2026-11-02', compared: 24, mismatched: 0, mismatchShare: 0 },
    });
  });

  it('counts the hours where a store on the wrong clock disagrees with ComEd', async () => {
    const served = await startServer(NOW);
    const h = await harness({ served, backfillDays: 3 });
    await h.poller.backfill();
    // Each hour ending H rewritten as the previous version computed it: the prices stamped H-55 .. H.
    const wrong: PointData[] = [];
    for (let hourEnd = Date.UTC(2026, 10, 2, 7); hourEnd <= Date.UTC(2026, 10, 3, 5); hourEnd += HOUR_MS) {
      const prices = stampsInHour(hourEnd).map((stamp) => served.server.priceAt(stamp + FIVE_MINUTES_MS) as number);
      wrong.push({
        measurement: 'comed_price_hourly',
        tags: {},
        fields: { avg_price: prices.reduce((a, b) => a + b, 0) / 12, min_price: 0, max_price: 0, count: 12 },
        timeMs: hourEnd,
      });
    }
    await writePoints(h.bucket, wrong);
    await h.poller.checkPublished();
    const latest = h.poller.stats().published.latest;
    expect(latest?.date).toBe('2026-11-02');
    expect(latest?.compared).toBe(24);
    // The generated prices move from one 5-minute interval to the next, so a shifted hour rarely rounds the same.
    expect(latest?.mismatched).toBeGreaterThan(12);
    expect(latest?.mismatchShare).toBeGreaterThan(0.25);
  });

  it('survives a broken published feed and keeps polling', async () => {
    const served = await startServer(NOW);
    const h = await harness({ served, backfillDays: 0 });
    served.server.setFaults({ response: 'html-200' });
    await expect(h.poller.checkPublished()).rejects.toMatchObject({ kind: 'not_json' });
    served.server.clearFaults();
    await h.poller.pollOnce();
    expect(h.poller.stats().failedPolls).toBe(0);
  });
});

async function dayAheadRows(bucket: string): Promise<Map<number, number>> {
  const { influx } = servers();
  const rows = await new InfluxDB({ url: influx.url, token: influx.token })
    .getQueryApi(influx.org)
    .collectRows<{ _time: string; _value: number }>(
      `from(bucket: "${bucket}") |> range(start: 0)
        |> filter(fn: (r) => r._measurement == "comed_price_dayahead" and r._field == "price_cents_kwh")`,
    );
  return new Map(rows.map((row) => [Date.parse(row._time), row._value]));
}

describe("ComEd's day-ahead prices", () => {
  // Tuesday 2026-11-10, 15:50 CST.
  const AFTERNOON = Date.UTC(2026, 10, 10, 21, 50);
  const TOMORROW_START = Date.UTC(2026, 10, 11, 6);

  it("looks for tomorrow's prices from 16:00 until ComEd publishes them, stores them, and then stops for the day", async () => {
    const served = await startServer(AFTERNOON);
    const h = await harness({ served, backfillDays: 0 });
    const dayAheadRequests = () => served.server.requests().filter((r) => r.type === 'daynexttomorrow').length;
    await h.poller.pollDayAhead();
    expect(dayAheadRequests()).toBe(0);
    h.clock.now = AFTERNOON + 15 * 60_000; // 16:05: not published yet, `[]`
    await h.poller.pollDayAhead();
    expect(dayAheadRequests()).toBe(1);
    expect((await dayAheadRows(h.bucket)).size).toBe(0);
    h.clock.now = AFTERNOON + 45 * 60_000; // 16:35
    await h.poller.pollDayAhead();
    const stored = await dayAheadRows(h.bucket);
    // Hour-ending labels: label 0 of Nov 11 is the hour ending at its midnight (comed-clock.ts, DAY_AHEAD_LABELS).
    expect([...stored.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 24 }, (_, i) => TOMORROW_START + i * HOUR_MS),
    );
    for (const [hourEndingMs, cents] of stored) expect(cents).toBe(generatedDayAheadCents(7, hourEndingMs));
    expect(h.poller.stats().dayAhead.latestDate).toBe('2026-11-11');
    h.clock.now = AFTERNOON + 55 * 60_000;
    await h.poller.pollDayAhead();
    expect(dayAheadRequests()).toBe(2);
  });

  it('backfills the day-ahead prices of the history window, the DST days included, and resumes', async () => {
    // Nov 3, 10:00 CST: the window holds Oct 31 to Nov 3, the 25-hour Nov 1 among them.
    const served = await startServer(Date.UTC(2026, 10, 3, 16));
    const first = await harness({ served, backfillDays: 3 });
    await first.poller.backfillDayAhead();
    expect(
      served.server
        .requests()
        .filter((r) => r.url.includes('daynexttoday'))
        .map((r) => r.url),
    ).toEqual(
      ['20261031', '20261101', '20261102', '20261103'].map(
        (date) => `/rrtp/ServletFeed?type=daynexttoday&date=${date}`,
      ),
    );
    const stored = await dayAheadRows(first.bucket);
    const countIn = (fromMs: number, toMs: number) => [...stored.keys()].filter((t) => t > fromMs && t <= toMs).length;
    // Nov 1's labels name the hours ending from its midnight (05:00 UTC) to 23:00 CST; of its 24 labels
    // the repeated 1 AM one names two hours and is not stored.
    expect(countIn(Date.UTC(2026, 10, 1, 5) - 1, Date.UTC(2026, 10, 2, 5))).toBe(23);
    expect(countIn(Date.UTC(2026, 10, 2, 6) - 1, Date.UTC(2026, 10, 3, 5))).toBe(24);

    // A restart the same day asks only for today again (its prices are final once published).
    served.server.clearRequests();
    const second = await harness({ served, backfillDays: 3, bucket: first.bucket, dayAheadFile: first.dayAheadFile });
    await second.poller.backfillDayAhead();
    expect(served.server.requests().map((r) => r.url)).toEqual(['/rrtp/ServletFeed?type=daynexttoday&date=20261103']);
  });

  it('stores the 23 hours of the spring-forward day, label 2 absent', async () => {
    const served = await startServer(Date.UTC(2026, 2, 8, 18));
    const h = await harness({ served, backfillDays: 0 });
    await h.poller.backfillDayAhead();
    const stored = await dayAheadRows(h.bucket);
    // Labels 0, 1 and 3 to 23: the hours ending at midnight CST through 23:00 CDT.
    expect([...stored.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 23 }, (_, i) => Date.UTC(2026, 2, 8, 6) + i * HOUR_MS),
    );
  });

  it('finds the labels read right when the day-ahead curve lines up with real-time prices, and says so when not', async () => {
    const now = Date.UTC(2026, 9, 30, 18);
    const check = async (serverOptions: Parameters<typeof createComedServer>[0]) => {
      const served = await startServer(now, serverOptions);
      const h = await harness({ served, backfillDays: 28 });
      await h.poller.backfill();
      await h.poller.backfillDayAhead();
      await h.poller.checkDayAhead();
      return h.poller.stats().dayAhead.labels;
    };
    const right = await check({});
    expect(right?.bestOffsetHours).toBe(0);
    const correlation = (offset: number) =>
      right?.offsets.find((entry) => entry.offsetHours === offset)?.correlation ?? Number.NaN;
    expect(correlation(0)).toBeGreaterThan(correlation(-1) + 0.03);
    expect(correlation(0)).toBeGreaterThan(correlation(1) + 0.03);
    // A feed whose labels begin their hour, read as ending it, lines up an hour later.
    const shifted = await check({ dayAhead: (hourEndingMs) => generatedDayAheadCents(7, hourEndingMs + HOUR_MS) });
    expect(shifted?.bestOffsetHours).toBe(1);
  }, 120_000);
});

describe('the forecast of the hours ahead', () => {
  it('publishes 48 hours to Redis and InfluxDB, day-ahead where published, bands measured on the history', async () => {
    // Tuesday 2026-11-10, 16:40 CST: tomorrow's day-ahead prices are out.
    const now = Date.UTC(2026, 10, 10, 22, 40);
    const served = await startServer(now);
    const h = await harness({ served, backfillDays: 35 });
    const { redis } = servers();
    const subscriber = new Redis(redis.url);
    cleanups.push(() => subscriber.quit().then(() => undefined));
    const announced: string[] = [];
    await subscriber.subscribe(priceKeys.forecastChannel(h.prefix));
    subscriber.on('message', (_channel: string, message: string) => announced.push(message));

    await h.poller.backfill();
    await h.poller.backfillDayAhead();
    await h.poller.pollOnce();
    expect(await h.poller.pollDayAhead()).toBe(true);
    await h.forecast.measureAccuracy();
    await h.forecast.refresh(h.poller.stats().latest, true);

    const published = priceForecastSchema.parse(JSON.parse((await readKey(priceKeys.forecast(h.prefix))) as string));
    const tomorrowStart = Date.UTC(2026, 10, 11, 6);
    const dayAfterStart = Date.UTC(2026, 10, 12, 6);
    const sourceOf = (hourEndingMs: number) =>
      published.hours.find((hour) => Date.parse(hour.hour_ending) === hourEndingMs);
    expect(published.hours[0]).toMatchObject({
      hour_ending: new Date(Date.UTC(2026, 10, 10, 23)).toISOString(),
      source: 'running',
    });
    expect(published.hours).toHaveLength(48);
    // Tomorrow's 24 labels name the hours ending from its midnight to 23:00 (hour-ending labels).
    for (let hourEndingMs = tomorrowStart; hourEndingMs < dayAfterStart; hourEndingMs += HOUR_MS) {
      expect(sourceOf(hourEndingMs)).toMatchObject({
        source: 'day_ahead',
        price_cents_kwh: generatedDayAheadCents(7, hourEndingMs),
      });
    }
    expect(sourceOf(dayAfterStart)?.source).toBe('forecast');
    // Bands from 28 backtested days, not the defaults: each holds about 80 % of the errors.
    expect(published.errors.measured_days).toBe(28);
    expect(published.errors.day_ahead.low).toBeLessThan(0);
    expect(published.errors.day_ahead.high).toBeGreaterThan(0);
    expect(published.errors.forecast.high - published.errors.forecast.low).toBeGreaterThan(
      published.errors.day_ahead.high - published.errors.day_ahead.low,
    );
    // Tonight: 18:00 to 07:00, four cheapest hours, all known from the day-ahead curve.
    expect(published.tonight.from).toBe(new Date(Date.UTC(2026, 10, 11, 0)).toISOString());
    expect(published.tonight.until).toBe(new Date(Date.UTC(2026, 10, 11, 13)).toISOString());
    const window = published.tonight.window;
    expect(window?.hours).toBe(4);
    expect(window?.sources).toEqual(['day_ahead']);
    const windowHours = published.hours.filter(
      (hour) =>
        Date.parse(hour.hour_ending) > Date.parse(window?.start ?? '') &&
        Date.parse(hour.hour_ending) <= Date.parse(window?.end ?? ''),
    );
    expect(windowHours.reduce((sum, hour) => sum + hour.price_cents_kwh, 0) / 4).toBeCloseTo(
      window?.avg_price_cents_kwh ?? Number.NaN,
      9,
    );
    await expect.poll(() => announced.length).toBeGreaterThan(0);
    expect(priceForecastSchema.parse(JSON.parse(announced.at(-1) as string))).toEqual(published);

    // InfluxDB: each hour ahead with its source, tonight's plan at 18:00, the day's accuracy figures.
    await h.poller.stop();
    await h.writer.flush();
    const { influx } = servers();
    const queryApi = new InfluxDB({ url: influx.url, token: influx.token }).getQueryApi(influx.org);
    const forecastRows = await queryApi.collectRows<{ _time: string; source: string; price_cents_kwh: number }>(
      `from(bucket: "${h.bucket}") |> range(start: 0, stop: 2030-01-01T00:00:00Z)
        |> filter(fn: (r) => r._measurement == "comed_price_forecast")
        |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`,
    );
    const ahead = published.hours.filter((hour) => hour.source === 'day_ahead' || hour.source === 'forecast');
    expect(forecastRows.map((row) => [Date.parse(row._time), row.source, row.price_cents_kwh])).toEqual(
      ahead.map((hour) => [Date.parse(hour.hour_ending), hour.source, hour.price_cents_kwh]),
    );
    const [night] = await queryApi.collectRows<{ _time: string; start_ms: number; avg_price_cents_kwh: number }>(
      `from(bucket: "${h.bucket}") |> range(start: 0, stop: 2030-01-01T00:00:00Z)
        |> filter(fn: (r) => r._measurement == "comed_tonight_window")
        |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`,
    );
    expect(night?._time).toBe(published.tonight.from.replace('.000Z', 'Z'));
    expect(night?.start_ms).toBe(Date.parse(window?.start ?? ''));
    const [accuracy] = await queryApi.collectRows<{ dayahead_mae_cents: number; flat_mae_cents: number; days: number }>(
      `from(bucket: "${h.bucket}") |> range(start: 0)
        |> filter(fn: (r) => r._measurement == "comed_forecast_accuracy")
        |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`,
    );
    expect(accuracy?.days).toBe(28);
    expect(accuracy?.dayahead_mae_cents).toBeLessThan(accuracy?.flat_mae_cents ?? 0);
    expect(h.poller.stats().forecast).toMatchObject({ measuredDays: 28, failedRefreshes: 0 });
  }, 120_000);

  it('keeps going when InfluxDB cannot be read, and says so once', async () => {
    const served = await startServer(Date.UTC(2026, 10, 10, 22, 40));
    const h = await harness({ served, backfillDays: 0 });
    const { redis } = servers();
    const state = createRedisPriceState({ url: redis.url, keyPrefix: h.prefix, logger: silentLogger() });
    cleanups.push(() => state.stop());
    const lines: { msg: string }[] = [];
    const broken = createForecastPublisher({
      writer: h.writer,
      bucket: h.bucket,
      state,
      logger: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) }),
      night: DEFAULT_NIGHT,
      knownHours: () => Promise.reject(new Error('InfluxDB is away')),
      storedDayAhead: () => Promise.reject(new Error('InfluxDB is away')),
      now: () => h.clock.now,
    });
    await broken.refresh(undefined);
    h.clock.now += 10 * 60_000;
    await broken.refresh(undefined);
    expect(broken.stats()).toMatchObject({ refreshes: 2, failedRefreshes: 2, lastRefresh: null });
    expect(lines.filter((line) => line.msg.includes('could not publish the price forecast'))).toHaveLength(1);
    expect(await readKey(priceKeys.forecast(h.prefix))).toBeNull();
  });
});
