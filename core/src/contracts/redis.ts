/**
 * What the services say to each other through Redis, in one place: every
 * key, every channel, and a zod schema for every payload. The writer builds a
 * payload of the schema's type; every reader parses with the same schema, so
 * a reader never trusts a cast and a change on one side cannot pass unseen.
 *
 * Keys (prefix REDIS_KEY_PREFIX, default `twc:`):
 *   charger:<id>:vitals    LiveVitals, latest normalized vitals     (collector)
 *   chargers               hash charger id -> ChargerStatus JSON      (collector)
 *   vitals:<id>            channel, a LiveVitals per sample           (collector)
 *   charger:<id>:session   LiveSession, the open or last session      (collector)
 *   session:<id>           channel, a LiveSession per open sample     (collector)
 *   session-state:<id>     the session machine's checkpoint           (collector, its own)
 *   price:current          CurrentPrice                              (comed-poller)
 *   price                  channel, a CurrentPrice on a new price     (comed-poller)
 *   price:forecast         PriceForecast, the next 48 hours           (comed-poller)
 *   price-forecast         channel, a PriceForecast when recomputed   (comed-poller)
 *   charger:<id>:plan-settings  PlanSettings, the user's smart-charging settings (api, bridge; planner keeps a copy on disk)
 *   plan-settings          channel, a charger id whose settings changed (api, bridge)
 *   charger:<id>:plan      PlanState, the current plan and control state (planner)
 *   plan:<id>              channel, a PlanState when it changes         (planner)
 *   control-event          channel, a ControlEvent per command to a car (planner)
 */
import { z } from 'zod';
import type { NormalizedVitals } from '../charger/normalize.js';
import { FIVE_MINUTES_MS } from '../prices/comed-clock.js';
import type { CostTotals } from '../sessions/cost.js';
import type { ChargingSession, SessionMachineState } from '../sessions/session-machine.js';

export const liveKeys = {
  vitals: (prefix: string, chargerId: string) => `${prefix}charger:${chargerId}:vitals`,
  chargers: (prefix: string) => `${prefix}chargers`,
  vitalsChannel: (prefix: string, chargerId: string) => `${prefix}vitals:${chargerId}`,
  vitalsChannelPattern: (prefix: string) => `${prefix}vitals:*`,
};

export const sessionKeys = {
  state: (prefix: string, chargerId: string) => `${prefix}session-state:${chargerId}`,
  live: (prefix: string, chargerId: string) => `${prefix}charger:${chargerId}:session`,
  channel: (prefix: string, chargerId: string) => `${prefix}session:${chargerId}`,
  channelPattern: (prefix: string) => `${prefix}session:*`,
};

export const priceKeys = {
  current: (prefix: string) => `${prefix}price:current`,
  channel: (prefix: string) => `${prefix}price`,
  forecast: (prefix: string) => `${prefix}price:forecast`,
  forecastChannel: (prefix: string) => `${prefix}price-forecast`,
};

export const planKeys = {
  settings: (prefix: string, chargerId: string) => `${prefix}charger:${chargerId}:plan-settings`,
  settingsChannel: (prefix: string) => `${prefix}plan-settings`,
  state: (prefix: string, chargerId: string) => `${prefix}charger:${chargerId}:plan`,
  stateChannel: (prefix: string, chargerId: string) => `${prefix}plan:${chargerId}`,
  stateChannelPattern: (prefix: string) => `${prefix}plan:*`,
  eventChannel: (prefix: string) => `${prefix}control-event`,
};

const nullableNumber = z.number().nullable();

