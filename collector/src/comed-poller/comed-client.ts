/**
 * The ComEd Hourly Pricing API adapter (undici). One HTTP request per call
 * (or per monthly piece of a long range), no retry loop: the poller decides
 * when to try again. ComEd's quirks handled here: JSON sent as text/html,
 * HTML error pages with status 200, missing intervals, range parameters in
 * Chicago local time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  dayAheadHourEndings,
  FIVE_MINUTES_MS,
  formatComedLocal,
  HOUR_MS,
  type HourLabel,
  publishedHourEndings,
} from '@twc/core/prices/comed-clock';
import {
  ComedFeedError,
  mergePrices,
  type PricePoint,
  type PublishedHour,
  parseComedFeed,
  parseHourlyFeed,
} from '@twc/core/prices/comed-parse';
import { CHICAGO_TIME_ZONE, monthStartMs, wallClockAt } from '@twc/core/time/wall-clock';
import { errorCode } from '@twc/runtime/error-code';
import { createFailureLog } from '@twc/runtime/failure-log';
import type { Logger } from '@twc/runtime/logger';
import { silentLogger } from '@twc/runtime/logger';
import { Agent, request } from 'undici';

export const DEFAULT_COMED_API_URL = 'https://hourlypricing.comed.com/api';

/** ComEd's hourly feeds (`rrtp/ServletFeed`) live beside the 5-minute API, on the same host. */
export function defaultFeedUrl(apiUrl: string): string {
  return new URL('/rrtp/ServletFeed', apiUrl).toString();
}

export interface ComedFetch {
  /** Valid prices, oldest first, one per timestamp. */
  prices: PricePoint[];
  /** Malformed entries left out of this fetch. */
  skipped: number;
}

export interface ComedClientStats {
  /** HTTP requests sent. */
  requests: number;
  /** Failed requests by error kind. */
  failures: Record<string, number>;
  /** Malformed entries skipped over the client's life. */
  skippedEntries: number;
}

export interface ComedClient {
  /** `?type=5minutefeed`: every 5-minute price of the last 24 hours. */
  fiveMinuteFeed(): Promise<ComedFetch>;
  /** `?type=currenthouraverage`: the running average of the current hour so far. */
  currentHourAverage(): Promise<PricePoint>;
  /** The 5-minute prices stamped in [fromMs, toMs), fetched a month at a time. */
  fiveMinuteRange(fromMs: number, toMs: number): Promise<ComedFetch>;
  /**
   * ComEd's day-ahead prices: `type=daynexttoday&date=` for a Chicago date
   * (any past or present day), `type=daynexttomorrow` without one (`[]`
   * until they are published, around 16:30 the day before).
   */
  dayAheadHours(date?: {
    year: number;
    month: number;
    day: number;
  }): Promise<{ hours: PublishedHour[]; skipped: number }>;
  /** `rrtp/ServletFeed?type=day&date=`: ComEd's published hourly prices of a Chicago date (month 1-12). */
  publishedHours(date: {
    year: number;
    month: number;
    day: number;
  }): Promise<{ hours: PublishedHour[]; skipped: number }>;
  stats(): ComedClientStats;
  close(): Promise<void>;
}

export interface ComedClientOptions {
  /** COMED_API_URL, e.g. https://hourlypricing.comed.com/api. */
  baseUrl: string;
  /** COMED_FEED_URL, ComEd's hourly feeds; default: `rrtp/ServletFeed` on the API's host. */
  feedUrl?: string;
  /** Per request, from sending it to the end of the body. Default 20 s. */
  timeoutMs?: number;
  /** Pause between the monthly pieces of a long range. Default 2 s. */
  pieceSpacingMs?: number;
  logger?: Logger;
}

export type ComedRequestErrorKind =
  | 'timeout'
  | 'unreachable'
  | 'connection_lost'
  | 'tls'
  | 'bad_http'
  | 'too_large'
  | 'http_status'
  | 'not_json'
  | 'not_array'
  | 'empty'
  | 'malformed'
  | 'unknown';

