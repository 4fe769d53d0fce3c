import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { PricePoint } from '@twc/core/prices/comed-parse';
import { hourlyAggregates } from '@twc/core/prices/hourly';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ComedClient,
  ComedRequestError,
  classifyTransportError,
  createComedClient,
  planRangePieces,
} from '../../src/comed-poller/comed-client.js';
import { type ComedServer, createComedServer } from '../../src/simulator/comed-server.js';

const MIN5 = 300_000;
const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 10, 28, 18, 2);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function capturedLogger() {
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

async function setUp(
  serverOptions: Parameters<typeof createComedServer>[0] = { now: () => NOW },
  clientOptions: Partial<Parameters<typeof createComedClient>[0]> = {},
): Promise<{ server: ComedServer; client: ComedClient; url: string }> {
  const server = createComedServer(serverOptions);
  const { url } = await server.start();
  cleanups.push(() => server.stop());
  const client = createComedClient({ baseUrl: url, pieceSpacingMs: 0, ...clientOptions });
  cleanups.push(() => client.close());
  return { server, client, url };
}

async function requestError(promise: Promise<unknown>): Promise<ComedRequestError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ComedRequestError) return error;
    throw error;
  }
  throw new Error('expected a ComedRequestError');
}

describe('fiveMinuteFeed', () => {
  it('returns the last 24 hours oldest first, as the server published them', async () => {
    const { server, client } = await setUp();
    const feed = await client.fiveMinuteFeed();
    expect(feed.skipped).toBe(0);
    expect(feed.prices).toHaveLength(288);
    const newest = Date.UTC(2026, 10, 28, 18, 0);
    expect(feed.prices.map((p) => p.timeMs)).toEqual(Array.from({ length: 288 }, (_, i) => newest - (287 - i) * MIN5));
    for (const point of feed.prices) expect(point.priceCentsPerKwh).toBe(server.priceAt(point.timeMs));
    expect(client.stats()).toEqual({ requests: 1, failures: {}, skippedEntries: 0 });
  });

  it('skips a malformed entry, counts it, and logs that once per client', async () => {
    const { logger, lines } = capturedLogger();
    const { server, client } = await setUp(undefined, { logger });
    server.setFaults({ malformedEntry: true });
    const first = await client.fiveMinuteFeed();
    const second = await client.fiveMinuteFeed();
    expect(first.prices).toHaveLength(288);
    expect(first.skipped).toBe(1);
    expect(second.skipped).toBe(1);
    expect(client.stats().skippedEntries).toBe(2);
    const warnings = lines.filter((line) => line.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ module: 'comed-client', skipped: 1 });
  });

  it('returns what is there when intervals are missing', async () => {
    const { server, client } = await setUp();
    const gone = Date.UTC(2026, 10, 28, 12, 0);
    server.setFaults({ missingStampsMs: [gone] });
    const feed = await client.fiveMinuteFeed();
    expect(feed.prices).toHaveLength(287);
    expect(feed.prices.some((p) => p.timeMs === gone)).toBe(false);
  });
});

