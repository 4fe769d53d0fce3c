/**
 * The controller for a car on Tessie (https://developer.tessie.com): one
 * bearer token, no OAuth. Tessie reads the car on its own schedule and
 * answers `GET /{vin}/state` from it without waking the car, so a read is
 * one call whatever the car is doing. Commands
 * (`POST /{vin}/command/start_charging` ...) wake the car themselves:
 * `retry_duration` bounds how long Tessie keeps trying, and with
 * `wait_for_completion=true` the answer says how it went (`result`, `woke`).
 * Our HTTP timeout for a command is that bound plus the usual one.
 *
 * 429, 5xx and timeouts are retried with backoff, a bounded number of times;
 * a 401 means the token was deleted or mistyped: 'unauthorized'.
 */
import { Agent } from 'undici';
import { z } from 'zod';
import type { ChargeController, ControlCommandName, ControlFailure, ControlOutcome } from '../controller.js';
import {
  ALREADY_SO,
  classifyStatus,
  DEFAULT_RETRY_POLICY,
  type Operation,
  type RetryPolicy,
  realSleep,
  type Step,
  send,
  serviceErrorText,
  UsageMeter,
  withRetries,
} from './service-call.js';
import { carChargeStateOf, chargeStateSchema } from './tesla-fleet.js';

export interface TessieControllerOptions {
  vin: string;
  /** https://api.tessie.com */
  apiUrl: string;
  token: string;
  /** Bounds one HTTP call (a command's gets `retryDurationS` more). Default 10 s. */
  timeoutMs?: number;
  /** How long Tessie may try to wake the car and carry out a command, s. Default 40, Tessie's own. */
  retryDurationS?: number;
  retry?: Partial<RetryPolicy>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const stateSchema = z.object({ state: z.string().optional(), charge_state: chargeStateSchema }).passthrough();
const commandSchema = z.object({ result: z.boolean(), woke: z.boolean().optional(), reason: z.string().optional() });

/** Tessie's command names for ours. */
const TESSIE_COMMANDS: Partial<Record<ControlCommandName, string>> = {
  charge_start: 'start_charging',
  charge_stop: 'stop_charging',
  set_charging_amps: 'set_charging_amps',
};

export function createTessieController(options: TessieControllerOptions): ChargeController {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retryDurationS = options.retryDurationS ?? 40;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const baseUrl = `${options.apiUrl.replace(/\/$/, '')}/${encodeURIComponent(options.vin)}`;
  const meter = new UsageMeter(now);
  const agent = new Agent({ connections: 2 });

  async function call<T>(
    operation: Operation,
    endpoint: string,
    method: 'GET' | 'POST',
    path: string,
    schema: z.ZodType<T>,
    callTimeoutMs: number,
  ): Promise<{ ok: T } | { fail: ControlFailure; detail: string }> {
    return withRetries(policy, sleep, async (): Promise<Step<T>> => {
      operation.count(endpoint);
      const sent = await send(agent, `${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
        timeoutMs: callTimeoutMs,
      });
      if ('failure' in sent) return { fail: sent.failure, detail: `${endpoint}: ${sent.detail}`, retry: true };
      const { answer } = sent;
      if (answer.status === 200) {
        try {
          return { ok: schema.parse(JSON.parse(answer.text)) };
        } catch {
          return {
            fail: 'bad_response',
            detail: `${endpoint}: unreadable answer: ${answer.text.slice(0, 120)}`,
            retry: false,
          };
        }
      }
      const step = classifyStatus(answer, now(), serviceErrorText(answer.text));
      return 'ok' in step ? step : { ...step, detail: `${endpoint}: ${step.detail}` };
    });
  }

  async function command(name: ControlCommandName, query: Record<string, string>): Promise<ControlOutcome> {
    const operation = meter.begin(name);
    const tessieName = TESSIE_COMMANDS[name] ?? name;
    const params = new URLSearchParams({
      ...query,
      wait_for_completion: 'true',
      retry_duration: String(retryDurationS),
    });
    const sent = await call(
      operation,
      tessieName,
      'POST',
      `/command/${tessieName}?${params}`,
      commandSchema,
      timeoutMs + retryDurationS * 1000,
    );
    if ('fail' in sent) return meter.finish(operation, sent);
    operation.woke = sent.ok.woke === true;
    const reason = sent.ok.reason ?? '';
    if (sent.ok.result) return meter.finish(operation, { ok: true, detail: '' });
    if (ALREADY_SO[name]?.includes(reason)) return meter.finish(operation, { ok: true, detail: reason });
    if (!reason && operation.woke) {
      return meter.finish(operation, {
        fail: 'asleep',
        detail: `Tessie could not wake the car within ${retryDurationS} s`,
      });
    }
    return meter.finish(operation, { fail: 'refused', detail: reason || 'refused without a reason' });
  }

  return {
    kind: 'tessie',
    commandsCar: true,

    async readChargeState() {
      const operation = meter.begin('read_state');
      const read = await call(operation, 'state', 'GET', '/state?use_cache=true', stateSchema, timeoutMs);
      if ('fail' in read) return { state: undefined, outcome: meter.finish(operation, read) };
      const detail = read.ok.state && read.ok.state !== 'online' ? `${read.ok.state}: the car's last report` : '';
      return {
        state: carChargeStateOf(read.ok.charge_state, now()),
        outcome: meter.finish(operation, { ok: true, detail }),
      };
    },

    startCharging: () => command('charge_start', {}),
    stopCharging: () => command('charge_stop', {}),
    setChargingAmps: (amps: number) => command('set_charging_amps', { amps: String(Math.round(amps)) }),
    usage: () => meter.usage(),
    close: () => agent.close(),
  };
}
