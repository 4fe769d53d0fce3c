/**
 * One HTTP call to a car-control service and the retry policy around it,
 * shared by the Tesla Fleet and Tessie controllers: failures classified by
 * undici's error codes, the body always consumed, 429 and 5xx and timeouts
 * retried with a doubling backoff that honours Retry-After, every call
 * counted for `usage()`.
 */
import { type Dispatcher, request } from 'undici';
import type { ControlCommandName, ControlFailure, ControllerUsage, ControlOutcome } from '../controller.js';

export interface RetryPolicy {
  /** Tries per call, the first included. */
  attempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** A Retry-After longer than this is not waited for: the call fails as rate_limited at once. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 3,
  retryBaseMs: 1_000,
  retryMaxMs: 30_000,
  maxRetryAfterMs: 60_000,
};

export type Answer = { status: number; headers: Record<string, string | string[] | undefined>; text: string };

export type Sent = { answer: Answer } | { failure: 'timeout' | 'unreachable'; detail: string };

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** One request; never throws for the network's failures. */
export async function send(
  dispatcher: Dispatcher,
  url: string,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; timeoutMs: number },
): Promise<Sent> {
  const signal = AbortSignal.timeout(init.timeoutMs);
  try {
    const response = await request(url, {
      dispatcher,
      method: init.method,
      headers: init.headers,
      body: init.body,
      headersTimeout: init.timeoutMs,
      bodyTimeout: init.timeoutMs,
      signal,
    });
    const text = await response.body.text();
    return { answer: { status: response.statusCode, headers: response.headers, text } };
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    const name = (error as { name?: string }).name ?? '';
    if (TIMEOUT_CODES.has(code) || signal.aborted || name === 'TimeoutError') {
      return { failure: 'timeout', detail: `no answer within ${init.timeoutMs} ms` };
    }
    return { failure: 'unreachable', detail: `${code || name || 'error'}: ${(error as Error).message}` };
  }
}

/** Retry-After in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(headers: Answer['headers'], nowMs: number): number | undefined {
  const raw = headers['retry-after'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const atMs = Date.parse(value);
  return Number.isFinite(atMs) ? Math.max(0, atMs - nowMs) : undefined;
}

export type Step<T> =
  | { ok: T }
  | { fail: ControlFailure; detail: string; retry: false }
  | { fail: ControlFailure; detail: string; retry: true; retryAfterMs?: number };

/**
 * Runs `attempt` until it succeeds, fails for good, or the tries run out;
 * waits between tries: Retry-After when the service gave one, otherwise
 * base x 2^n up to the maximum.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  sleep: (ms: number) => Promise<void>,
  attempt: (index: number) => Promise<Step<T>>,
): Promise<{ ok: T } | { fail: ControlFailure; detail: string }> {
  let last: { fail: ControlFailure; detail: string } = { fail: 'unreachable', detail: 'not tried' };
  for (let index = 0; index < policy.attempts; index += 1) {
    const step = await attempt(index);
    if ('ok' in step) return step;
    last = { fail: step.fail, detail: step.detail };
    if (!step.retry || index === policy.attempts - 1) return last;
    if (step.retryAfterMs !== undefined && step.retryAfterMs > policy.maxRetryAfterMs) {
      return {
        fail: step.fail,
        detail: `${step.detail}; Retry-After ${Math.round(step.retryAfterMs / 1000)} s is longer than we wait`,
      };
    }
    const backoffMs = Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** index);
    await sleep(step.retryAfterMs ?? backoffMs);
  }
  return last;
}

/** The common classification of an answer that is not a success. */
export function classifyStatus(answer: Answer, nowMs: number, serviceError: string): Step<never> {
  const { status } = answer;
  const detail = `HTTP ${status}${serviceError ? `: ${serviceError}` : ''}`;
  if (status === 429) {
    const afterMs = retryAfterMs(answer.headers, nowMs);
    return afterMs === undefined
      ? { fail: 'rate_limited', detail, retry: true }
      : { fail: 'rate_limited', detail, retry: true, retryAfterMs: afterMs };
  }
  if (status >= 500) return { fail: 'unreachable', detail, retry: true };
  if (status === 401 || status === 403) return { fail: 'unauthorized', detail, retry: false };
  return { fail: 'bad_response', detail, retry: false };
}

/** The error text of a JSON error answer (`error`, `error_description`), or the start of the body. */
export function serviceErrorText(text: string): string {
  try {
    const value = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    const parts = [value.error, value.error_description].filter(
      (part): part is string => typeof part === 'string' && part !== '',
    );
    if (parts.length > 0) return parts.join(': ');
  } catch {
    // not JSON: show the start of it
  }
  return text.trim().slice(0, 200);
}

/** Counts calls and failures for `usage()`, and builds each call's outcome. */
export class UsageMeter {
  private readonly callsByEndpoint: Record<string, number> = {};
  private failures = 0;
  private lastFailure: ControllerUsage['lastFailure'] = null;

  constructor(private readonly now: () => number) {}

  begin(command: ControlCommandName | 'read_state'): Operation {
    return new Operation(command, this.now(), (endpoint) => {
      this.callsByEndpoint[endpoint] = (this.callsByEndpoint[endpoint] ?? 0) + 1;
    });
  }

  finish(operation: Operation, result: { ok: true; detail: string } | { fail: ControlFailure; detail: string }) {
    const outcome = operation.outcome(result, this.now());
    if (!outcome.ok && outcome.failure) {
      this.failures += 1;
      this.lastFailure = { atMs: this.now(), failure: outcome.failure, detail: outcome.detail };
    }
    return outcome;
  }

  usage(): ControllerUsage {
    return {
      calls: { ...this.callsByEndpoint },
      failures: this.failures,
      lastFailure: this.lastFailure ? { ...this.lastFailure } : null,
    };
  }
}

export class Operation {
  calls = 0;
  woke = false;

  constructor(
    readonly command: ControlCommandName | 'read_state',
    private readonly startedMs: number,
    private readonly onCall: (endpoint: string) => void,
  ) {}

  count(endpoint: string): void {
    this.calls += 1;
    this.onCall(endpoint);
  }

  outcome(
    result: { ok: true; detail: string } | { fail: ControlFailure; detail: string },
    nowMs: number,
  ): ControlOutcome {
    const ok = 'ok' in result;
    return {
      command: this.command,
      ok,
      failure: ok ? null : result.fail,
      detail: result.detail,
      calls: this.calls,
      woke: this.woke,
      durationMs: Math.max(0, nowMs - this.startedMs),
    };
  }
}

export const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Reasons a car gives when it already is as told: the command is done. */
export const ALREADY_SO: Partial<Record<ControlCommandName, readonly string[]>> = {
  charge_start: ['is_charging'],
  charge_stop: ['not_charging'],
};
