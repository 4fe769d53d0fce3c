import { comedLocalNumber } from '@twc/core/prices/comed-clock';
import type { PricePoint } from '@twc/core/prices/comed-parse';
import { checkDayAheadLabels } from '@twc/core/prices/day-ahead';
import { backtestForwardPrices } from '@twc/core/prices/forecast-backtest';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ComedServer,
  createComedServer,
  generatedDayAheadCents,
  generatedPriceCents,
} from '../../src/simulator/comed-server.js';

const MIN5 = 300_000;
const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 10, 28, 18, 2); // 12:02 CST

let running: ComedServer[] = [];
afterEach(async () => {
  await Promise.all(running.map((server) => server.stop()));
  running = [];
});

async function start(
  options: Parameters<typeof createComedServer>[0] = {},
): Promise<{ server: ComedServer; url: string }> {
  const server = createComedServer(options);
  running.push(server);
  const { url } = await server.start();
  return { server, url };
}

async function get(url: string, query: string): Promise<{ status: number; contentType: string; body: string }> {
  const response = await request(`${url}?${query}`);
  return {
    status: response.statusCode,
    contentType: String(response.headers['content-type']),
    body: await response.body.text(),
  };
}

type Entry = { millisUTC: string; price: string };

describe('comed server: 5minutefeed', () => {
  it('answers the last 24 hours, newest first, values as strings, as text/html', async () => {
    const { server, url } = await start({ now: () => NOW, seed: 7 });
    const answer = await get(url, 'type=5minutefeed');
    expect(answer.status).toBe(200);
    expect(answer.contentType).toMatch(/^text\/html/);
    const entries = JSON.parse(answer.body) as Entry[];
    expect(entries).toHaveLength(288);
    const newest = Date.UTC(2026, 10, 28, 18, 0);
    expect(entries[0]).toEqual({ millisUTC: String(newest), price: String(server.priceAt(newest)) });
    expect(entries.at(-1)?.millisUTC).toBe(String(newest - 287 * MIN5));
    for (const [i, entry] of entries.entries()) {
      expect(typeof entry.millisUTC).toBe('string');
      expect(typeof entry.price).toBe('string');
      expect(Number(entry.millisUTC)).toBe(newest - i * MIN5);
    }
  });

  it('serves a given list, never a price stamped after its now()', async () => {
    let nowMs = Date.UTC(2026, 0, 1, 12, 7);
    const prices: PricePoint[] = [
      { timeMs: Date.UTC(2026, 0, 1, 12, 5), priceCentsPerKwh: -0.4 },
      { timeMs: Date.UTC(2026, 0, 1, 12, 0), priceCentsPerKwh: 2.5 },
      { timeMs: Date.UTC(2026, 0, 1, 12, 10), priceCentsPerKwh: 3 },
    ];
    const { url } = await start({ now: () => nowMs, prices });
    expect(JSON.parse((await get(url, 'type=5minutefeed')).body)).toEqual([
      { millisUTC: String(Date.UTC(2026, 0, 1, 12, 5)), price: '-0.4' },
      { millisUTC: String(Date.UTC(2026, 0, 1, 12, 0)), price: '2.5' },
    ]);
    nowMs += 3 * MIN5;
    expect(JSON.parse((await get(url, 'type=5minutefeed')).body)).toHaveLength(3);
  });
});

