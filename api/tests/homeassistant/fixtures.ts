import { vitalsSchema } from '@twc/core/charger/models';
import { normalizeVitals } from '@twc/core/charger/normalize';
import type {
  ChargerStatus,
  CurrentPrice,
  LiveSession,
  LiveVitals,
  PlanState,
  PriceForecast,
} from '@twc/core/contracts/redis';
import { HOUR_MS, hourEndingOf } from '@twc/core/prices/comed-clock';
import { servers } from '@twc/testenv/vitest';
import { type HomeAssistantConfig, loadHomeAssistantConfig } from '../../src/homeassistant/config.js';

/** A charging split-phase unit, as in the Wall Connector reference payloads. */
export const CHARGING_VITALS = vitalsSchema.parse({
  contactor_closed: true,
  vehicle_connected: true,
  session_s: 74868,
  grid_v: 238.5,
  grid_hz: 59.918,
  vehicle_current_a: 30.8,
  currentA_a: 11.4,
  currentB_a: 13.1,
  currentC_a: 12.7,
  currentN_a: 11.8,
  voltageA_v: 242.6,
  voltageB_v: 242.7,
  voltageC_v: 119.2,
  relay_coil_v: 6.1,
  pcba_temp_c: 17.9,
  handle_temp_c: 15.5,
  mcu_temp_c: 22.8,
  uptime_s: 1292309,
  session_energy_wh: 683.8,
  config_status: 5,
  evse_state: 11,
  current_alerts: [],
});

export function status(chargerId: string, name: string, overrides: Partial<ChargerStatus> = {}): ChargerStatus {
  return {
    charger_id: chargerId,
    charger_name: name,
    host: '192.168.1.50',
    serial_number: chargerId,
    firmware_version: '24.44.1+g2c8b3a1',
    part_number: '1529455-02-D',
    online: true,
    consecutive_failures: 0,
    last_error: null,
    last_seen: '2025-07-14T17:00:00.000Z',
    updated: '2025-07-14T17:00:00.000Z',
    ...overrides,
  };
}

export function liveVitals(chargerId: string, name: string, time: Date, overrides: Record<string, unknown> = {}) {
  const sample: LiveVitals = {
    charger_id: chargerId,
    charger_name: name,
    time: time.toISOString(),
    vitals: { ...normalizeVitals(CHARGING_VITALS), ...overrides },
  };
  return sample;
}

export const SESSION_START_MS = Date.parse('2025-07-14T16:02:11.000Z');

export function liveSession(chargerId: string, name: string, updated: Date): LiveSession {
  return {
    charger_id: chargerId,
    charger_name: name,
    open: true,
    session: {
      id: `${chargerId}-${SESSION_START_MS}`,
      chargerId,
      startTimeMs: SESSION_START_MS,
      endTimeMs: null,
      endReason: null,
      lastSampleMs: updated.getTime(),
      observedFromPlugIn: true,
      unobservedCounterWh: null,
      durationS: 3600,
      chargingS: 3400,
      energyWh: 683.8,
      peakPowerW: 7400,
      avgPowerW: 724,
      maxHandleTempC: 15.5,
      gaps: [],
      segments: 1,
      energyByInterval: [],
    },
    cost: {
      energyWh: 683.8,
      unpricedEnergyWh: 0,
      avgPriceCentsKwh: 4.2,
      supplyCostUsd: 0.02872,
      addersCostUsd: 0.067696,
      taxUsd: 0.004821,
      totalCostUsd: 0.101237,
      provisional: false,
    },
    updated: updated.toISOString(),
  };
}

/**
 * The current price as the poller writes it at `updated`: the newest
 * 5-minute price stamped on the last five-minute mark at least a minute
 * before (2025-07-14T17:06 gives 17:05, in the hour ending 18:00).
 */
export function currentPrice(updated: Date, overrides: Partial<CurrentPrice> = {}): CurrentPrice {
  const stampMs = Math.floor((updated.getTime() - 60_000) / 300_000) * 300_000;
  const stamp = new Date(stampMs).toISOString();
  return {
    five_minute: { time: stamp, price_cents_kwh: 3.9 },
    hour_average: { time: stamp, hour_ending: new Date(hourEndingOf(stampMs)).toISOString(), price_cents_kwh: 4.2 },
    feed_time: stamp,
    stale: false,
    updated: updated.toISOString(),
    ...overrides,
  };
}

/** 17:40 Central on a winter day: the current hour ends at 18:00 (00:00 UTC). */
export const FORECAST_NOW_MS = Date.parse('2026-01-15T23:40:00.000Z');

/**
 * A forecast as the price poller writes it, computed at `computedAtMs` with
 * the feed five minutes behind: 30 hours from the current one, which is
 * running (3.1 cents, its day-ahead price 2.9), then day-ahead prices for 17
 * hours and the forecast after them, at 2 + 0.1 x the hour's index cents.
 */