export const normalizedVitalsSchema = z.object({
  vehicle_connected: z.boolean(),
  contactor_closed: z.boolean(),
  session_energy_wh: nullableNumber,
  vehicle_current_a: nullableNumber,
  grid_v: nullableNumber,
  grid_hz: nullableNumber,
  voltageA_v: nullableNumber,
  voltageB_v: nullableNumber,
  voltageC_v: nullableNumber,
  currentA_a: nullableNumber,
  currentB_a: nullableNumber,
  currentC_a: nullableNumber,
  pcba_temp_c: nullableNumber,
  handle_temp_c: nullableNumber,
  mcu_temp_c: nullableNumber,
  session_s: nullableNumber,
  evse_state: nullableNumber,
  power_w: z.number(),
  uptime_s: nullableNumber,
  charging: z.boolean(),
  evse_state_name: z.string(),
  phase_mode: z.enum(['split', 'three']),
  current_alerts: z.array(z.string()),
  evse_not_ready_reasons: z.array(z.number()),
}) satisfies z.ZodType<NormalizedVitals>;

export const liveVitalsSchema = z.object({
  charger_id: z.string(),
  charger_name: z.string(),
  time: z.string(),
  vitals: normalizedVitalsSchema,
});
export type LiveVitals = z.infer<typeof liveVitalsSchema>;

export const chargerStatusSchema = z.object({
  charger_id: z.string(),
  charger_name: z.string(),
  host: z.string(),
  serial_number: z.string(),
  firmware_version: z.string().nullable(),
  part_number: z.string().nullable(),
  online: z.boolean(),
  consecutive_failures: z.number(),
  last_error: z.string().nullable(),
  last_seen: z.string().nullable(),
  updated: z.string(),
});
export type ChargerStatus = z.infer<typeof chargerStatusSchema>;

const intervalEnergySchema = z.object({ startMs: z.number(), energyWh: z.number() });

export const chargingSessionSchema = z.object({
  id: z.string(),
  chargerId: z.string(),
  startTimeMs: z.number(),
  endTimeMs: z.number().nullable(),
  endReason: z.enum(['unplugged', 'vehicle_swapped', 'gap_unplugged']).nullable(),
  lastSampleMs: z.number(),
  observedFromPlugIn: z.boolean(),
  unobservedCounterWh: z.number().nullable(),
  durationS: z.number(),
  chargingS: z.number(),
  energyWh: z.number(),
  peakPowerW: z.number(),
  avgPowerW: z.number(),
  maxHandleTempC: z.number().nullable(),
  gaps: z.array(z.object({ fromMs: z.number(), toMs: z.number() })),
  segments: z.number(),
  energyByInterval: z.array(intervalEnergySchema),
}) satisfies z.ZodType<ChargingSession>;

const costTotalsSchema = z.object({
  energyWh: z.number(),
  unpricedEnergyWh: z.number(),
  avgPriceCentsKwh: z.number().nullable(),
  supplyCostUsd: z.number(),
  addersCostUsd: z.number(),
  taxUsd: z.number(),
  totalCostUsd: z.number(),
  provisional: z.boolean(),
}) satisfies z.ZodType<CostTotals>;

export const liveSessionSchema = z.object({
  charger_id: z.string(),
  charger_name: z.string(),
  open: z.boolean(),
  session: chargingSessionSchema,
  cost: costTotalsSchema,
  updated: z.string(),
});
export type LiveSession = z.infer<typeof liveSessionSchema>;

export const currentPriceSchema = z.object({
  /** The latest 5-minute price; `time` is its ComEd stamp, the start of the five minutes it prices. */
  five_minute: z.object({ time: z.string(), price_cents_kwh: z.number() }).nullable(),
  /** The running average of the hour ending `hour_ending`; `time` is the stamp of the newest price in it. */
  hour_average: z.object({ time: z.string(), hour_ending: z.string(), price_cents_kwh: z.number() }).nullable(),
  /** The stamp of the latest 5-minute price; the feed is stale when it is older than 15 minutes. */
  feed_time: z.string().nullable(),
  stale: z.boolean(),
  updated: z.string(),
});
export type CurrentPrice = z.infer<typeof currentPriceSchema>;

const errorBandSchema = z.object({ low: z.number(), high: z.number() });