describe('comed server: ranged 5minutefeed (Chicago local wall clock, inclusive)', () => {
  it('answers exactly the local range, newest first', async () => {
    const { server, url } = await start({ now: () => NOW });
    const entries = JSON.parse(
      (await get(url, 'type=5minutefeed&datestart=202601151200&dateend=202601151300')).body,
    ) as Entry[];
    // 12:00 CST is 18:00 UTC; 12:00 through 13:00 inclusive is 13 stamps.
    expect(entries.map((entry) => Number(entry.millisUTC))).toEqual(
      Array.from({ length: 13 }, (_, i) => Date.UTC(2026, 0, 15, 19, 0) - i * MIN5),
    );
    for (const entry of entries) expect(entry.price).toBe(String(server.priceAt(Number(entry.millisUTC))));
  });

  it('answers both passes of the repeated November hour', async () => {
    const { url } = await start({ now: () => NOW });
    const entries = JSON.parse(
      (await get(url, 'type=5minutefeed&datestart=202611010100&dateend=202611010155')).body,
    ) as Entry[];
    const stamps = entries.map((entry) => Number(entry.millisUTC)).reverse();
    expect(stamps).toEqual([
      ...Array.from({ length: 12 }, (_, i) => Date.UTC(2026, 10, 1, 6, 0) + i * MIN5), // 01:00-01:55 CDT
      ...Array.from({ length: 12 }, (_, i) => Date.UTC(2026, 10, 1, 7, 0) + i * MIN5), // 01:00-01:55 CST
    ]);
  });

  it('has nothing for the skipped March hour', async () => {
    const { url } = await start({ now: () => NOW });
    const entries = JSON.parse(
      (await get(url, 'type=5minutefeed&datestart=202603080100&dateend=202603080355')).body,
    ) as Entry[];
    const locals = entries.map((entry) => comedLocalNumber(Number(entry.millisUTC)));
    expect(entries).toHaveLength(24);
    expect(locals.filter((local) => local >= 202603080200 && local < 202603080300)).toEqual([]);
    expect(Number(entries.at(-1)?.millisUTC)).toBe(Date.UTC(2026, 2, 8, 7, 0)); // 01:00 CST
    expect(Number(entries[0]?.millisUTC)).toBe(Date.UTC(2026, 2, 8, 8, 55)); // 03:55 CDT
  });

  it('answers an empty array for a range in the future', async () => {
    const { url } = await start({ now: () => NOW });
    expect((await get(url, 'type=5minutefeed&datestart=202612010000&dateend=202612020000')).body).toBe('[]');
  });

  it('refuses malformed dates', async () => {
    const { url } = await start({ now: () => NOW });
    expect((await get(url, 'type=5minutefeed&datestart=2026-01-01&dateend=202601020000')).status).toBe(400);
    expect((await get(url, 'type=5minutefeed&datestart=202601010000')).status).toBe(400);
  });
});

describe('comed server: currenthouraverage', () => {
  it('averages the current hour so far, stamped with its newest price', async () => {
    const hourEnd = Date.UTC(2026, 0, 1, 13, 0);
    const prices: PricePoint[] = [
      { timeMs: hourEnd - HOUR - MIN5, priceCentsPerKwh: 50 }, // the previous hour's last: left out
      { timeMs: hourEnd - HOUR, priceCentsPerKwh: 2.0 }, // stamped on the hour: opens this one
      { timeMs: hourEnd - HOUR + MIN5, priceCentsPerKwh: 2.1 },
      { timeMs: hourEnd - HOUR + 2 * MIN5, priceCentsPerKwh: 2.5 },
      { timeMs: hourEnd - HOUR + 3 * MIN5, priceCentsPerKwh: 9 }, // not published yet
    ];
    const { url } = await start({ now: () => hourEnd - HOUR + 2 * MIN5 + 60_000, prices });
    expect(JSON.parse((await get(url, 'type=currenthouraverage')).body)).toEqual([
      { millisUTC: String(hourEnd - HOUR + 2 * MIN5), price: '2.2' },
    ]);
  });
});