export class ComedRequestError extends Error {
  override readonly name = 'ComedRequestError';
  constructor(
    readonly kind: ComedRequestErrorKind,
    message: string,
    readonly url: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const DEFAULT_TIMEOUT_MS = 20_000;
const DEFAULT_PIECE_SPACING_MS = 2_000;
/** A month of 5-minute prices is about 0.4 MB; anything far larger is not a price answer. */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** A range up to this long is one request; longer ranges go a Chicago calendar month per request. */
const SINGLE_REQUEST_MAX_MS = 31 * 24 * HOUR_MS;

/**
 * One request of a ranged fetch: the prices stamped in [fromMs, toMs), asked
 * for as `datestart`..`dateend`, ComEd's inclusive Chicago wall-clock bounds:
 * the first stamp wanted and the last (toMs - 5 min). Where local time repeats
 * (the November hour) a bound names two instants and the answer can hold a
 * few stamps more than asked; they are cut to the UTC range.
 */
export interface RangePiece {
  fromMs: number;
  toMs: number;
  datestart: string;
  dateend: string;
}

/**
 * Splits [fromMs, toMs) into the requests a ranged fetch makes: one when the
 * range spans at most 31 days, otherwise one per Chicago calendar month:
 * ComEd's history is meant to be fetched a month per request, politely
 * spaced, not in one huge query.
 */
export function planRangePieces(fromMs: number, toMs: number): RangePiece[] {
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || fromMs >= toMs) {
    throw new RangeError(`invalid price range: from ${fromMs} must be before to ${toMs}`);
  }
  const bounds = [fromMs];
  if (toMs - fromMs > SINGLE_REQUEST_MAX_MS) {
    const first = wallClockAt(fromMs, CHICAGO_TIME_ZONE);
    for (let monthIndex = first.month; ; monthIndex++) {
      const boundary = monthStartMs(first.year, monthIndex + 1, CHICAGO_TIME_ZONE);
      if (boundary >= toMs) break;
      if (boundary > fromMs) bounds.push(boundary);
    }
  }
  bounds.push(toMs);
  return bounds.slice(1).map((pieceToMs, i) => {
    const pieceFromMs = bounds[i] ?? fromMs;
    return {
      fromMs: pieceFromMs,
      toMs: pieceToMs,
      datestart: formatComedLocal(Math.ceil(pieceFromMs / FIVE_MINUTES_MS) * FIVE_MINUTES_MS),
      dateend: formatComedLocal(Math.ceil(pieceToMs / FIVE_MINUTES_MS) * FIVE_MINUTES_MS - FIVE_MINUTES_MS),
    };
  });
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
]);
const CONNECTION_LOST_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);
// ComEd has served an incomplete certificate chain; Node does not fetch
// missing intermediates, so this shows up as a verification failure.
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** Maps a transport error to a kind by its `code` (undici and Node codes are stable; messages are not). */
export function classifyTransportError(error: unknown): ComedRequestErrorKind {
  const code = errorCode(error);
  if (code === undefined) return 'unknown';
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  if (UNREACHABLE_CODES.has(code)) return 'unreachable';
  if (CONNECTION_LOST_CODES.has(code)) return 'connection_lost';
  if (TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) return 'tls';
  // ComEd has sent malformed headers; llhttp reports those as HPE_* codes.
  if (code.startsWith('HPE_') || code === 'UND_ERR_HEADERS_OVERFLOW' || code === 'UND_ERR_INFO') return 'bad_http';
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return 'too_large';
  return 'unknown';
}

