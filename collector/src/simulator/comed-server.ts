/**
 * A local stand-in for ComEd's Hourly Pricing API, for tests, the end-to-end
 * suite and the offline demo. It answers ComEd's real formats: `/api`, a JSON
 * array of `{"millisUTC","price"}` with string values, newest first, served
 * as text/html, each stamp the start of its 5-minute interval; ranged
 * requests read `datestart`/`dateend` as Chicago local wall-clock times,
 * inclusive. `/rrtp/ServletFeed?type=day` answers the published hourly
 * prices of a Chicago date in ComEd's JavaScript-like form, hour-ending
 * labels, rounded to 0.1 cent as ComEd publishes them; `type=daynexttoday`
 * and `type=daynexttomorrow` the day-ahead prices, in the same form, `[]`
 * until they are published at 16:30 the day before. Faults ComEd is known
 * for can be switched on at runtime.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  comedLocalNumber,
  FIVE_MINUTES_MS,
  HOUR_MS,
  hourEndingOf,
  parseComedLocal,
  publishedHourEndings,
  stampsInHour,
} from '@twc/core/prices/comed-clock';
import type { PricePoint } from '@twc/core/prices/comed-parse';
import { exactAverage } from '@twc/core/prices/hourly';
import { CHICAGO_TIME_ZONE, utcInstantsForWallClock, wallClockAt } from '@twc/core/time/wall-clock';
import { generatedDayAheadCents, generatedPriceCents } from './comed-prices.js';

export type ComedServerResponseFault =
  /** An HTML error page with status 200, as ComEd sometimes sends. */
  | 'html-200'
  | 'status-500'
  /** Accept the request and never answer. */
  | 'timeout'
  | 'empty-array';

export interface ComedServerFaults {
  /** Replaces every answer; undefined answers normally. */
  response: ComedServerResponseFault | undefined;
  /** Mix one malformed entry into price lists. */
  malformedEntry: boolean;
  /** Price stamps left out of every answer, as ComEd sometimes skips intervals. */
  missingStampsMs: readonly number[];
}

export interface ComedServerRequest {
  /** Wall-clock time the request arrived (Date.now, not the server's `now`). */
  receivedAtMs: number;
  /** Path and query as received. */
  url: string;
  type: string | null;
  datestart: string | null;
  dateend: string | null;
}

export interface ComedServerOptions {
  /** The server's idea of the current time; prices stamped later are not published yet. Default Date.now. */
  now?: () => number;
  /** Seed of the generated prices (used when `prices` is not given). Default 1. */
  seed?: number;
  /** A fixed list of prices to serve instead of generated ones. */
  prices?: readonly PricePoint[];
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /**
   * The day-ahead price of the hour ending at an instant; default: generated
   * from the seed, or none when `prices` is given.
   */
  dayAhead?: (hourEndingMs: number) => number | undefined;
  /** When a day's day-ahead prices appear: this local time of the day before. Default 16:30. */
  dayAheadPublishedAt?: { hour: number; minute: number };
  /** Port to listen on. Default 0: any free port. */
  port?: number;
}

export interface ComedServer {
  /** Listens (on a free port unless `port` is given); `url` is the API base, like https://hourlypricing.comed.com/api. */
  start(): Promise<{ url: string }>;
  stop(): Promise<void>;
  setFaults(faults: Partial<ComedServerFaults>): void;
  clearFaults(): void;
  /** The requests received so far, oldest first. */
  requests(): ComedServerRequest[];
  clearRequests(): void;
  /** The price the server publishes for a stamp, or undefined (not on the grid, missing, not in the list). */
  priceAt(stampMs: number): number | undefined;
}

const DAY_MS = 24 * HOUR_MS;

// The generated prices live beside this server, so the tests can compute what it serves.
export { generatedDayAheadCents, generatedPriceCents } from './comed-prices.js';

/** Midnight UTC of the date in a `YYYYMMDDhhmm` string. */
function localDateAsUtcMs(text: string): number {
  return Date.UTC(Number(text.slice(0, 4)), Number(text.slice(4, 6)) - 1, Number(text.slice(6, 8)));
}

const HTML_ERROR_PAGE =
  '<!DOCTYPE html><html><head><title>Service Unavailable</title></head>' +
  '<body><h1>The service is temporarily unavailable</h1></body></html>';