describe('comed server: generated prices', () => {
  const january = Array.from({ length: 31 * 288 }, (_, i) => Date.UTC(2026, 0, 1, 6) + i * MIN5);

  it('is deterministic for a seed and differs between seeds', () => {
    const a = january.slice(0, 288).map((t) => generatedPriceCents(1, t));
    expect(january.slice(0, 288).map((t) => generatedPriceCents(1, t))).toEqual(a);
    expect(january.slice(0, 288).map((t) => generatedPriceCents(2, t))).not.toEqual(a);
  });

  it('looks like a ComEd month: negative at night sometimes, dearer late afternoon, a few spikes, one decimal', () => {
    const byLocalHour = new Map<number, number[]>();
    const all: number[] = [];
    for (const t of january) {
      const price = generatedPriceCents(3, t);
      all.push(price);
      const localHour = Math.floor((comedLocalNumber(t) % 10_000) / 100);
      byLocalHour.set(localHour, [...(byLocalHour.get(localHour) ?? []), price]);
    }
    const mean = (hours: number[]) => {
      const values = hours.flatMap((h) => byLocalHour.get(h) ?? []);
      return values.reduce((sum, v) => sum + v, 0) / values.length;
    };
    expect(all.some((price) => price < 0)).toBe(true);
    expect(all.some((price) => price > 15)).toBe(true);
    expect(all.filter((price) => price > 15).length).toBeLessThan(all.length / 100);
    expect(mean([15, 16, 17, 18])).toBeGreaterThan(mean([0, 1, 2, 3, 4]) + 2);
    expect(all.every((price) => Math.round(price * 10) / 10 === price)).toBe(true);
  });
});

describe('comed server: faults', () => {
  it('sends an HTML page with status 200', async () => {
    const { url, server } = await start({ now: () => NOW });
    server.setFaults({ response: 'html-200' });
    const answer = await get(url, 'type=5minutefeed');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(/^<!DOCTYPE html>/);
  });

  it('sends a 500', async () => {
    const { url, server } = await start({ now: () => NOW });
    server.setFaults({ response: 'status-500' });
    expect((await get(url, 'type=currenthouraverage')).status).toBe(500);
  });

  it('sends an empty array', async () => {
    const { url, server } = await start({ now: () => NOW });
    server.setFaults({ response: 'empty-array' });
    expect((await get(url, 'type=5minutefeed')).body).toBe('[]');
  });

  it('never answers on timeout, and still stops', async () => {
    const { url, server } = await start({ now: () => NOW });
    server.setFaults({ response: 'timeout' });
    await expect(request(`${url}?type=5minutefeed`, { headersTimeout: 200 })).rejects.toMatchObject({
      code: 'UND_ERR_HEADERS_TIMEOUT',
    });
    const pending = request(`${url}?type=5minutefeed`).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await server.stop();
    expect(await pending).toMatchObject({ code: expect.any(String) });
  });

  it('mixes one malformed entry in', async () => {
    const { url, server } = await start({ now: () => NOW });
    server.setFaults({ malformedEntry: true });
    const entries = JSON.parse((await get(url, 'type=5minutefeed')).body) as Entry[];
    expect(entries).toHaveLength(289);
    expect(entries.filter((entry) => entry.price === 'N/A')).toHaveLength(1);
  });

  it('leaves out missing intervals, and clears faults', async () => {
    const { url, server } = await start({ now: () => NOW });
    const gone = [Date.UTC(2026, 10, 28, 17, 0), Date.UTC(2026, 10, 28, 17, 5)];
    server.setFaults({ missingStampsMs: gone });
    const stamps = (JSON.parse((await get(url, 'type=5minutefeed')).body) as Entry[]).map((e) => Number(e.millisUTC));
    expect(stamps).toHaveLength(286);
    expect(stamps.filter((t) => gone.includes(t))).toEqual([]);
    server.clearFaults();
    expect(JSON.parse((await get(url, 'type=5minutefeed')).body)).toHaveLength(288);
  });
});

describe('comed server: bookkeeping', () => {
  it('records the requests it received, and answers 404 off /api', async () => {
    const { url, server } = await start({ now: () => NOW });
    const before = Date.now();
    await get(url, 'type=5minutefeed&datestart=202601010000&dateend=202601020000');
    await get(url, 'type=currenthouraverage');
    const elsewhere = await request(url.replace(/\/api$/, '/other'));
    await elsewhere.body.dump();
    expect(elsewhere.statusCode).toBe(404);
    const requests = server.requests();
    expect(requests.map(({ type, datestart, dateend }) => ({ type, datestart, dateend }))).toEqual([
      { type: '5minutefeed', datestart: '202601010000', dateend: '202601020000' },
      { type: 'currenthouraverage', datestart: null, dateend: null },
      { type: null, datestart: null, dateend: null },
    ]);
    expect(requests.every((r) => r.receivedAtMs >= before)).toBe(true);
    server.clearRequests();
    expect(server.requests()).toEqual([]);
  });

  it('does nothing until started', async () => {
    const server = createComedServer();
    await server.stop();
    expect(server.requests()).toEqual([]);
  });
});