describe('error kinds', () => {
  it.each([
    ['status-500', 'http_status', 500],
    ['html-200', 'not_json', 200],
    ['empty-array', 'empty', 200],
  ] as const)('%s -> %s', async (fault, kind, status) => {
    const { server, client } = await setUp();
    server.setFaults({ response: fault });
    const error = await requestError(client.fiveMinuteFeed());
    expect(error.kind).toBe(kind);
    expect(error.status).toBe(status);
    expect(error.url).toContain('type=5minutefeed');
    expect(client.stats().failures).toEqual({ [kind]: 1 });
  });

  it('times out on a server that never answers', async () => {
    const { server, client } = await setUp(undefined, { timeoutMs: 150 });
    server.setFaults({ response: 'timeout' });
    const error = await requestError(client.currentHourAverage());
    expect(error.kind).toBe('timeout');
    expect(error.message).toContain('150 ms');
  });

  it('times out on a server that sends headers and then trickles the body', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const trickler = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.write('[');
      const timer = setInterval(() => response.write(' '), 20);
      response.on('close', () => clearInterval(timer));
    });
    trickler.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => trickler.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => trickler.close(() => resolve()));
    });
    const { port } = trickler.address() as AddressInfo;
    const client = createComedClient({ baseUrl: `http://127.0.0.1:${port}/api`, timeoutMs: 200 });
    cleanups.push(() => client.close());
    expect((await requestError(client.fiveMinuteFeed())).kind).toBe('timeout');
  });

  it('reports nothing listening as unreachable', async () => {
    const server = createComedServer();
    const { url } = await server.start();
    await server.stop();
    const client = createComedClient({ baseUrl: url });
    cleanups.push(() => client.close());
    const error = await requestError(client.fiveMinuteFeed());
    expect(error.kind).toBe('unreachable');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('logs a repeated failure once, counts every one, and notes the recovery', async () => {
    const { logger, lines } = capturedLogger();
    const { server, client } = await setUp(undefined, { logger });
    server.setFaults({ response: 'status-500' });
    for (let i = 0; i < 3; i++) await requestError(client.fiveMinuteFeed());
    server.clearFaults();
    await client.fiveMinuteFeed();
    expect(client.stats()).toMatchObject({ requests: 4, failures: { http_status: 3 } });
    expect(lines.filter((line) => line.level === 40)).toHaveLength(1);
    expect(lines.filter((line) => line.level === 30)).toEqual([
      expect.objectContaining({ msg: 'ComEd answering again', failedRequests: 3 }),
    ]);
  });

  it.each([
    [{ code: 'UND_ERR_CONNECT_TIMEOUT' }, 'timeout'],
    [{ code: 'UND_ERR_HEADERS_TIMEOUT' }, 'timeout'],
    [{ code: 'UND_ERR_BODY_TIMEOUT' }, 'timeout'],
    [{ code: 'ECONNREFUSED' }, 'unreachable'],
    [{ code: 'ENOTFOUND' }, 'unreachable'],
    [Object.assign(new AggregateError([{ code: 'ECONNREFUSED' }]), {}), 'unreachable'],
    [{ code: 'ECONNRESET' }, 'connection_lost'],
    [{ code: 'UND_ERR_SOCKET' }, 'connection_lost'],
    [{ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'tls'],
    [{ code: 'HPE_INVALID_HEADER_TOKEN' }, 'bad_http'],
    [{ message: 'x', cause: { code: 'ECONNREFUSED' } }, 'unreachable'],
    [{ message: 'ECONNREFUSED but no code' }, 'unknown'],
  ])('classifies %j as %s by its code', (error, kind) => {
    expect(classifyTransportError(error)).toBe(kind);
  });
});

describe('currentHourAverage', () => {
  it('returns the running average of the current hour', async () => {
    const hourEnd = Date.UTC(2026, 0, 1, 13, 0);
    const prices: PricePoint[] = [1.5, 2.5, -1, 4].map((price, i) => ({
      timeMs: hourEnd - HOUR + (i + 1) * MIN5,
      priceCentsPerKwh: price,
    }));
    const { client } = await setUp({ now: () => hourEnd - HOUR + 4 * MIN5 + 1_000, prices });
    // (1.5 + 2.5 - 1 + 4) / 4 = 1.75
    expect(await client.currentHourAverage()).toEqual({ timeMs: hourEnd - HOUR + 4 * MIN5, priceCentsPerKwh: 1.75 });
  });

  it('fails with kind malformed when its one entry is broken', async () => {
    const broken = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('[{"millisUTC":"1434686700000","price":"n/a"}]');
    });
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => broken.close(() => resolve())));
    const { port } = broken.address() as AddressInfo;
    const client = createComedClient({ baseUrl: `http://127.0.0.1:${port}/api` });
    cleanups.push(() => client.close());
    const error = await requestError(client.currentHourAverage());
    expect(error.kind).toBe('malformed');
    expect(error.status).toBe(200);
    expect(client.stats()).toMatchObject({ skippedEntries: 1, failures: { malformed: 1 } });
  });

  it('fails with kind empty on an empty answer', async () => {
    const { server, client } = await setUp();
    server.setFaults({ response: 'empty-array' });
    expect((await requestError(client.currentHourAverage())).kind).toBe('empty');
  });
});