export const hourEstimateSchema = z.object({
  hour_ending: z.string(),
  price_cents_kwh: z.number(),
  source: z.enum(['actual', 'running', 'day_ahead', 'forecast']),
  low_cents_kwh: z.number(),
  high_cents_kwh: z.number(),
  /**
   * ComEd's day-ahead price of the hour, where one was published, whatever the
   * estimate's source: the current hour is `running` once it has prices, and
   * its day-ahead price is then only here. Absent from forecasts written
   * before it was added.
   */
  day_ahead_cents_kwh: z.number().optional(),
});

export const priceForecastSchema = z.object({
  /** When the poller computed it. */
  computed_at: z.string(),
  /** The stamp of the newest 5-minute price it knew (null: none); stale with the feed. */
  feed_time: z.string().nullable(),
  /** The current hour and the 47 after it, where anything is known. */
  hours: z.array(hourEstimateSchema),
  /** The bands: measured on the stored history (`measured_days` > 0) or the defaults until then. */
  errors: z.object({ day_ahead: errorBandSchema, forecast: errorBandSchema, measured_days: z.number().int() }),
  /** The night ahead (or under way): its average estimate and its cheapest run of hours. */
  tonight: z.object({
    from: z.string(),
    until: z.string(),
    avg_price_cents_kwh: z.number().nullable(),
    window: z
      .object({
        start: z.string(),
        end: z.string(),
        hours: z.number().int(),
        avg_price_cents_kwh: z.number(),
        sources: z.array(z.enum(['actual', 'running', 'day_ahead', 'forecast'])),
      })
      .nullable(),
  }),
});
export type PriceForecast = z.infer<typeof priceForecastSchema>;

const localTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'must be a local time HH:MM' });

/**
 * The user's smart-charging settings of one charger. Written by the API and
 * the Home Assistant bridge, read by the planner (which keeps the last one on
 * disk, so a Redis that lost its data does not lose a user's settings).
 */
export const planSettingsSchema = z.object({
  /** Off: the car charges as it would without us; the plan is still shown as advice. */
  smart_charging: z.boolean(),
  /** The energy to have by the departure when the car's own state of charge cannot be read. */
  target: z.object({ unit: z.enum(['kwh', 'percent']), value: z.number().positive().max(200) }),
  /** Departure by weekday, Sunday first, local HH:MM or null (no departure that day). */
  ready_by: z.array(localTime.nullable()).length(7),
  /** A one-off departure (ISO instant), ahead of the schedule; null when none. */
  departure_override: z.string().nullable(),
  always_below_cents_kwh: z.number().min(-100).max(100).nullable(),
  never_above_cents_kwh: z.number().min(-100).max(1000).nullable(),
  buffer_min: z.number().int().min(0).max(600),
  max_runs: z.number().int().min(1).max(24),
  /** "Charge now" until the car is unplugged (or the plan is resumed). */
  charge_now: z.boolean(),
  updated: z.string(),
});
export type PlanSettings = z.infer<typeof planSettingsSchema>;

const planCostSchema = z.object({
  energy_kwh: z.number(),
  total_usd: z.number(),
  avg_price_cents_kwh: z.number().nullable(),
});

/** One command to a car and its answer. */
export const controlEventSchema = z.object({
  charger_id: z.string(),
  time: z.string(),
  command: z.enum(['charge_start', 'charge_stop', 'set_charging_amps', 'wake_up', 'read_state']),
  ok: z.boolean(),
  failure: z.string().nullable(),
  detail: z.string(),
  /** Why the loop sent it (plan_start, plan_stop, fail_safe, ...). */
  reason: z.string(),
  calls: z.number().int(),
  woke: z.boolean(),
  duration_ms: z.number(),
});
export type ControlEvent = z.infer<typeof controlEventSchema>;