describe('comed server: published hourly prices (rrtp/ServletFeed?type=day)', () => {
  const feedUrl = (url: string) => url.replace(/\/api$/, '/rrtp/ServletFeed');
  /** The hour ending `hourEndMs` as ComEd publishes it: the mean of the prices stamped H-60 .. H-5 min, to 0.1 cent. */
  const published = (server: ComedServer, hourEndMs: number) => {
    let sum = 0;
    for (let k = 1; k <= 12; k++) sum += server.priceAt(hourEndMs - k * MIN5) as number;
    return Math.round((sum / 12) * 10) / 10;
  };

  it('answers the day in ComEd form: hour-ending Chicago labels, 0-based months, label 0 the hour before midnight', async () => {
    const { server, url } = await start({ now: () => NOW, seed: 4 });
    const answer = await get(feedUrl(url), 'type=day&date=20261127');
    expect(answer.contentType).toBe('text/html; charset=utf-8');
    expect(answer.body.startsWith('[[Date.UTC(2026,10,27,0,0,0), ')).toBe(true);
    const entries = [...answer.body.matchAll(/\[Date\.UTC\(2026,10,27,(\d+),0,0\), (-?[\d.]+)\]/g)];
    expect(entries.map((entry) => Number(entry[1]))).toEqual(Array.from({ length: 24 }, (_, i) => i));
    // Label 0 of Nov 27 ends at local midnight (06:00 UTC); label 13 ends at 13:00 CST (19:00 UTC).
    expect(Number(entries[0]?.[2])).toBe(published(server, Date.UTC(2026, 10, 27, 6)));
    expect(Number(entries[13]?.[2])).toBe(published(server, Date.UTC(2026, 10, 27, 19)));
  });

  it('publishes an hour only once it is over', async () => {
    const { url } = await start({ now: () => NOW, seed: 4 }); // 12:02 CST on Nov 28
    const labels = [...(await get(feedUrl(url), 'type=day&date=20261128')).body.matchAll(/,(\d+),0,0\)/g)];
    expect(labels.map((label) => Number(label[1]))).toEqual(Array.from({ length: 13 }, (_, i) => i));
  });

  it('has no label 2 on the spring-forward day and one label 1 on the fall-back day', async () => {
    const { url } = await start({ now: () => NOW, seed: 4 });
    const spring = [...(await get(feedUrl(url), 'type=day&date=20260308')).body.matchAll(/,(\d+),0,0\)/g)];
    expect(spring.map((label) => Number(label[1]))).toEqual([0, 1, ...Array.from({ length: 21 }, (_, i) => i + 3)]);
    const fall = [...(await get(feedUrl(url), 'type=day&date=20261101')).body.matchAll(/,(\d+),0,0\)/g)];
    expect(fall).toHaveLength(24);
  });

  it('refuses a bad date and an unknown type, and serves the faults too', async () => {
    const { url, server } = await start({ now: () => NOW });
    expect((await get(feedUrl(url), 'type=day&date=2026-11-27')).status).toBe(400);
    expect((await get(feedUrl(url), 'type=hourly')).status).toBe(400);
    server.setFaults({ response: 'html-200' });
    expect((await get(feedUrl(url), 'type=day&date=20261127')).body).toMatch(/^<!DOCTYPE html>/);
  });
});