export function priceForecast(computedAtMs: number, overrides: Partial<PriceForecast> = {}): PriceForecast {
  const currentHourEndingMs = hourEndingOf(computedAtMs);
  const iso = (timeMs: number) => new Date(timeMs).toISOString();
  const hours: PriceForecast['hours'] = [
    {
      hour_ending: iso(currentHourEndingMs),
      price_cents_kwh: 3.1,
      source: 'running',
      low_cents_kwh: 2.6,
      high_cents_kwh: 3.6,
      day_ahead_cents_kwh: 2.9,
    },
  ];
  for (let index = 1; index < 30; index++) {
    const price = 2 + index / 10;
    const dayAhead = index <= 17;
    hours.push({
      hour_ending: iso(currentHourEndingMs + index * HOUR_MS),
      price_cents_kwh: price,
      source: dayAhead ? 'day_ahead' : 'forecast',
      low_cents_kwh: price + (dayAhead ? -1.5 : -2.5),
      high_cents_kwh: price + (dayAhead ? 1.5 : 3.5),
      ...(dayAhead ? { day_ahead_cents_kwh: price } : {}),
    });
  }
  return {
    computed_at: iso(computedAtMs),
    feed_time: iso(computedAtMs - 5 * 60_000),
    hours,
    errors: { day_ahead: { low: -1.5, high: 1.5 }, forecast: { low: -2.5, high: 3.5 }, measured_days: 0 },
    tonight: {
      from: '2026-01-16T00:00:00.000Z',
      until: '2026-01-16T13:00:00.000Z',
      avg_price_cents_kwh: 2.65,
      window: {
        start: '2026-01-16T01:00:00.000Z',
        end: '2026-01-16T05:00:00.000Z',
        hours: 4,
        avg_price_cents_kwh: 2.25,
        sources: ['day_ahead'],
      },
    },
    ...overrides,
  };
}

/** The discovery configs of the forecast entities, written out field by field, by discovery topic. */
export function expectedForecastConfigs(
  discoveryPrefix: string,
  topicRoot: string,
  origin: Record<string, string>,
): Record<string, Record<string, unknown>> {
  const common = (key: string) => ({
    unique_id: `twc_comed_price_${key}`,
    state_topic: `${topicRoot}/price/${key}`,
    availability: [
      { topic: `${topicRoot}/bridge/availability` },
      { topic: `${topicRoot}/price/forecast/availability` },
    ],
    availability_mode: 'all',
    device: {
      identifiers: ['twc_comed_price'],
      name: 'ComEd Hourly Pricing',
      manufacturer: 'ComEd',
      model: 'Hourly Pricing',
    },
    origin,
  });
  return {
    [`${discoveryPrefix}/sensor/twc_comed_price_day_ahead_price/config`]: {
      name: 'Day-ahead price this hour',
      ...common('day_ahead_price'),
      state_class: 'measurement',
      unit_of_measurement: 'USD/kWh',
    },
    [`${discoveryPrefix}/sensor/twc_comed_price_cheapest_window_start/config`]: {
      name: 'Cheapest window start',
      ...common('cheapest_window_start'),
      device_class: 'timestamp',
    },
    [`${discoveryPrefix}/sensor/twc_comed_price_cheapest_window_end/config`]: {
      name: 'Cheapest window end',
      ...common('cheapest_window_end'),
      device_class: 'timestamp',
    },
    [`${discoveryPrefix}/sensor/twc_comed_price_tonight_average_price/config`]: {
      name: 'Forecast average tonight',
      ...common('tonight_average_price'),
      json_attributes_topic: `${topicRoot}/price/tonight_average_price/attributes`,
      unit_of_measurement: 'USD/kWh',
    },
  };
}

/**
 * A planner state as the planner writes it: a car waiting for two cheap runs
 * tonight, 22:00-00:00 and 02:00-03:00 UTC of 2026-01-15/16.
 */
export function planState(chargerId: string, updatedMs: number, overrides: Partial<PlanState> = {}): PlanState {
  return {
    charger_id: chargerId,
    charger_name: 'garage',
    controller: 'mqtt',
    status: 'planned',
    charging_allowed: false,
    reason: 'waiting for the plan',
    need: { energy_kwh: 30, from: 'target', battery_level_pct: null, charge_limit_pct: null },
    power_kw: 11.5,
    departure: '2026-01-16T13:00:00.000Z',
    deadline: '2026-01-16T12:30:00.000Z',
    plan: {
      computed_at: new Date(updatedMs).toISOString(),
      mode: 'planned',
      runs: [
        { start: '2026-01-15T22:00:00.000Z', end: '2026-01-16T00:00:00.000Z' },
        { start: '2026-01-16T02:00:00.000Z', end: '2026-01-16T03:00:00.000Z' },
      ],
      slots: [],
      expected: { energy_kwh: 30, total_usd: 3.456789, avg_price_cents_kwh: 11.52 },
      at_once: { energy_kwh: 30, total_usd: 4.9, avg_price_cents_kwh: 16.33 },
      saving_usd: 1.443211,
      shortfall_kwh: 0,
    },
    control: { last_command: null, failures: 0, stopped_by_us: false, user_override: false, fail_safe: false },
    usage: { calls: {}, failures: 0 },
    last_event: null,
    updated: new Date(updatedMs).toISOString(),
    ...overrides,
  };
}