export function createComedServer(options: ComedServerOptions = {}): ComedServer {
  const now = options.now ?? Date.now;
  const seed = options.seed ?? 1;
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const list = options.prices ? [...options.prices].sort((a, b) => a.timeMs - b.timeMs) : undefined;
  const dayAhead =
    options.dayAhead ?? (list ? undefined : (hourEndMs: number) => generatedDayAheadCents(seed, hourEndMs));
  const listByStamp = list ? new Map(list.map((point) => [point.timeMs, point.priceCentsPerKwh])) : undefined;

  let server: Server | undefined;
  let faults: ComedServerFaults = { response: undefined, malformedEntry: false, missingStampsMs: [] };
  let missing = new Set<number>();
  let received: ComedServerRequest[] = [];

  function priceAt(stampMs: number): number | undefined {
    if (stampMs % FIVE_MINUTES_MS !== 0 || missing.has(stampMs)) return undefined;
    if (listByStamp) return listByStamp.get(stampMs);
    return generatedPriceCents(seed, stampMs);
  }

  /** Published prices stamped in [lowMs, highMs] (and not after `now`), oldest first. */
  function pricesBetween(lowMs: number, highMs: number): PricePoint[] {
    const upperMs = Math.min(highMs, now());
    const points: PricePoint[] = [];
    if (list) {
      for (const point of list) {
        if (point.timeMs >= lowMs && point.timeMs <= upperMs && !missing.has(point.timeMs)) points.push(point);
      }
      return points;
    }
    for (
      let stampMs = Math.ceil(lowMs / FIVE_MINUTES_MS) * FIVE_MINUTES_MS;
      stampMs <= upperMs;
      stampMs += FIVE_MINUTES_MS
    ) {
      const price = priceAt(stampMs);
      if (price !== undefined) points.push({ timeMs: stampMs, priceCentsPerKwh: price });
    }
    return points;
  }

  function entriesNewestFirst(points: readonly PricePoint[]): Record<string, string>[] {
    const entries: Record<string, string>[] = points.map((point) => ({
      millisUTC: String(point.timeMs),
      price: String(point.priceCentsPerKwh),
    }));
    entries.reverse();
    if (faults.malformedEntry) {
      const stamp = entries[0]?.millisUTC;
      entries.splice(1, 0, stamp ? { millisUTC: stamp, price: 'N/A' } : { price: '2.0' });
    }
    return entries;
  }

  function send(response: ServerResponse, status: number, body: string): void {
    // ComEd labels its JSON as text/html.
    response.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  }

  function answerPrices(query: URLSearchParams): { status: number; body: string } {
    const type = query.get('type');
    const datestart = query.get('datestart');
    const dateend = query.get('dateend');
    if (type === '5minutefeed' && (datestart !== null || dateend !== null)) {
      const start = datestart === null ? undefined : parseComedLocal(datestart);
      const end = dateend === null ? undefined : parseComedLocal(dateend);
      if (datestart === null || dateend === null || start === undefined || end === undefined) {
        return { status: 400, body: 'datestart and dateend must both be YYYYMMDDhhmm' };
      }
      // Local wall-clock bounds: compare each price's Chicago local time, so
      // the repeated November hour is included twice and the skipped March
      // hour simply has no prices. A day either side covers any UTC offset.
      const lowMs = localDateAsUtcMs(datestart) - DAY_MS;
      const highMs = localDateAsUtcMs(dateend) + 2 * DAY_MS;
      const points = pricesBetween(lowMs, highMs).filter((point) => {
        const local = comedLocalNumber(point.timeMs);
        return local >= start && local <= end;
      });
      return { status: 200, body: JSON.stringify(entriesNewestFirst(points)) };
    }
    if (type === '5minutefeed') {
      const nowMs = now();
      return { status: 200, body: JSON.stringify(entriesNewestFirst(pricesBetween(nowMs - DAY_MS + 1, nowMs))) };
    }
    if (type === 'currenthouraverage') {
      // The hour of the newest published price, averaged over what is in so far.
      const nowMs = now();
      const recent = pricesBetween(nowMs - 2 * HOUR_MS, nowMs);
      const newest = recent.at(-1);
      if (!newest) return { status: 200, body: '[]' };
      const hourStartMs = hourEndingOf(newest.timeMs) - HOUR_MS;
      const inHour = recent.filter((point) => point.timeMs >= hourStartMs);
      const average = exactAverage(inHour.map((point) => point.priceCentsPerKwh));
      return { status: 200, body: JSON.stringify([{ millisUTC: String(newest.timeMs), price: String(average) }]) };
    }
    return { status: 400, body: `unknown type "${type ?? ''}"` };
  }

  /** The published hourly price of the hour ending `hourEndMs`, as ComEd rounds it; undefined before the hour is over. */
  function publishedPrice(hourEndMs: number): number | undefined {
    if (hourEndMs > now()) return undefined;
    const prices = stampsInHour(hourEndMs)
      .map(priceAt)
      .filter((price): price is number => price !== undefined);
    if (prices.length === 0) return undefined;
    const rounded = Math.round(exactAverage(prices) * 10) / 10;
    return rounded === 0 ? 0 : rounded;
  }

  /** A day's hours in ComEd's form: hour-ending Chicago labels, 0-based month, in label order. */
  function hourlyBody(
    date: { year: number; month: number; day: number },
    priceOf: (hourEndMs: number) => number | undefined,
  ): string {
    const { year, month, day } = date;
    const entries: string[] = [];
    for (let hour = 0; hour < 24; hour++) {
      // The fall-back day repeats label 1 and ComEd publishes it once; no recording says for which
      // hour, so this stand-in serves the first.
      const [hourEndMs] = publishedHourEndings({ year, month, day, hour });
      if (hourEndMs === undefined) continue;
      const price = priceOf(hourEndMs);
      if (price === undefined) continue;
      entries.push(`[Date.UTC(${year},${month - 1},${day},${hour},0,0), ${price}]`);
    }
    return `[${entries.join(', ')}]`;
  }

  /** The instant a local day's day-ahead prices are published: the publication time of the day before. */
  function dayAheadPublishedMs(date: { year: number; month: number; day: number }): number {
    const before = new Date(Date.UTC(date.year, date.month - 1, date.day - 1));
    const at = options.dayAheadPublishedAt ?? { hour: 16, minute: 30 };
    const [instant] = utcInstantsForWallClock(
      { year: before.getUTCFullYear(), month: before.getUTCMonth() + 1, day: before.getUTCDate(), ...at },
      CHICAGO_TIME_ZONE,
    );
    return instant ?? Number.POSITIVE_INFINITY;
  }

  function dayAheadBody(date: { year: number; month: number; day: number }): string {
    if (!dayAhead || now() < dayAheadPublishedMs(date)) return '[]';
    return hourlyBody(date, dayAhead);
  }

  function answerFeed(query: URLSearchParams): { status: number; body: string } {
    const type = query.get('type');
    if (type === 'daynexttomorrow') {
      const today = wallClockAt(now(), CHICAGO_TIME_ZONE);
      const tomorrow = new Date(Date.UTC(today.year, today.month - 1, today.day + 1));
      return {
        status: 200,
        body: dayAheadBody({
          year: tomorrow.getUTCFullYear(),
          month: tomorrow.getUTCMonth() + 1,
          day: tomorrow.getUTCDate(),
        }),
      };
    }
    if (type !== 'day' && type !== 'daynexttoday') return { status: 400, body: `unknown type "${type ?? ''}"` };
    const match = /^(\d{4})(\d{2})(\d{2})$/.exec(query.get('date') ?? '');
    if (!match) return { status: 400, body: 'date must be YYYYMMDD' };
    const [year, month, day] = match.slice(1).map(Number) as [number, number, number];
    const date = { year, month, day };
    return { status: 200, body: type === 'day' ? hourlyBody(date, publishedPrice) : dayAheadBody(date) };
  }

  function handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    received.push({
      receivedAtMs: Date.now(),
      url: request.url ?? '',
      type: url.searchParams.get('type'),
      datestart: url.searchParams.get('datestart'),
      dateend: url.searchParams.get('dateend'),
    });
    const feed = url.pathname === '/rrtp/ServletFeed';
    if (url.pathname !== '/api' && url.pathname !== '/api/' && !feed) {
      send(response, 404, 'not found');
      return;
    }
    switch (faults.response) {
      case 'timeout':
        return;
      case 'status-500':
        send(response, 500, HTML_ERROR_PAGE);
        return;
      case 'html-200':
        send(response, 200, HTML_ERROR_PAGE);
        return;
      case 'empty-array':
        send(response, 200, '[]');
        return;
      case undefined: {
        const { status, body } = feed ? answerFeed(url.searchParams) : answerPrices(url.searchParams);
        send(response, status, body);
        return;
      }
    }
  }

  return {
    async start() {
      const listening = createServer(handle);
      server = listening;
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(port, host, () => {
          listening.off('error', reject);
          resolve();
        });
      });
      const address = listening.address() as AddressInfo;
      const hostInUrl = host.includes(':') ? `[${host}]` : host;
      return { url: `http://${hostInUrl}:${address.port}/api` };
    },

    async stop() {
      const stopping = server;
      server = undefined;
      if (!stopping) return;
      const closed = new Promise<void>((resolve) => stopping.close(() => resolve()));
      // Requests held open by the timeout fault would keep close() waiting forever.
      stopping.closeAllConnections();
      await closed;
    },

    setFaults(changes) {
      faults = { ...faults, ...changes };
      missing = new Set(faults.missingStampsMs);
    },

    clearFaults() {
      faults = { response: undefined, malformedEntry: false, missingStampsMs: [] };
      missing = new Set();
    },

    requests() {
      return received.map((entry) => ({ ...entry }));
    },

    clearRequests() {
      received = [];
    },

    priceAt,
  };
}