describe('planRangePieces', () => {
  it('asks for exactly the stamps wanted, as inclusive Chicago local times, when the range fits in 31 days', () => {
    const from = Date.UTC(2026, 0, 31, 6); // Jan 31, 00:00 CST
    const to = Date.UTC(2026, 1, 2, 6); // Feb 2, 00:00 CST: the last stamp wanted is Feb 1, 23:55
    expect(planRangePieces(from, to)).toEqual([
      { fromMs: from, toMs: to, datestart: '202601310000', dateend: '202602012355' },
    ]);
  });

  it('splits a longer range at Chicago month starts, each piece ending on the last stamp before the next', () => {
    const from = Date.UTC(2026, 1, 10, 18); // Feb 10, 12:00 CST
    const to = Date.UTC(2026, 3, 5, 17); // Apr 5, 12:00 CDT
    expect(planRangePieces(from, to)).toEqual([
      { fromMs: from, toMs: Date.UTC(2026, 2, 1, 6), datestart: '202602101200', dateend: '202602282355' },
      {
        fromMs: Date.UTC(2026, 2, 1, 6),
        toMs: Date.UTC(2026, 3, 1, 5),
        datestart: '202603010000',
        dateend: '202603312355',
      },
      { fromMs: Date.UTC(2026, 3, 1, 5), toMs: to, datestart: '202604010000', dateend: '202604051155' },
    ]);
  });

  it('crosses the new year', () => {
    const pieces = planRangePieces(Date.UTC(2026, 10, 15), Date.UTC(2027, 1, 15));
    expect(pieces.map((p) => p.datestart)).toEqual(['202611141800', '202612010000', '202701010000', '202702010000']);
  });

  it('refuses an empty or reversed range', () => {
    expect(() => planRangePieces(5, 5)).toThrow(RangeError);
    expect(() => planRangePieces(10, 5)).toThrow(RangeError);
    expect(() => planRangePieces(Number.NaN, 5)).toThrow(RangeError);
  });
});

describe('fiveMinuteRange', () => {
  it('returns exactly the prices stamped in [from, to), asked for by their first and last stamp', async () => {
    const { server, client } = await setUp();
    const from = Date.UTC(2026, 5, 1, 12, 0);
    const to = Date.UTC(2026, 5, 1, 14, 0);
    const { prices } = await client.fiveMinuteRange(from, to);
    expect(prices.map((p) => p.timeMs)).toEqual(Array.from({ length: 24 }, (_, i) => from + i * MIN5));
    for (const point of prices) expect(point.priceCentsPerKwh).toBe(server.priceAt(point.timeMs));
    expect(server.requests().map((r) => [r.datestart, r.dateend])).toEqual([['202606010700', '202606010855']]);
  });

  it('fetches a long range in monthly pieces, spaced, and merges them without gaps or doubles', async () => {
    const { server, client } = await setUp(undefined, { pieceSpacingMs: 60 });
    const from = Date.UTC(2026, 0, 1, 6); // Jan 1, 00:00 CST
    const to = Date.UTC(2026, 3, 1, 5); // Apr 1, 00:00 CDT
    const { prices, skipped } = await client.fiveMinuteRange(from, to);
    const requests = server.requests();
    expect(requests.map((r) => [r.type, r.datestart, r.dateend])).toEqual([
      ['5minutefeed', '202601010000', '202601312355'],
      ['5minutefeed', '202602010000', '202602282355'],
      ['5minutefeed', '202603010000', '202603312355'],
    ]);
    for (let i = 1; i < requests.length; i++) {
      const gapMs = (requests[i]?.receivedAtMs ?? 0) - (requests[i - 1]?.receivedAtMs ?? 0);
      // A floor set by the client's own pause (timer precision allows a millisecond early).
      expect(gapMs).toBeGreaterThanOrEqual(59);
    }
    expect(skipped).toBe(0);
    expect(prices).toHaveLength((to - from) / MIN5);
    expect(prices.every((p, i) => p.timeMs === from + i * MIN5)).toBe(true);
  });

  it('fetches the 23-hour March day (2026-03-08) in Chicago: 276 prices, 23 complete hours', async () => {
    const { server, client } = await setUp();
    const from = Date.UTC(2026, 2, 8, 6); // local midnight, CST
    const to = Date.UTC(2026, 2, 9, 5); // next local midnight, CDT
    const { prices } = await client.fiveMinuteRange(from, to);
    expect(prices).toHaveLength(276);
    expect(prices.every((p, i) => p.timeMs === from + i * MIN5)).toBe(true);
    for (const point of prices) expect(point.priceCentsPerKwh).toBe(server.priceAt(point.timeMs));
    const hours = hourlyAggregates(prices);
    expect(hours).toHaveLength(23);
    expect(hours.every((h, i) => h.count === 12 && h.hourEndingMs === from + (i + 1) * HOUR)).toBe(true);
    expect(server.requests().map((r) => [r.datestart, r.dateend])).toEqual([['202603080000', '202603082355']]);
  });

  it('fetches the 25-hour November day (2026-11-01) in Chicago: 300 prices, the repeated hour neither lost nor doubled', async () => {
    const { server, client } = await setUp();
    const from = Date.UTC(2026, 10, 1, 5); // local midnight, CDT
    const to = Date.UTC(2026, 10, 2, 6); // next local midnight, CST
    const { prices } = await client.fiveMinuteRange(from, to);
    expect(prices).toHaveLength(300);
    expect(new Set(prices.map((p) => p.timeMs)).size).toBe(300);
    expect(prices.every((p, i) => p.timeMs === from + i * MIN5)).toBe(true);
    for (const point of prices) expect(point.priceCentsPerKwh).toBe(server.priceAt(point.timeMs));
    const hours = hourlyAggregates(prices);
    expect(hours).toHaveLength(25);
    expect(hours.every((h, i) => h.count === 12 && h.hourEndingMs === from + (i + 1) * HOUR)).toBe(true);
    expect(server.requests().map((r) => [r.datestart, r.dateend])).toEqual([['202611010000', '202611012355']]);
  });

  it('cuts the stamps a repeated local hour adds to a range that ends inside it', async () => {
    const { server, client } = await setUp();
    // 00:00 CDT to 01:00 CST on the fall-back day: the last stamp wanted is 01:55 CDT, and
    // "0155" also names 01:55 CST an hour later, which ComEd's inclusive bound takes in too.
    const from = Date.UTC(2026, 10, 1, 5);
    const to = Date.UTC(2026, 10, 1, 7);
    const { prices } = await client.fiveMinuteRange(from, to);
    expect(server.requests().map((r) => [r.datestart, r.dateend])).toEqual([['202611010000', '202611010155']]);
    expect(prices.map((p) => p.timeMs)).toEqual(Array.from({ length: 24 }, (_, i) => from + i * MIN5));
  });

  it('accepts an empty answer as a range with no data', async () => {
    const { client } = await setUp();
    expect(await client.fiveMinuteRange(Date.UTC(2026, 11, 1), Date.UTC(2026, 11, 2))).toEqual({
      prices: [],
      skipped: 0,
    });
  });

  it('fails the whole range when one piece fails, without trying again', async () => {
    const { server, client } = await setUp();
    server.setFaults({ response: 'html-200' });
    const error = await requestError(client.fiveMinuteRange(Date.UTC(2026, 0, 1), Date.UTC(2026, 3, 1)));
    expect(error.kind).toBe('not_json');
    expect(server.requests()).toHaveLength(1);
  });

  it('counts malformed entries of every piece', async () => {
    const { server, client } = await setUp();
    server.setFaults({ malformedEntry: true });
    const { prices, skipped } = await client.fiveMinuteRange(Date.UTC(2026, 0, 1, 6), Date.UTC(2026, 2, 1, 6));
    expect(skipped).toBe(2);
    expect(prices).toHaveLength((Date.UTC(2026, 2, 1, 6) - Date.UTC(2026, 0, 1, 6)) / MIN5);
    expect(client.stats()).toMatchObject({ requests: 2, skippedEntries: 2 });
  });
});