/** What the planner decided for one charger, and why: the plan, the control state, the car as last read. */
export const planStateSchema = z.object({
  charger_id: z.string(),
  charger_name: z.string(),
  controller: z.enum(['tesla-fleet', 'tessie', 'mqtt', 'none']),
  /**
   * unplugged | off (smart charging off) | charge_now | planned | deadline (no time to wait) |
   * no_prices (no current forecast: charging) | complete | user_override | fail_safe | stale (no vitals)
   */
  status: z.enum([
    'unplugged',
    'off',
    'charge_now',
    'planned',
    'deadline',
    'no_prices',
    'complete',
    'user_override',
    'fail_safe',
    'stale',
  ]),
  /** Whether the car may charge now: what Home Assistant's "charging allowed now" shows. */
  charging_allowed: z.boolean(),
  /** The control loop's reason for its last decision (charge-control.ts). */
  reason: z.string(),
  need: z
    .object({
      energy_kwh: z.number(),
      /** `car`: from its state of charge and limit; `target`: the user's target. */
      from: z.enum(['car', 'target']),
      battery_level_pct: z.number().nullable(),
      charge_limit_pct: z.number().nullable(),
    })
    .nullable(),
  power_kw: z.number().nullable(),
  departure: z.string().nullable(),
  deadline: z.string().nullable(),
  plan: z
    .object({
      computed_at: z.string(),
      mode: z.enum(['planned', 'deadline']),
      runs: z.array(z.object({ start: z.string(), end: z.string() })),
      slots: z.array(
        z.object({
          start: z.string(),
          end: z.string(),
          hour_ending: z.string(),
          energy_kwh: z.number(),
          price_cents_kwh: z.number().nullable(),
          source: z.enum(['actual', 'running', 'day_ahead', 'forecast']).nullable(),
          reason: z.enum(['cheapest', 'always_below', 'needed', 'smoothing', 'deadline']),
        }),
      ),
      expected: planCostSchema,
      at_once: planCostSchema,
      saving_usd: z.number(),
      shortfall_kwh: z.number(),
    })
    .nullable(),
  /** The control state machine's state, kept so a restart carries on (a stop of ours is not forgotten). */
  control: z.object({
    last_command: z
      .object({ command: z.enum(['start', 'stop']), at: z.string(), ok: z.boolean().nullable() })
      .nullable(),
    failures: z.number().int(),
    stopped_by_us: z.boolean(),
    user_override: z.boolean(),
    fail_safe: z.boolean(),
  }),
  /** Calls to the car-control service since the planner started, by endpoint. */
  usage: z.object({ calls: z.record(z.string(), z.number()), failures: z.number() }),
  last_event: controlEventSchema.nullable(),
  updated: z.string(),
});
export type PlanState = z.infer<typeof planStateSchema>;

/**
 * A payload read from Redis, parsed with its writer's schema; undefined when
 * it is not valid JSON or not of the schema (a newer or broken writer): the
 * reader then treats the key as absent.
 */
export function parseRedisPayload<T>(schema: z.ZodType<T>, text: string | null | undefined): T | undefined {
  if (typeof text !== 'string') return undefined;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  const result = schema.safeParse(data);
  return result.success ? result.data : undefined;
}

/**
 * A session machine checkpoint as read from Redis (only the collector reads
 * its own). One written before the price clock was corrected names its
 * intervals by their end (`intervalEndMs`): the open session carries on
 * across the upgrade with its intervals renamed by their stamp (start), the
 * same energy in the same five minutes.
 */
export function checkpointFromJson(text: string): SessionMachineState {
  const state = JSON.parse(text) as SessionMachineState;
  const intervals = state.session?.energyByInterval as
    | ({ intervalEndMs?: number } & Record<string, number>)[]
    | undefined;
  if (state.session && intervals?.some((entry) => typeof entry.intervalEndMs === 'number')) {
    state.session.energyByInterval = intervals.map((entry) =>
      typeof entry.intervalEndMs === 'number'
        ? { startMs: entry.intervalEndMs - FIVE_MINUTES_MS, energyWh: entry.energyWh as number }
        : { startMs: entry.startMs as number, energyWh: entry.energyWh as number },
    );
  }
  return state;
}