/** The ready-by options: off, then every half hour. */
export const READY_BY_CHOICES = [
  'off',
  ...Array.from({ length: 24 }, (_, hour) => String(hour).padStart(2, '0')).flatMap((hour) => [
    `${hour}:00`,
    `${hour}:30`,
  ]),
];

/** The smart-charging entities of a charger's device, written out field by field, by discovery topic. */
export function expectedPlanConfigs(
  discoveryPrefix: string,
  topicRoot: string,
  origin: Record<string, string>,
  serial: string,
  device: Record<string, unknown>,
): Record<string, Record<string, unknown>> {
  const bridge = { topic: `${topicRoot}/bridge/availability` };
  const control = (key: string) => ({
    unique_id: `twc_${serial}_${key}`,
    state_topic: `${topicRoot}/${serial}/${key}`,
    command_topic: `${topicRoot}/${serial}/${key}/set`,
    availability: [bridge],
    availability_mode: 'all',
    device,
    origin,
  });
  const button = (key: string) => {
    const { state_topic: _none, ...config } = control(key);
    return { ...config, payload_press: 'PRESS' };
  };
  const planned = (key: string) => ({
    unique_id: `twc_${serial}_${key}`,
    state_topic: `${topicRoot}/${serial}/${key}`,
    availability: [bridge, { topic: `${topicRoot}/${serial}/plan/availability` }],
    availability_mode: 'all',
    device,
    origin,
  });
  const topic = (component: string, key: string) => `${discoveryPrefix}/${component}/twc_${serial}_${key}/config`;
  return {
    [topic('switch', 'smart_charging')]: {
      name: 'Smart charging',
      ...control('smart_charging'),
      payload_on: 'ON',
      payload_off: 'OFF',
    },
    [topic('number', 'charge_target')]: {
      name: 'Charge target',
      ...control('charge_target'),
      min: 1,
      max: 200,
      step: 1,
      mode: 'box',
    },
    [topic('select', 'target_unit')]: { name: 'Target unit', ...control('target_unit'), options: ['kWh', '%'] },
    [topic('select', 'ready_by_weekdays')]: {
      name: 'Ready by (weekdays)',
      ...control('ready_by_weekdays'),
      options: READY_BY_CHOICES,
    },
    [topic('select', 'ready_by_weekends')]: {
      name: 'Ready by (weekends)',
      ...control('ready_by_weekends'),
      options: READY_BY_CHOICES,
    },
    [topic('button', 'charge_now')]: { name: 'Charge now', ...button('charge_now') },
    [topic('button', 'resume_plan')]: { name: 'Resume plan', ...button('resume_plan') },
    [topic('sensor', 'smart_charging_status')]: {
      name: 'Smart charging status',
      ...planned('smart_charging_status'),
      device_class: 'enum',
      options: [
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
      ],
    },
    [topic('binary_sensor', 'charging_allowed')]: { name: 'Charging allowed now', ...planned('charging_allowed') },
    [topic('sensor', 'planned_start')]: {
      name: 'Planned start',
      ...planned('planned_start'),
      device_class: 'timestamp',
    },
    [topic('sensor', 'planned_end')]: { name: 'Planned end', ...planned('planned_end'), device_class: 'timestamp' },
    [topic('sensor', 'planned_cost')]: {
      name: 'Planned cost',
      ...planned('planned_cost'),
      device_class: 'monetary',
      unit_of_measurement: 'USD',
    },
    [topic('sensor', 'plan_saving')]: {
      name: 'Plan saving',
      ...planned('plan_saving'),
      device_class: 'monetary',
      unit_of_measurement: 'USD',
    },
  };
}

/** The bridge's settings as the service would parse them from its environment; no health server. */
export function bridgeConfig(env: Record<string, string>): HomeAssistantConfig {
  return loadHomeAssistantConfig({
    MQTT_URL: servers().mqtt.url,
    REDIS_URL: servers().redis.url,
    HA_STATE_MIN_INTERVAL_S: '0',
    TARIFF_DELIVERY_CENTS_KWH: '7.9',
    TARIFF_OTHER_CENTS_KWH: '2',
    TARIFF_TAX_PERCENT: '5',
    HEALTH_PORT: '0',
    ...env,
  });
}