describe('publishedHours', () => {
  it("reads ComEd's published hours of a date and names the hour each label ends", async () => {
    const { server, client } = await setUp({ now: () => NOW, seed: 2 });
    const { hours, skipped } = await client.publishedHours({ year: 2026, month: 11, day: 1 });
    expect(skipped).toBe(0);
    expect(server.requests().map((r) => r.url)).toEqual(['/rrtp/ServletFeed?type=day&date=20261101']);
    // 24 labels for the 25-hour day: label 0 ends at local midnight, label 1 could end either 1 AM hour.
    expect(hours).toHaveLength(24);
    expect(hours[0]?.hourEndingsMs).toEqual([Date.UTC(2026, 10, 1, 5)]);
    expect(hours[1]?.hourEndingsMs).toEqual([Date.UTC(2026, 10, 1, 6), Date.UTC(2026, 10, 1, 7)]);
    expect(hours[2]?.hourEndingsMs).toEqual([Date.UTC(2026, 10, 1, 8)]);
    // Each is what the stand-in publishes from its own 5-minute prices, to 0.1 cent.
    const hour = hours[5] as (typeof hours)[number];
    const hourEnd = hour.hourEndingsMs[0] as number;
    let sum = 0;
    for (let k = 1; k <= 12; k++) sum += server.priceAt(hourEnd - k * MIN5) as number;
    expect(hour.priceCentsPerKwh).toBe(Math.round((sum / 12) * 10) / 10);
  });

  it('fails as a feed error on an HTML page', async () => {
    const { server, client } = await setUp();
    server.setFaults({ response: 'html-200' });
    const error = await requestError(client.publishedHours({ year: 2026, month: 11, day: 1 }));
    expect(error.kind).toBe('not_json');
  });
});