export function createComedClient(options: ComedClientOptions): ComedClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pieceSpacingMs = options.pieceSpacingMs ?? DEFAULT_PIECE_SPACING_MS;
  const log = (options.logger ?? silentLogger()).child({ module: 'comed-client' });
  const baseUrl = new URL(options.baseUrl);
  const feedUrl = new URL(options.feedUrl ?? defaultFeedUrl(options.baseUrl));
  const agent = new Agent({
    connect: { timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    maxResponseSize: MAX_RESPONSE_BYTES,
  });

  let requests = 0;
  let skippedEntries = 0;
  let skippedLogged = false;
  const failureLog = createFailureLog<ComedRequestErrorKind>();

  function urlFor(params: Record<string, string>, base: URL = baseUrl): string {
    const url = new URL(base);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    return url.toString();
  }

  function fail(error: ComedRequestError): never {
    if (failureLog.failed(error.kind)) {
      log.warn(
        { kind: error.kind, status: error.status, url: error.url },
        `ComEd request failed: ${error.message} (repeats of this failure are counted, not logged)`,
      );
    }
    throw error;
  }

  function succeeded(): void {
    const failedRequests = failureLog.recovered();
    if (failedRequests > 0) log.info({ failedRequests }, 'ComEd answering again');
  }

  function noteSkipped(skipped: number, examples: string[]): void {
    if (skipped === 0) return;
    skippedEntries += skipped;
    if (!skippedLogged) {
      skippedLogged = true;
      log.warn(
        { skipped, examples },
        'ComEd answer held malformed price entries; they are skipped (logged once, counted in stats)',
      );
    }
  }

  /** GETs `url` and returns a 2xx answer's status and body text; the body is always read or dumped. */
  async function getText(url: string): Promise<{ status: number; text: string }> {
    requests++;
    // undici's own timeouts are per phase (and per body chunk); this deadline
    // bounds the whole request, so a server trickling bytes cannot hold a poll.
    const deadline = AbortSignal.timeout(timeoutMs);
    const kindOf = (error: unknown): ComedRequestErrorKind =>
      deadline.aborted ? 'timeout' : classifyTransportError(error);
    const describeFailure = (error: unknown): string =>
      deadline.aborted
        ? `no complete answer within ${timeoutMs} ms from ${url}`
        : `${classifyTransportError(error)} (${errorCode(error) ?? 'no error code'}) requesting ${url}`;
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(url, {
        dispatcher: agent,
        method: 'GET',
        headers: { accept: 'application/json' },
        signal: deadline,
      });
    } catch (error) {
      return fail(new ComedRequestError(kindOf(error), describeFailure(error), url, undefined, { cause: error }));
    }
    if (response.statusCode < 200 || response.statusCode >= 300) {
      await response.body.dump().catch(() => undefined);
      return fail(
        new ComedRequestError('http_status', `HTTP ${response.statusCode} from ${url}`, url, response.statusCode),
      );
    }
    try {
      return { status: response.statusCode, text: await response.body.text() };
    } catch (error) {
      const message = `${describeFailure(error)} (while reading the answer)`;
      return fail(new ComedRequestError(kindOf(error), message, url, response.statusCode, { cause: error }));
    }
  }

  function parseOrFail(
    url: string,
    answer: { status: number; text: string },
    allowEmpty: boolean,
    requireFiveMinuteGrid = true,
  ) {
    try {
      return parseComedFeed(answer.text, { allowEmpty, requireFiveMinuteGrid });
    } catch (error) {
      if (error instanceof ComedFeedError) {
        return fail(new ComedRequestError(error.kind, error.message, url, answer.status, { cause: error }));
      }
      throw error;
    }
  }

  async function fetchPiece(piece: RangePiece): Promise<ComedFetch> {
    const url = urlFor({ type: '5minutefeed', datestart: piece.datestart, dateend: piece.dateend });
    // A range with no data (not published yet, or a gap in history) is a valid empty answer.
    const parsed = parseOrFail(url, await getText(url), true);
    noteSkipped(parsed.skipped, parsed.skippedExamples);
    succeeded();
    const prices = parsed.prices.filter((point) => point.timeMs >= piece.fromMs && point.timeMs < piece.toMs);
    return { prices, skipped: parsed.skipped };
  }

  const dateText = (date: { year: number; month: number; day: number }) =>
    `${String(date.year).padStart(4, '0')}${String(date.month).padStart(2, '0')}${String(date.day).padStart(2, '0')}`;

  /** One of the rrtp hourly feeds: parsed without evaluating it, each label mapped to its hour(s) by `endings`. */
  async function hourlyFeed(
    params: Record<string, string>,
    endings: (label: HourLabel) => number[],
  ): Promise<{ hours: PublishedHour[]; skipped: number }> {
    const url = urlFor(params, feedUrl);
    const answer = await getText(url);
    let parsed: ReturnType<typeof parseHourlyFeed>;
    try {
      parsed = parseHourlyFeed(answer.text);
    } catch (error) {
      if (error instanceof ComedFeedError) {
        return fail(new ComedRequestError(error.kind, error.message, url, answer.status, { cause: error }));
      }
      throw error;
    }
    noteSkipped(parsed.skipped, parsed.skippedExamples);
    succeeded();
    const hours = parsed.entries.map(({ priceCentsPerKwh, ...label }) => ({
      label,
      priceCentsPerKwh,
      hourEndingsMs: endings(label),
    }));
    return { hours, skipped: parsed.skipped };
  }

  return {
    async fiveMinuteFeed() {
      const url = urlFor({ type: '5minutefeed' });
      const parsed = parseOrFail(url, await getText(url), false);
      noteSkipped(parsed.skipped, parsed.skippedExamples);
      succeeded();
      return { prices: parsed.prices, skipped: parsed.skipped };
    },

    async currentHourAverage() {
      const url = urlFor({ type: 'currenthouraverage' });
      // The running average is not a 5-minute price, so its stamp need not be on the grid.
      const answer = await getText(url);
      const parsed = parseOrFail(url, answer, false, false);
      noteSkipped(parsed.skipped, parsed.skippedExamples);
      const newest = parsed.prices.at(-1);
      if (!newest) {
        const message = `ComEd current hour average was malformed: ${parsed.skippedExamples[0]}`;
        return fail(new ComedRequestError('malformed', message, url, answer.status));
      }
      succeeded();
      return newest;
    },

    async fiveMinuteRange(fromMs, toMs) {
      const pieces = planRangePieces(fromMs, toMs);
      const results: PricePoint[][] = [];
      let skipped = 0;
      for (const [index, piece] of pieces.entries()) {
        if (index > 0 && pieceSpacingMs > 0) await sleep(pieceSpacingMs);
        const fetched = await fetchPiece(piece);
        results.push(fetched.prices);
        skipped += fetched.skipped;
      }
      return { prices: mergePrices(results), skipped };
    },

    publishedHours: (date) => hourlyFeed({ type: 'day', date: dateText(date) }, publishedHourEndings),
    dayAheadHours: (date) =>
      hourlyFeed(
        date ? { type: 'daynexttoday', date: dateText(date) } : { type: 'daynexttomorrow' },
        dayAheadHourEndings,
      ),

    stats() {
      return { requests, failures: failureLog.totals(), skippedEntries };
    },

    async close() {
      await agent.close();
    },
  };
}
