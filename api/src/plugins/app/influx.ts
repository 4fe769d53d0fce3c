import {
  HttpError,
  InfluxDB,
  type ParameterizedQuery,
  type QueryApi,
  RequestTimedOutError,
} from '@influxdata/influxdb-client';
import { errorCode } from '@twc/runtime/error-code';
import type { Logger } from '@twc/runtime/logger';
import type { FastifyInstance } from 'fastify';
import { type ApiError, unavailable } from '../../errors.js';

export type FluxRow = Record<string, unknown>;

export interface InfluxBuckets {
  raw: string;
  sessions: string;
  prices: string;
}

export interface InfluxReader {
  readonly buckets: InfluxBuckets;
  /** Every row of a query; failures become a 503 ApiError (InfluxDB down) or a 500 (a bad query is our bug). */
  rows<T extends FluxRow = FluxRow>(query: string | ParameterizedQuery): Promise<T[]>;
  /**
   * The rows as they arrive, for answers too large to hold in memory. The
   * first row (or the failure) is awaited before this resolves, so an
   * unreachable InfluxDB is answered 503 before any byte of a stream is sent.
   */
  stream(query: string | ParameterizedQuery): Promise<AsyncGenerator<FluxRow>>;
  ping(): Promise<boolean>;
  stats(): { failures: number; reachable: boolean };
}

/** Node socket errors that mean InfluxDB cannot be reached (as opposed to answering badly). */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** What a query failure means for the client; undefined when it is our bug (a bad query). */
export function classifyInfluxError(error: unknown): ApiError | undefined {
  if (error instanceof HttpError) {
    if (error.statusCode === 401 || error.statusCode === 403) return unavailable('InfluxDB refused the API token');
    if (error.statusCode === 404) return unavailable('InfluxDB is not set up: a bucket or the organization is missing');
    if (error.statusCode >= 500 || error.statusCode === 429) return unavailable('InfluxDB failed to answer');
    return undefined;
  }
  if (error instanceof RequestTimedOutError) return unavailable('InfluxDB did not answer in time');
  const code = errorCode(error);
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return unavailable('InfluxDB is unreachable');
  return undefined;
}

export function createInfluxReader(options: {
  url: string;
  token: string;
  org: string;
  buckets: InfluxBuckets;
  timeoutMs: number;
  logger: Logger;
}): InfluxReader {
  const { logger } = options;
  const queryApi: QueryApi = new InfluxDB({
    url: options.url,
    token: options.token,
    timeout: options.timeoutMs,
  }).getQueryApi(options.org);
  let failures = 0;
  let reachable = true;

  function failed(error: unknown): Error {
    const mapped = classifyInfluxError(error);
    if (!mapped) {
      // A query InfluxDB refused is our bug: the client gets a 500, never InfluxDB's words (an
      // HttpError carries InfluxDB's status, and its message the compiler's text on our query).
      const message = error instanceof Error ? error.message : String(error);
      return new Error(`InfluxDB refused a query: ${message}`, { cause: error });
    }
    failures++;
    if (reachable) {
      reachable = false;
      logger.warn({ err: (error as Error).message, answer: mapped.message }, 'InfluxDB unavailable; answering 503');
    }
    return mapped;
  }

  function succeeded(): void {
    if (!reachable) logger.info({ failures }, 'InfluxDB reachable again');
    reachable = true;
  }

  return {
    buckets: options.buckets,
    async rows<T extends FluxRow>(query: string | ParameterizedQuery) {
      try {
        const rows = await queryApi.collectRows<T>(query);
        succeeded();
        return rows;
      } catch (error) {
        throw failed(error);
      }
    },
    async stream(query) {
      const iterator = queryApi.iterateRows(query)[Symbol.asyncIterator]();
      let first: IteratorResult<{ values: string[]; tableMeta: { toObject(values: string[]): FluxRow } }>;
      try {
        first = await iterator.next();
        succeeded();
      } catch (error) {
        throw failed(error);
      }
      async function* rows(): AsyncGenerator<FluxRow> {
        let current = first;
        try {
          while (!current.done) {
            yield current.value.tableMeta.toObject(current.value.values);
            current = await iterator.next();
          }
        } finally {
          // Stopping early (a client that went away) ends the query too.
          if (!current.done) await iterator.return?.();
        }
      }
      return rows();
    },
    async ping() {
      try {
        const response = await fetch(new URL('/ping', options.url), { signal: AbortSignal.timeout(2000) });
        await response.arrayBuffer();
        return response.ok;
      } catch {
        return false;
      }
    },
    stats() {
      return { failures, reachable };
    },
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    influx: InfluxReader;
  }
}

export function registerInflux(app: FastifyInstance, reader: InfluxReader): void {
  app.decorate('influx', reader);
}
