/**
 * HTTP client for one Wall Connector Gen 3 (its undocumented local API on
 * port 80). The charger's embedded web server is slow to answer and breaks
 * under concurrent or rapid requests, and retries make that worse: this
 * client keeps exactly one request in flight, never retries inside a call,
 * and leaves backoff to its caller.
 */
import { performance } from 'node:perf_hooks';
import { InvalidJsonError, type JsonRepair, repairJson } from '@twc/core/charger/json-repair';
import {
  type Lifetime,
  lifetimeSchema,
  type Version,
  type Vitals,
  versionSchema,
  vitalsSchema,
  type WifiStatus,
  wifiStatusSchema,
} from '@twc/core/charger/models';
import { errorCode } from '@twc/runtime/error-code';
import { type Logger, silentLogger } from '@twc/runtime/logger';
import { Client } from 'undici';
import type { z } from 'zod';

export type ChargerErrorKind =
  | 'unreachable'
  | 'timeout'
  | 'http_status'
  | 'invalid_json'
  | 'invalid_payload'
  | 'not_a_wall_connector';

export const CHARGER_ERROR_KINDS: readonly ChargerErrorKind[] = [
  'unreachable',
  'timeout',
  'http_status',
  'invalid_json',
  'invalid_payload',
  'not_a_wall_connector',
];

export type ChargerEndpoint = '/api/1/vitals' | '/api/1/lifetime' | '/api/1/version' | '/api/1/wifi_status';

export class ChargerRequestError extends Error {
  override readonly name = 'ChargerRequestError';
  readonly kind: ChargerErrorKind;
  readonly endpoint: ChargerEndpoint;
  /** The HTTP status, for `http_status`. */
  readonly status?: number;
  /** The error code of the underlying network or undici error, e.g. `ECONNREFUSED`. */
  readonly code?: string;

