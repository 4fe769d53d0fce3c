/**
 * The controller for a car on Tesla's Fleet API. Reads go to the Fleet API
 * itself; commands go through Tesla's vehicle-command proxy
 * (`tesla-http-proxy`), which signs them with the key the car was paired
 * with: the Fleet API refuses unsigned commands (403 "Tesla Vehicle Command
 * Protocol required").
 *
 * Tesla bills data calls, commands and, dearest, wake-ups
 * (developer.tesla.com: 500 data requests, 1,000 commands or 50 wakes per
 * dollar); `GET /api/1/vehicles/{vin}` is free. So every call first asks
 * that free endpoint whether the car is online: a read of a sleeping car
 * stops there (it is not woken to be read), and a command wakes it, polls
 * the free endpoint until it is online (bounded) and then sends the command.
 *
 * 429 (with its Retry-After), 5xx and timeouts are retried with backoff,
 * a bounded number of times; a 401 refreshes the access token once.
 */
import { Agent, type Dispatcher } from 'undici';
import { z } from 'zod';
import type {
  CarChargeState,
  ChargeController,
  ChargingState,
  ControlCommandName,
  ControlFailure,
  ControlOutcome,
} from '../controller.js';
import {
  ALREADY_SO,
  type Answer,
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
import type { TeslaTokenSource } from './tesla-tokens.js';

export interface TeslaFleetControllerOptions {
  vin: string;
  /** Fleet API base for the owner's region, e.g. https://fleet-api.prd.na.vn.cloud.tesla.com. */
  apiUrl: string;
  /** The vehicle-command proxy, e.g. https://tesla-proxy:4443. */
  proxyUrl: string;
  tokens: TeslaTokenSource;
  /** PEM of the proxy's own (self-signed) certificate, to trust it. */
  proxyCaPem?: string;
  /** Bounds one HTTP call. Default 10 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** How long a wake-up may take before the command fails as 'asleep'. Default 60 s. */
  wakeTimeoutMs?: number;
  /** How often the free vehicle endpoint is asked while the car wakes. Default 3 s. */
  wakePollMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const vehicleSchema = z.object({ response: z.object({ state: z.string() }).passthrough() });

const chargeStateSchema = z
  .object({
    timestamp: z.number().optional(),
    battery_level: z.number().nullable().optional(),
    charge_limit_soc: z.number().nullable().optional(),
    charging_state: z.string().nullable().optional(),
    charge_amps: z.number().nullable().optional(),
    charge_current_request: z.number().nullable().optional(),
    charge_current_request_max: z.number().nullable().optional(),
    energy_remaining: z.number().nullable().optional(),
    usable_battery_level: z.number().nullable().optional(),
  })
  .passthrough();

const vehicleDataSchema = z.object({ response: z.object({ charge_state: chargeStateSchema }).passthrough() });

const commandSchema = z.object({ response: z.object({ result: z.boolean(), reason: z.string().default('') }) });

const CHARGING_STATES: Record<string, ChargingState> = {
  Disconnected: 'disconnected',
  NoPower: 'no_power',
  Starting: 'starting',
  Charging: 'charging',
  Stopped: 'stopped',
  Complete: 'complete',
};

/** The car's `charge_state` in our terms; shared with the Tessie controller, which answers the same object. */
export function carChargeStateOf(state: z.infer<typeof chargeStateSchema>, fallbackAtMs: number): CarChargeState {
  const level = state.usable_battery_level ?? state.battery_level ?? null;
  const capacity =
    state.energy_remaining != null && level != null && level > 0
      ? Math.round((state.energy_remaining / (level / 100)) * 10) / 10
      : null;
  return {
    atMs: state.timestamp ?? fallbackAtMs,
    batteryLevelPct: state.battery_level ?? null,
    chargeLimitPct: state.charge_limit_soc ?? null,
    usableCapacityKwh: capacity,
    chargingState: (state.charging_state && CHARGING_STATES[state.charging_state]) || null,
    chargeAmps: state.charge_amps ?? state.charge_current_request ?? null,
    maxAmps: state.charge_current_request_max ?? null,
  };
}

export { chargeStateSchema };

const ASLEEP_TEXT = /offline or asleep|vehicle unavailable/i;

export function createTeslaFleetController(options: TeslaFleetControllerOptions): ChargeController {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const wakeTimeoutMs = options.wakeTimeoutMs ?? 60_000;
  const wakePollMs = options.wakePollMs ?? 3_000;
  const apiUrl = options.apiUrl.replace(/\/$/, '');
  const proxyUrl = options.proxyUrl.replace(/\/$/, '');
  const vinPath = `/api/1/vehicles/${encodeURIComponent(options.vin)}`;
  const meter = new UsageMeter(now);
  const apiAgent: Dispatcher = new Agent({ connections: 2 });
  const proxyAgent: Dispatcher = new Agent({
    connections: 2,
    ...(options.proxyCaPem ? { connect: { ca: options.proxyCaPem } } : {}),
  });

  type Parsed<T> = { value: T } | { asleep: true; detail: string };

  /** One logical call with its retries; a 401 refreshes the token once. */
  async function call<T>(
    operation: Operation,
    endpoint: string,
    target: 'api' | 'proxy',
    method: 'GET' | 'POST',
    path: string,
    schema: z.ZodType<T>,
    body?: unknown,
  ): Promise<{ ok: Parsed<T> } | { fail: ControlFailure; detail: string }> {
    let refreshed = false;
    return withRetries(policy, sleep, async (): Promise<Step<Parsed<T>>> => {
      for (;;) {
        const refreshesBefore = options.tokens.refreshCalls();
        const token = await options.tokens.accessToken();
        operation.calls += options.tokens.refreshCalls() - refreshesBefore;
        if (!token.ok) {
          return token.retry
            ? { fail: token.failure, detail: token.detail, retry: true }
            : { fail: token.failure, detail: token.detail, retry: false };
        }
        operation.count(endpoint);
        const sent = await send(
          target === 'api' ? apiAgent : proxyAgent,
          `${target === 'api' ? apiUrl : proxyUrl}${path}`,
          {
            method,
            headers: {
              authorization: `Bearer ${token.accessToken}`,
              'content-type': 'application/json',
              accept: 'application/json',
            },
            ...(body === undefined ? (method === 'POST' ? { body: '{}' } : {}) : { body: JSON.stringify(body) }),
            timeoutMs,
          },
        );
        if ('failure' in sent) return { fail: sent.failure, detail: `${endpoint}: ${sent.detail}`, retry: true };
        const answer: Answer = sent.answer;
        if (answer.status === 401 && !refreshed) {
          refreshed = true;
          options.tokens.rejected(token.accessToken);
          continue;
        }
        if (answer.status === 200) {
          try {
            return { ok: { value: schema.parse(JSON.parse(answer.text)) } };
          } catch {
            return {
              fail: 'bad_response',
              detail: `${endpoint}: unreadable answer: ${answer.text.slice(0, 120)}`,
              retry: false,
            };
          }
        }
        const errorText = serviceErrorText(answer.text);
        // 408 from the Fleet API, 500 from the proxy: the car sleeps.
        if (answer.status === 408 || (answer.status >= 500 && ASLEEP_TEXT.test(errorText))) {
          return { ok: { asleep: true, detail: errorText } };
        }
        const step = classifyStatus(answer, now(), errorText);
        return 'ok' in step ? step : { ...step, detail: `${endpoint}: ${step.detail}` };
      }
    });
  }

  async function online(operation: Operation): Promise<{ ok: boolean } | { fail: ControlFailure; detail: string }> {
    const result = await call(operation, 'vehicle', 'api', 'GET', vinPath, vehicleSchema);
    if ('fail' in result) return result;
    if ('asleep' in result.ok) return { ok: false };
    return { ok: result.ok.value.response.state === 'online' };
  }

  /** Wakes the car and waits until the free endpoint says online; a failure when it does not in time. */
  async function wake(operation: Operation): Promise<{ fail: ControlFailure; detail: string } | undefined> {
    operation.woke = true;
    const woken = await call(operation, 'wake_up', 'api', 'POST', `${vinPath}/wake_up`, vehicleSchema);
    if ('fail' in woken) return woken;
    const deadlineMs = now() + wakeTimeoutMs;
    for (;;) {
      const state = await online(operation);
      if ('fail' in state) return state;
      if (state.ok) return undefined;
      if (now() + wakePollMs > deadlineMs) {
        return { fail: 'asleep', detail: `the car did not wake within ${Math.round(wakeTimeoutMs / 1000)} s` };
      }
      await sleep(wakePollMs);
    }
  }

  async function command(name: ControlCommandName, body: Record<string, unknown>): Promise<ControlOutcome> {
    const operation = meter.begin(name);
    const finish = (result: { ok: true; detail: string } | { fail: ControlFailure; detail: string }) =>
      meter.finish(operation, result);
    const state = await online(operation);
    if ('fail' in state) return finish(state);
    if (!state.ok) {
      const failed = await wake(operation);
      if (failed) return finish(failed);
    }
    for (;;) {
      const sent = await call(operation, name, 'proxy', 'POST', `${vinPath}/command/${name}`, commandSchema, body);
      if ('fail' in sent) return finish(sent);
      if ('asleep' in sent.ok) {
        // Asleep again between our look and the command: one more wake-up, then give up.
        if (operation.woke) return finish({ fail: 'asleep', detail: sent.ok.detail });
        const failed = await wake(operation);
        if (failed) return finish(failed);
        continue;
      }
      const { result, reason } = sent.ok.value.response;
      if (result) return finish({ ok: true, detail: '' });
      if (ALREADY_SO[name]?.includes(reason)) return finish({ ok: true, detail: reason });
      return finish({ fail: 'refused', detail: reason || 'refused without a reason' });
    }
  }

  return {
    kind: 'tesla-fleet',
    commandsCar: true,

    async readChargeState() {
      const operation = meter.begin('read_state');
      const state = await online(operation);
      if ('fail' in state) return { state: undefined, outcome: meter.finish(operation, state) };
      if (!state.ok) {
        // Not woken to be read: a wake-up costs as much as 10 data calls, and a sleeping car is not charging.
        return {
          state: undefined,
          outcome: meter.finish(operation, { fail: 'asleep', detail: 'asleep; not woken to be read' }),
        };
      }
      const data = await call(
        operation,
        'vehicle_data',
        'api',
        'GET',
        `${vinPath}/vehicle_data?endpoints=charge_state`,
        vehicleDataSchema,
      );
      if ('fail' in data) return { state: undefined, outcome: meter.finish(operation, data) };
      if ('asleep' in data.ok) {
        return { state: undefined, outcome: meter.finish(operation, { fail: 'asleep', detail: data.ok.detail }) };
      }
      return {
        state: carChargeStateOf(data.ok.value.response.charge_state, now()),
        outcome: meter.finish(operation, { ok: true, detail: '' }),
      };
    },

    startCharging: () => command('charge_start', {}),
    stopCharging: () => command('charge_stop', {}),
    setChargingAmps: (amps: number) => command('set_charging_amps', { charging_amps: Math.round(amps) }),
    usage() {
      const usage = meter.usage();
      // The token endpoint serves the whole account: the count is shared by its cars.
      return { ...usage, calls: { ...usage.calls, token: options.tokens.refreshCalls() } };
    },
    async close() {
      await Promise.all([apiAgent.close(), proxyAgent.close()]);
    },
  };
}