describe('comed server: day-ahead prices (daynexttoday, daynexttomorrow)', () => {
  const feedUrl = (url: string) => url.replace(/\/api$/, '/rrtp/ServletFeed');
  const labelsOf = (body: string) => [...body.matchAll(/\[Date\.UTC\((\d+),(\d+),(\d+),(\d+),0,0\), (-?[\d.]+)\]/g)];

  it('publishes a day at 16:30 the day before, hour-ending labels, the generated curve', async () => {
    let nowMs = Date.UTC(2026, 10, 27, 22, 29); // Nov 27, 16:29 CST
    const { url } = await start({ now: () => nowMs, seed: 5 });
    expect((await get(feedUrl(url), 'type=daynexttomorrow')).body).toBe('[]');
    expect((await get(feedUrl(url), 'type=daynexttoday&date=20261128')).body).toBe('[]');
    nowMs += 60_000;
    const tomorrow = labelsOf((await get(feedUrl(url), 'type=daynexttomorrow')).body);
    expect(tomorrow.map((entry) => Number(entry[4]))).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(tomorrow.every((entry) => entry[1] === '2026' && entry[2] === '10' && entry[3] === '28')).toBe(true);
    // Label 13 is the hour ENDING at 13:00 CST (19:00 UTC).
    expect(Number(tomorrow[13]?.[5])).toBe(generatedDayAheadCents(5, Date.UTC(2026, 10, 28, 19)));
    expect((await get(feedUrl(url), 'type=daynexttoday&date=20261128')).body).toBe(
      (await get(feedUrl(url), 'type=daynexttomorrow')).body,
    );
  });

  it('has 23 labels on the spring-forward day, and none from a given price list', async () => {
    const { url } = await start({ now: () => Date.UTC(2026, 2, 9, 12), seed: 5 });
    expect(labelsOf((await get(feedUrl(url), 'type=daynexttoday&date=20260308')).body)).toHaveLength(23);
    const listed = await start({ now: () => NOW, prices: [{ timeMs: NOW - MIN5, priceCentsPerKwh: 1 }] });
    expect((await get(feedUrl(listed.url), 'type=daynexttoday&date=20261128')).body).toBe('[]');
  });
});

describe('comed server: the generated year as forward prices see it', () => {
  // Ten weeks of the stand-in's hours: six of history, four evaluated.
  const from = Date.UTC(2026, 4, 4, 5);
  const hourly = new Map<number, number>();
  const dayAhead = new Map<number, number>();
  for (let hourEndingMs = from + HOUR; hourEndingMs <= from + 70 * 24 * HOUR; hourEndingMs += HOUR) {
    let sum = 0;
    for (let k = 1; k <= 12; k++) sum += generatedPriceCents(1, hourEndingMs - k * MIN5);
    hourly.set(hourEndingMs, sum / 12);
    dayAhead.set(hourEndingMs, generatedDayAheadCents(1, hourEndingMs));
  }

  it('has a day-ahead curve and a forecast that beat a flat guess, and cheap nights worth finding', () => {
    const result = backtestForwardPrices({
      hourly,
      dayAhead,
      fromMs: from + 42 * 24 * HOUR,
      toMs: from + 69 * 24 * HOUR,
    });
    expect(result.days).toBe(27);
    const { dayAhead: da, forecast, flat } = result;
    expect(da.mae as number).toBeLessThan(forecast.mae as number);
    expect(forecast.mae as number).toBeLessThan(flat.mae as number);
    expect(result.overnight.withDayAhead.capturedShare as number).toBeGreaterThan(0.8);
    expect(result.overnight.withDayAhead.possibleSavingCentsPerKwh as number).toBeGreaterThan(1);
  });

  it('lines its day-ahead labels up with the real-time hours at offset 0, and not at 1', () => {
    expect(checkDayAheadLabels(dayAhead, hourly, [-1, 0, 1]).bestOffsetHours).toBe(0);
    const shifted = new Map([...dayAhead].map(([hourEndingMs, cents]) => [hourEndingMs + HOUR, cents]));
    expect(checkDayAheadLabels(shifted, hourly, [-1, 0, 1]).bestOffsetHours).toBe(-1);
  });
});