  constructor(
    kind: ChargerErrorKind,
    endpoint: ChargerEndpoint,
    message: string,
    details: { status?: number; code?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.endpoint = endpoint;
    if (details.status !== undefined) this.status = details.status;
    if (details.code !== undefined) this.code = details.code;
  }
}

export interface ChargerResponse<T> {
  data: T;
  /** Repairs the body needed before it parsed (see json-repair.ts); empty for valid JSON. */
  repairs: JsonRepair[];
  /** From sending the request to the parsed body, excluding time spent waiting behind another call. */
  durationMs: number;
}

export interface ChargerClientStats {
  requests: number;
  failures: Record<ChargerErrorKind, number>;
  /** Responses that needed at least one repair to parse. */
  repairs: number;
}

export interface ChargerClient {
  /** "host" or "host:port" (port 80 when absent). */
  readonly host: string;
  vitals(): Promise<ChargerResponse<Vitals>>;
  lifetime(): Promise<ChargerResponse<Lifetime>>;
  version(): Promise<ChargerResponse<Version>>;
  wifiStatus(): Promise<ChargerResponse<WifiStatus>>;
  /** Cumulative counters since the client was created. */
  stats(): ChargerClientStats;
  /** Waits for queued calls, then closes the connection. */
  close(): Promise<void>;
}

export interface ChargerClientOptions {
  host: string;
  connectTimeoutMs?: number;
  /**
   * Limit for the response headers to arrive, and separately for each gap between body chunks. undici
   * checks these on a timer of about one second resolution, so a limit below a second acts as about one.
   */
  responseTimeoutMs?: number;
  logger?: Logger;
}

// The device can take seconds to send its first byte even after TCP connects.
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_RESPONSE_TIMEOUT_MS = 10_000;
// Real payloads are well under 1 KiB; anything this large is not a Wall Connector answering.
const MAX_RESPONSE_BYTES = 256 * 1024;

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
const TOO_LARGE_CODE = 'UND_ERR_RES_EXCEEDED_MAX_SIZE';

/** Parses "host" or "host:port" (IPv6 in brackets) into an http origin; throws on anything else. */
export function chargerOrigin(host: string): string {
  const trimmed = host.trim();
  let url: URL;
  try {
    if (trimmed === '' || /[/?#@\s]/.test(trimmed)) throw new Error('bad host');
    url = new URL(`http://${trimmed}`);
  } catch {
    throw new TypeError(`invalid charger address "${host}": expected host or host:port, e.g. 192.168.1.50 or twc:8080`);
  }
  return url.origin;
}

export function createChargerClient(options: ChargerClientOptions): ChargerClient {
  const origin = chargerOrigin(options.host);
  const host = options.host.trim();
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const responseTimeoutMs = options.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS;
  // The caller's logger names the charger; this one adds the address it is reached at.
  const log = (options.logger ?? silentLogger()).child({ module: 'twc-client', host });

  // One undici Client is one connection; pipelining 1 keeps a single request on it at a time.
  const dispatcher = new Client(origin, {
    connect: { timeout: connectTimeoutMs },
    headersTimeout: responseTimeoutMs,
    bodyTimeout: responseTimeoutMs,
    pipelining: 1,
    maxResponseSize: MAX_RESPONSE_BYTES,
  });

  const counters: ChargerClientStats = {
    requests: 0,
    failures: Object.fromEntries(CHARGER_ERROR_KINDS.map((kind) => [kind, 0])) as Record<ChargerErrorKind, number>,
    repairs: 0,
  };
  // Logged once per streak of the same failure, and once per kind of repair per endpoint; the counters carry the rest.
  let failing: { kind: ChargerErrorKind; streak: number } | undefined;
  const repairsLogged = new Set<string>();
  let tail: Promise<unknown> = Promise.resolve();
  let closed = false;
  let closing: Promise<void> | undefined;

  function classifyNetworkError(endpoint: ChargerEndpoint, error: unknown): ChargerRequestError {
    const code = errorCode(error);
    const reason = error instanceof Error ? error.message : String(error);
    if (code && TIMEOUT_CODES.has(code)) {
      return new ChargerRequestError('timeout', endpoint, `${host} did not answer ${endpoint} in time (${code})`, {
        code,
        cause: error,
      });
    }
    if (code === TOO_LARGE_CODE) {
      const kind = endpoint === '/api/1/version' ? 'not_a_wall_connector' : 'invalid_payload';
      return new ChargerRequestError(
        kind,
        endpoint,
        `${host} sent more than ${MAX_RESPONSE_BYTES} bytes on ${endpoint}`,
        {
          code,
          cause: error,
        },
      );
    }
    // ECONNREFUSED, ECONNRESET, EHOSTUNREACH, ENETUNREACH, ENOTFOUND, EAI_AGAIN, UND_ERR_SOCKET, UND_ERR_CLOSED...:
    // the charger cannot be talked to right now.
    return new ChargerRequestError('unreachable', endpoint, `${host} unreachable on ${endpoint}: ${code ?? reason}`, {
      ...(code === undefined ? {} : { code }),
      cause: error,
    });
  }

  async function fetchOnce<T>(endpoint: ChargerEndpoint, schema: z.ZodType<T>): Promise<ChargerResponse<T>> {
    const startedMs = performance.now();
    let text: string;
    try {
      const response = await dispatcher.request({
        method: 'GET',
        path: endpoint,
        headers: { accept: 'application/json' },
      });
      if (response.statusCode < 200 || response.statusCode > 299) {
        await response.body.dump();
        throw new ChargerRequestError(
          'http_status',
          endpoint,
          `${host} answered HTTP ${response.statusCode} on ${endpoint}`,
          {
            status: response.statusCode,
          },
        );
      }
      // The device's content type is not reliable: read text whatever it says.
      text = await response.body.text();
    } catch (error) {
      if (error instanceof ChargerRequestError) throw error;
      throw classifyNetworkError(endpoint, error);
    }

    const isVersion = endpoint === '/api/1/version';
    let parsed: ReturnType<typeof repairJson>;
    try {
      parsed = repairJson(text);
    } catch (error) {
      if (!(error instanceof InvalidJsonError)) throw error;
      // A web page or other non-JSON on /version means some other device answers at this address.
      throw new ChargerRequestError(
        isVersion ? 'not_a_wall_connector' : 'invalid_json',
        endpoint,
        `${endpoint}: ${error.message}`,
        {
          cause: error,
        },
      );
    }

    const result = schema.safeParse(parsed.value);
    if (!result.success) {
      const issues = result.error.issues
        .slice(0, 5)
        .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('; ');
      throw new ChargerRequestError(
        isVersion ? 'not_a_wall_connector' : 'invalid_payload',
        endpoint,
        `${endpoint} is not a Wall Connector payload: ${issues}`,
        { cause: result.error },
      );
    }
    return { data: result.data, repairs: parsed.repairs, durationMs: performance.now() - startedMs };
  }

  function record<T>(endpoint: ChargerEndpoint, outcome: ChargerResponse<T> | ChargerRequestError): void {
    if (outcome instanceof ChargerRequestError) {
      counters.failures[outcome.kind] += 1;
      const streak = (failing?.streak ?? 0) + 1;
      const isNewKind = failing?.kind !== outcome.kind;
      failing = { kind: outcome.kind, streak };
      if (isNewKind) {
        log.warn(
          { endpoint, kind: outcome.kind, status: outcome.status, code: outcome.code, reason: outcome.message },
          'charger request failed; further failures of this kind are only counted',
        );
      }
      return;
    }
    if (failing) {
      log.info({ endpoint, failedRequests: failing.streak }, 'charger answering again');
      failing = undefined;
    }
    if (outcome.repairs.length > 0) {
      counters.repairs += 1;
      for (const repair of outcome.repairs) {
        const key = `${endpoint} ${repair}`;
        if (repairsLogged.has(key)) continue;
        repairsLogged.add(key);
        log.warn({ endpoint, repair }, 'charger sent invalid JSON, repaired; further repairs are only counted');
      }
    }
  }

  function call<T>(endpoint: ChargerEndpoint, schema: z.ZodType<T>): Promise<ChargerResponse<T>> {
    if (closed) return Promise.reject(new Error(`charger client for ${host} is closed`));
    const run = tail.then(async () => {
      counters.requests += 1;
      try {
        const response = await fetchOnce(endpoint, schema);
        record(endpoint, response);
        return response;
      } catch (error) {
        if (error instanceof ChargerRequestError) record(endpoint, error);
        throw error;
      }
    });
    tail = run.catch(() => undefined);
    return run;
  }

  return {
    host,
    vitals: () => call('/api/1/vitals', vitalsSchema),
    lifetime: () => call('/api/1/lifetime', lifetimeSchema),
    version: () => call('/api/1/version', versionSchema),
    wifiStatus: () => call('/api/1/wifi_status', wifiStatusSchema),
    stats: () => ({ ...counters, failures: { ...counters.failures } }),
    close() {
      if (!closing) {
        closed = true;
        closing = tail.then(() => dispatcher.close());
      }
      return closing;
    },
  };
}
