/**
 * What the bridge publishes for Home Assistant, as pure functions of the live
 * state: the MQTT discovery configs (one HA device per charger, one for the
 * ComEd price) and the state payloads. No I/O here.
 *
 * Home Assistant rules encoded here (MQTT integration and sensor docs):
 * - discovery topic `<prefix>/<component>/<object_id>/config`, object_id
 *   limited to [a-zA-Z0-9_-];
 * - the Energy dashboard takes energy sensors with device_class energy,
 *   state_class total or total_increasing and a Wh/kWh unit, and a price
 *   entity whose unit ends in `/kWh` (a currency per kWh);
 * - device_class monetary requires an ISO 4217 unit and state_class total or
 *   none, so the prices (USD/kWh) carry no device class;
 * - state_class measurement is for a value of the present, not a prediction:
 *   the forecast of tonight has none;
 * - device_class timestamp takes an ISO 8601 instant with its offset, and no
 *   unit or state class;
 * - json_attributes_topic takes a JSON object, shown as the entity's attributes;
 * - a sensor's state `None` sets it to unknown; so does it for a switch, a
 *   number (its payload_reset) and a select (whose other states must be one
 *   of its options);
 * - the controls (switch, number, select, button) publish to their
 *   command_topic, not retained; a button has no state topic, a number
 *   takes min, max and step, a select its options.
 */

import { evseStateName } from '@twc/core/charger/normalize';
import {
  type ChargerStatus,
  type CurrentPrice,
  type LiveSession,
  type LiveVitals,
  type PlanSettings,
  type PlanState,
  type PriceForecast,
  planStateSchema,
} from '@twc/core/contracts/redis';
import { isPlanStale } from '@twc/core/planning/plan-settings';
import { HOUR_MS, hourEndingOf } from '@twc/core/prices/comed-clock';
import { currentHourAverage } from '@twc/core/prices/current-price';
import { isForecastStale } from '@twc/core/prices/forecast-snapshot';
import { isPriceStale } from '@twc/core/prices/price-plan';
import { addersCentsPerKwh, type Tariff } from '@twc/core/prices/pricing';

export const PAYLOAD_NONE = 'None';
export const ONLINE = 'online';
export const OFFLINE = 'offline';

export interface BridgeTopicSettings {
  discoveryPrefix: string;
  topicRoot: string;
}

export interface Origin {
  name: string;
  sw_version: string;
  support_url?: string;
}

export type Component = 'sensor' | 'binary_sensor' | 'switch' | 'number' | 'select' | 'button';

export interface EntitySpec {
  key: string;
  component: Component;
  name: string;
  device_class?: string;
  state_class?: 'measurement' | 'total' | 'total_increasing';
  unit_of_measurement?: string;
  options?: string[];
  entity_category?: 'diagnostic';
  value_template?: string;
  last_reset_value_template?: string;
  /** True when the value goes stale while the charger is offline (all but `online` itself). */
  followsCharger: boolean;
  /** Values only InfluxDB holds (lifetime counters, Wi-Fi): published only when the bridge can read them. */
  fromInflux?: boolean;
  /** Has a JSON attributes topic besides its state topic. */
  withAttributes?: boolean;
  /** Unavailable while the planner's state is stale (isPlanStale): a plan nobody keeps true is not the plan. */
  followsPlan?: boolean;
  /** A control: Home Assistant publishes to `<state topic>/set`. */
  command?: boolean;
  /** A button: a command topic and no state. */
  stateless?: boolean;
  payload_on?: string;
  payload_off?: string;
  payload_press?: string;
  min?: number;
  max?: number;
  step?: number;
  mode?: 'auto' | 'box' | 'slider';
}

/**
 * The EVSE state names the collector can report (normalize.ts owns the
 * mapping). `unknown` is left out: it is published as `None` so Home
 * Assistant shows the state as unknown instead of rejecting a value that is
 * not among the enum's options.
 */
export const EVSE_STATE_OPTIONS: readonly string[] = [
  ...new Set(Array.from({ length: 64 }, (_, code) => evseStateName(code)).filter((name) => name !== 'unknown')),
];

export const CHARGER_ENTITIES: readonly EntitySpec[] = [
  {
    key: 'power',
    component: 'sensor',
    name: 'Power',
    device_class: 'power',
    state_class: 'measurement',
    unit_of_measurement: 'W',
    followsCharger: true,
  },
  {
    key: 'session_energy',
    component: 'sensor',
    name: 'Session energy',
    device_class: 'energy',
    // Drops to 0 when a new session starts: total_increasing reads a drop as a meter reset.
    state_class: 'total_increasing',
    unit_of_measurement: 'Wh',
    followsCharger: true,
  },
  {
    key: 'lifetime_energy',
    component: 'sensor',
    name: 'Lifetime energy',
    device_class: 'energy',
    state_class: 'total_increasing',
    unit_of_measurement: 'Wh',
    followsCharger: true,
    fromInflux: true,
  },
  {
    key: 'session_cost',
    component: 'sensor',
    name: 'Session cost',
    device_class: 'monetary',
    // monetary allows only `total`; last_reset marks where each session's total starts.
    state_class: 'total',
    unit_of_measurement: 'USD',
    value_template: '{{ value_json.cost_usd }}',
    last_reset_value_template: '{{ value_json.last_reset }}',
    followsCharger: true,
  },
  {
    key: 'state',
    component: 'sensor',
    name: 'State',
    device_class: 'enum',
    options: [...EVSE_STATE_OPTIONS],
    followsCharger: true,
  },
  {
    key: 'handle_temperature',
    component: 'sensor',
    name: 'Handle temperature',
    device_class: 'temperature',
    state_class: 'measurement',
    unit_of_measurement: '°C',
    followsCharger: true,
  },
  {
    key: 'grid_voltage',
    component: 'sensor',
    name: 'Grid voltage',
    device_class: 'voltage',
    state_class: 'measurement',
    unit_of_measurement: 'V',
    followsCharger: true,
  },
  {
    key: 'current',
    component: 'sensor',
    name: 'Current',
    device_class: 'current',
    state_class: 'measurement',
    unit_of_measurement: 'A',
    followsCharger: true,
  },
  {
    // The device's 0-100 link quality figure, not dBm: no signal_strength device class.
    key: 'wifi_signal',
    component: 'sensor',
    name: 'Wi-Fi signal',
    state_class: 'measurement',
    unit_of_measurement: '%',
    entity_category: 'diagnostic',
    followsCharger: true,
    fromInflux: true,
  },
  {
    key: 'vehicle_connected',
    component: 'binary_sensor',
    name: 'Vehicle connected',
    device_class: 'plug',
    followsCharger: true,
  },
  {
    key: 'charging',
    component: 'binary_sensor',
    name: 'Charging',
    device_class: 'battery_charging',
    followsCharger: true,
  },
  {
    // Stays available while the charger is offline: reporting that is its job.
    key: 'online',
    component: 'binary_sensor',
    name: 'Online',
    device_class: 'connectivity',
    entity_category: 'diagnostic',
    followsCharger: false,
  },
];

/** The ready-by choices offered in Home Assistant: no departure, or every half hour of the day. */
export const READY_BY_OFF = 'off';
export const READY_BY_OPTIONS: readonly string[] = [
  READY_BY_OFF,
  ...Array.from(
    { length: 48 },
    (_, index) => `${String(Math.floor(index / 2)).padStart(2, '0')}:${index % 2 === 0 ? '00' : '30'}`,
  ),
];

/** PlanSettings.target.unit as Home Assistant shows it. */
export const TARGET_UNIT_OPTIONS = { kwh: 'kWh', percent: '%' } as const;

/** Weekday indexes of PlanSettings.ready_by (Sunday first). */
export const WEEKDAYS: readonly number[] = [1, 2, 3, 4, 5];
export const WEEKEND_DAYS: readonly number[] = [0, 6];

export const PLAN_STATUS_OPTIONS: readonly string[] = planStateSchema.shape.status.options;

/**
 * Smart charging, on each charger's device: the user's settings as controls
 * (available while the bridge is: the settings stand in Redis whether the
 * planner runs or not, and it reads them when it does), and the planner's
 * state, available while the planner keeps it fresh.
 */
export const PLAN_ENTITIES: readonly EntitySpec[] = [
  {
    key: 'smart_charging',
    component: 'switch',
    name: 'Smart charging',
    command: true,
    payload_on: 'ON',
    payload_off: 'OFF',
    followsCharger: false,
  },
  {
    // Its unit is the "Target unit" select's: a number's unit is fixed in its config.
    key: 'charge_target',
    component: 'number',
    name: 'Charge target',
    command: true,
    // PlanSettings.target.value: positive, at most 200 (kWh; a percent counts up to 100).
    min: 1,
    max: 200,
    step: 1,
    mode: 'box',
    followsCharger: false,
  },
  {
    key: 'target_unit',
    component: 'select',
    name: 'Target unit',
    command: true,
    options: Object.values(TARGET_UNIT_OPTIONS),
    followsCharger: false,
  },
  {
    // Home Assistant's MQTT integration has no `time` platform to discover: a select of half hours.
    key: 'ready_by_weekdays',
    component: 'select',
    name: 'Ready by (weekdays)',
    command: true,
    options: [...READY_BY_OPTIONS],
    followsCharger: false,
  },
  {
    key: 'ready_by_weekends',
    component: 'select',
    name: 'Ready by (weekends)',
    command: true,
    options: [...READY_BY_OPTIONS],
    followsCharger: false,
  },
  {
    key: 'charge_now',
    component: 'button',
    name: 'Charge now',
    command: true,
    stateless: true,
    payload_press: 'PRESS',
    followsCharger: false,
  },
  {
    key: 'resume_plan',
    component: 'button',
    name: 'Resume plan',
    command: true,
    stateless: true,
    payload_press: 'PRESS',
    followsCharger: false,
  },
  {
    key: 'smart_charging_status',
    component: 'sensor',
    name: 'Smart charging status',
    device_class: 'enum',
    options: [...PLAN_STATUS_OPTIONS],
    followsCharger: false,
    followsPlan: true,
  },
  {
    // What an automation of the `mqtt` controller mode turns the car's charging on and off from.
    key: 'charging_allowed',
    component: 'binary_sensor',
    name: 'Charging allowed now',
    followsCharger: false,
    followsPlan: true,
  },
  {
    key: 'planned_start',
    component: 'sensor',
    name: 'Planned start',
    device_class: 'timestamp',
    followsCharger: false,
    followsPlan: true,
  },
  {
    key: 'planned_end',
    component: 'sensor',
    name: 'Planned end',
    device_class: 'timestamp',
    followsCharger: false,
    followsPlan: true,
  },
  {
    // A prediction: monetary allows no state class but `total`, and a forecast is no total; none, then.
    key: 'planned_cost',
    component: 'sensor',
    name: 'Planned cost',
    device_class: 'monetary',
    unit_of_measurement: 'USD',
    followsCharger: false,
    followsPlan: true,
  },
  {
    key: 'plan_saving',
    component: 'sensor',
    name: 'Plan saving',
    device_class: 'monetary',
    unit_of_measurement: 'USD',
    followsCharger: false,
    followsPlan: true,
  },
];

export const PRICE_DEVICE_ID = 'twc_comed_price';

export const PRICE_ENTITIES: readonly EntitySpec[] = [
  {
    key: 'five_minute_price',
    component: 'sensor',
    name: '5-minute price',
    state_class: 'measurement',
    unit_of_measurement: 'USD/kWh',
    followsCharger: false,
  },
  {
    key: 'hour_average_price',
    component: 'sensor',
    name: 'Hour average price',
    state_class: 'measurement',
    unit_of_measurement: 'USD/kWh',
    followsCharger: false,
  },
  {
    key: 'all_in_price',
    component: 'sensor',
    name: 'All-in price',
    state_class: 'measurement',
    unit_of_measurement: 'USD/kWh',
    followsCharger: false,
  },
];

/** The forecast entity whose attributes carry the hours ahead and tonight's window. */
export const FORECAST_ATTRIBUTES_KEY = 'tonight_average_price';

/** How many hours, the current one first, the forecast's attributes carry. */
export const FORECAST_ATTRIBUTE_HOURS = 24;

/**
 * The forecast's entities, on the price device, available while the
 * poller's forecast is fresh (isForecastStale).
 */
export const FORECAST_ENTITIES: readonly EntitySpec[] = [
  {
    // ComEd's day-ahead price of the current hour: the price of the present, as the hour average is.
    key: 'day_ahead_price',
    component: 'sensor',
    name: 'Day-ahead price this hour',
    state_class: 'measurement',
    unit_of_measurement: 'USD/kWh',
    followsCharger: false,
  },
  {
    key: 'cheapest_window_start',
    component: 'sensor',
    name: 'Cheapest window start',
    device_class: 'timestamp',
    followsCharger: false,
  },
  {
    key: 'cheapest_window_end',
    component: 'sensor',
    name: 'Cheapest window end',
    device_class: 'timestamp',
    followsCharger: false,
  },
  {
    // A prediction: no state class, so no long-term statistics.
    key: FORECAST_ATTRIBUTES_KEY,
    component: 'sensor',
    name: 'Forecast average tonight',
    unit_of_measurement: 'USD/kWh',
    followsCharger: false,
    withAttributes: true,
  },
];

/** The charger id as one topic level and inside object ids: Home Assistant allows only [a-zA-Z0-9_-]. */
export function topicId(chargerId: string): string {
  return chargerId.replace(/[^A-Za-z0-9_-]/g, '_');
}

export function bridgeAvailabilityTopic(settings: BridgeTopicSettings): string {
  return `${settings.topicRoot}/bridge/availability`;
}

export function chargerAvailabilityTopic(settings: BridgeTopicSettings, chargerId: string): string {
  return `${settings.topicRoot}/${topicId(chargerId)}/availability`;
}

export function priceAvailabilityTopic(settings: BridgeTopicSettings): string {
  return `${settings.topicRoot}/price/availability`;
}

export function planAvailabilityTopic(settings: BridgeTopicSettings, chargerId: string): string {
  return `${settings.topicRoot}/${topicId(chargerId)}/plan/availability`;
}

export function chargerCommandTopic(settings: BridgeTopicSettings, chargerId: string, key: string): string {
  return `${chargerStateTopic(settings, chargerId, key)}/set`;
}

/** Every command topic of every charger, as one subscription. */
export function commandTopicFilter(settings: BridgeTopicSettings): string {
  return `${settings.topicRoot}/+/+/set`;
}

/** The charger (among `chargerIds`) and entity a command topic names; undefined when it names none. */
export function parseCommandTopic(
  settings: BridgeTopicSettings,
  chargerIds: Iterable<string>,
  topic: string,
): { chargerId: string; key: string } | undefined {
  const root = `${settings.topicRoot}/`;
  if (!topic.startsWith(root) || !topic.endsWith('/set')) return undefined;
  const levels = topic.slice(root.length, -'/set'.length).split('/');
  if (levels.length !== 2) return undefined;
  const [level, key] = levels as [string, string];
  const spec = PLAN_ENTITIES.find((entity) => entity.key === key && entity.command);
  if (!spec) return undefined;
  for (const chargerId of chargerIds) if (topicId(chargerId) === level) return { chargerId, key };
  return undefined;
}

export function forecastAvailabilityTopic(settings: BridgeTopicSettings): string {
  return `${settings.topicRoot}/price/forecast/availability`;
}

export function chargerStateTopic(settings: BridgeTopicSettings, chargerId: string, key: string): string {
  return `${settings.topicRoot}/${topicId(chargerId)}/${key}`;
}

export function priceStateTopic(settings: BridgeTopicSettings, key: string): string {
  return `${settings.topicRoot}/price/${key}`;
}

export function priceAttributesTopic(settings: BridgeTopicSettings, key: string): string {
  return `${priceStateTopic(settings, key)}/attributes`;
}

export function birthTopic(settings: BridgeTopicSettings): string {
  return `${settings.discoveryPrefix}/status`;
}

export function chargerUniqueId(chargerId: string, key: string): string {
  return `twc_${topicId(chargerId)}_${key}`;
}

export function discoveryTopic(settings: BridgeTopicSettings, component: Component, uniqueId: string): string {
  return `${settings.discoveryPrefix}/${component}/${uniqueId}/config`;
}

export interface TopicMessage {
  topic: string;
  payload: string;
}

export interface DiscoveryOptions extends BridgeTopicSettings {
  origin: Origin;
  /** Whether lifetime energy and Wi-Fi signal can be read (from InfluxDB). */
  withInfluxReadings: boolean;
}

function entityConfig(
  spec: EntitySpec,
  fields: {
    uniqueId: string;
    stateTopic: string;
    commandTopic?: string;
    attributesTopic?: string;
    availability: string[];
    device: object;
    origin: Origin;
  },
): Record<string, unknown> {
  const config: Record<string, unknown> = { name: spec.name, unique_id: fields.uniqueId };
  if (!spec.stateless) config.state_topic = fields.stateTopic;
  if (fields.commandTopic !== undefined) config.command_topic = fields.commandTopic;
  if (fields.attributesTopic !== undefined) config.json_attributes_topic = fields.attributesTopic;
  for (const key of [
    'device_class',
    'state_class',
    'unit_of_measurement',
    'options',
    'entity_category',
    'value_template',
    'last_reset_value_template',
    'payload_on',
    'payload_off',
    'payload_press',
    'min',
    'max',
    'step',
    'mode',
  ] as const) {
    if (spec[key] !== undefined) config[key] = spec[key];
  }
  config.availability = fields.availability.map((topic) => ({ topic }));
  config.availability_mode = 'all';
  config.device = fields.device;
  config.origin = fields.origin;
  return config;
}

/** Every entity of a charger's device: its readings, then smart charging. */
export function chargerEntities(withInfluxReadings: boolean): EntitySpec[] {
  return [...CHARGER_ENTITIES.filter((spec) => withInfluxReadings || !spec.fromInflux), ...PLAN_ENTITIES];
}

export function chargerDevice(status: ChargerStatus): Record<string, unknown> {
  const device: Record<string, unknown> = {
    identifiers: [`twc_${topicId(status.serial_number)}`],
    name: status.charger_name,
    manufacturer: 'Tesla',
    model: 'Wall Connector Gen 3',
    serial_number: status.serial_number,
  };
  if (status.firmware_version) device.sw_version = status.firmware_version;
  return device;
}

/** The discovery configs of one charger's entities; JSON payloads, in CHARGER_ENTITIES then PLAN_ENTITIES order. */
export function chargerDiscovery(options: DiscoveryOptions, status: ChargerStatus): TopicMessage[] {
  const device = chargerDevice(status);
  const bridge = bridgeAvailabilityTopic(options);
  const charger = chargerAvailabilityTopic(options, status.charger_id);
  const plan = planAvailabilityTopic(options, status.charger_id);
  return chargerEntities(options.withInfluxReadings).map((spec) => {
    const uniqueId = chargerUniqueId(status.charger_id, spec.key);
    return {
      topic: discoveryTopic(options, spec.component, uniqueId),
      payload: JSON.stringify(
        entityConfig(spec, {
          uniqueId,
          stateTopic: chargerStateTopic(options, status.charger_id, spec.key),
          ...(spec.command ? { commandTopic: chargerCommandTopic(options, status.charger_id, spec.key) } : {}),
          availability: spec.followsCharger ? [bridge, charger] : spec.followsPlan ? [bridge, plan] : [bridge],
          device,
          origin: options.origin,
        }),
      ),
    };
  });
}

export function priceDevice(): Record<string, unknown> {
  return {
    identifiers: [PRICE_DEVICE_ID],
    name: 'ComEd Hourly Pricing',
    manufacturer: 'ComEd',
    model: 'Hourly Pricing',
  };
}

export function priceUniqueId(key: string): string {
  return `${PRICE_DEVICE_ID}_${key}`;
}

/** The discovery configs of the price device: the current price's entities, then the forecast's. */
export function priceDiscovery(options: DiscoveryOptions): TopicMessage[] {
  const device = priceDevice();
  const bridge = bridgeAvailabilityTopic(options);
  const entities = [
    ...PRICE_ENTITIES.map((spec) => ({ spec, availability: [bridge, priceAvailabilityTopic(options)] })),
    ...FORECAST_ENTITIES.map((spec) => ({ spec, availability: [bridge, forecastAvailabilityTopic(options)] })),
  ];
  return entities.map(({ spec, availability }) => {
    const uniqueId = priceUniqueId(spec.key);
    return {
      topic: discoveryTopic(options, spec.component, uniqueId),
      payload: JSON.stringify(
        entityConfig(spec, {
          uniqueId,
          stateTopic: priceStateTopic(options, spec.key),
          ...(spec.withAttributes ? { attributesTopic: priceAttributesTopic(options, spec.key) } : {}),
          availability,
          device,
          origin: options.origin,
        }),
      ),
    };
  });
}

/** The slow readings that live only in InfluxDB. */
export interface ChargerReadings {
  lifetimeEnergyWh: number | null;
  wifiSignalStrength: number | null;
}

export interface ChargerSnapshot {
  status: ChargerStatus;
  vitals?: LiveVitals | undefined;
  session?: LiveSession | undefined;
  readings?: ChargerReadings | undefined;
}

function rounded(value: number | null | undefined, digits: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return PAYLOAD_NONE;
  const factor = 10 ** digits;
  return String(Math.round(value * factor) / factor + 0);
}

const onOff = (value: boolean): string => (value ? 'ON' : 'OFF');

/**
 * The state payload of each entity of a charger, keyed by entity key. An
 * entity whose source has not reported yet is left out (it stays unknown
 * rather than flipping to a made-up value).
 */
export function chargerStates(snapshot: ChargerSnapshot, withInfluxReadings: boolean): Map<string, string> {
  const states = new Map<string, string>();
  states.set('online', onOff(snapshot.status.online));
  const vitals = snapshot.vitals?.vitals;
  if (vitals) {
    states.set('power', rounded(vitals.power_w, 0));
    const name = vitals.evse_state_name;
    states.set('state', EVSE_STATE_OPTIONS.includes(name) ? name : PAYLOAD_NONE);
    states.set('handle_temperature', rounded(vitals.handle_temp_c, 1));
    states.set('grid_voltage', rounded(vitals.grid_v, 1));
    states.set('current', rounded(vitals.vehicle_current_a, 1));
    states.set('vehicle_connected', onOff(vitals.vehicle_connected));
    states.set('charging', onOff(vitals.charging));
  }
  const live = snapshot.session;
  if (live) {
    states.set('session_energy', rounded(live.session.energyWh, 1));
    states.set(
      'session_cost',
      JSON.stringify({
        cost_usd: Math.round(live.cost.totalCostUsd * 10_000) / 10_000 + 0,
        last_reset: new Date(live.session.startTimeMs).toISOString(),
      }),
    );
  }
  if (withInfluxReadings && snapshot.readings) {
    states.set('lifetime_energy', rounded(snapshot.readings.lifetimeEnergyWh, 0));
    states.set('wifi_signal', rounded(snapshot.readings.wifiSignalStrength, 0));
  }
  return states;
}

/** The time set on every one of `days`, when they share one Home Assistant can show; else `None`. */
function readyByOf(settings: PlanSettings, days: readonly number[]): string {
  const times = new Set(days.map((day) => settings.ready_by[day] ?? null));
  if (times.size !== 1) return PAYLOAD_NONE;
  const [time] = times;
  const option = time === null || time === undefined ? READY_BY_OFF : time;
  return READY_BY_OPTIONS.includes(option) ? option : PAYLOAD_NONE;
}

/** The smart-charging controls' states: the settings as saved (the defaults while none are). */
export function planSettingsStates(settings: PlanSettings): Map<string, string> {
  const states = new Map<string, string>();
  states.set('smart_charging', onOff(settings.smart_charging));
  const { unit, value } = settings.target;
  states.set('charge_target', value >= 1 && value <= 200 ? rounded(value, 1) : PAYLOAD_NONE);
  states.set('target_unit', TARGET_UNIT_OPTIONS[unit]);
  states.set('ready_by_weekdays', readyByOf(settings, WEEKDAYS));
  states.set('ready_by_weekends', readyByOf(settings, WEEKEND_DAYS));
  return states;
}

/**
 * The planner's state as Home Assistant shows it. The planned start is that
 * of the first run not over at `nowMs` (the one under way included), the
 * planned end that of the last run; `None` without a plan or runs.
 */
export function planStates(state: PlanState, nowMs: number): Map<string, string> {
  const states = new Map<string, string>();
  states.set('smart_charging_status', PLAN_STATUS_OPTIONS.includes(state.status) ? state.status : PAYLOAD_NONE);
  states.set('charging_allowed', onOff(state.charging_allowed));
  const runs = state.plan?.runs ?? [];
  const next = runs.find((run) => Date.parse(run.end) > nowMs);
  states.set('planned_start', next ? instant(next.start) : PAYLOAD_NONE);
  const last = runs.at(-1);
  states.set('planned_end', next && last ? instant(last.end) : PAYLOAD_NONE);
  states.set('planned_cost', state.plan ? rounded(state.plan.expected.total_usd, 2) : PAYLOAD_NONE);
  states.set('plan_saving', state.plan ? rounded(state.plan.saving_usd, 2) : PAYLOAD_NONE);
  return states;
}

/** The planner's entities are unavailable without a state, and while it is stale (the planner stopped). */
export function planAvailability(state: PlanState | undefined, nowMs: number): string {
  return isPlanStale(state, nowMs) ? OFFLINE : ONLINE;
}

/** Cents per kWh to USD per kWh, to a thousandth of a cent. */
function usdPerKwh(cents: number): string {
  return rounded(cents / 100, 5);
}

/**
 * What a kWh costs now, all in: the supply price plus the tariff's per-kWh
 * adders, plus tax on both. The supply price is the running average of the
 * current hour when known, since ComEd Hourly Pricing bills each hour at its
 * average; the latest 5-minute price otherwise.
 */
export function allInCentsPerKwh(price: CurrentPrice, tariff: Tariff): number | undefined {
  const supply = currentHourAverage(price)?.price_cents_kwh ?? price.five_minute?.price_cents_kwh;
  if (supply === undefined) return undefined;
  return (supply + addersCentsPerKwh(tariff)) * (1 + tariff.taxPercent / 100);
}

export function priceStates(price: CurrentPrice, tariff: Tariff): Map<string, string> {
  const states = new Map<string, string>();
  states.set('five_minute_price', price.five_minute ? usdPerKwh(price.five_minute.price_cents_kwh) : PAYLOAD_NONE);
  const average = currentHourAverage(price);
  states.set('hour_average_price', average ? usdPerKwh(average.price_cents_kwh) : PAYLOAD_NONE);
  const allIn = allInCentsPerKwh(price, tariff);
  states.set('all_in_price', allIn === undefined ? PAYLOAD_NONE : usdPerKwh(allIn));
  return states;
}

/**
 * Price entities are unavailable while the feed is stale or empty: an old
 * price is not the current one. Judged at `nowMs`, as the API judges it
 * (isPriceStale), not only by the flag the poller wrote: a stopped poller
 * writes no flag.
 */
export function priceAvailability(price: CurrentPrice | undefined, nowMs: number): string {
  if (!price?.five_minute || price.stale) return OFFLINE;
  return isPriceStale(price.feed_time === null ? undefined : Date.parse(price.feed_time), nowMs) ? OFFLINE : ONLINE;
}

/** Cents per kWh to USD per kWh as a JSON number, to a thousandth of a cent. */
function usdPerKwhNumber(cents: number): number {
  return Math.round((cents / 100) * 100_000) / 100_000 + 0;
}

/**
 * ComEd's day-ahead price of the hour under way at `nowMs`, cents per kWh:
 * the hour's `day_ahead_cents_kwh`, or its estimate when that is the
 * day-ahead price (a forecast written before the field existed).
 */
export function dayAheadCentsThisHour(forecast: PriceForecast, nowMs: number): number | undefined {
  const hourEndingMs = hourEndingOf(nowMs);
  const hour = forecast.hours.find((entry) => Date.parse(entry.hour_ending) === hourEndingMs);
  if (!hour) return undefined;
  return hour.day_ahead_cents_kwh ?? (hour.source === 'day_ahead' ? hour.price_cents_kwh : undefined);
}

/** An instant as Home Assistant's timestamp sensors take it: ISO 8601 in UTC, or `None` when it is not one. */
function instant(text: string): string {
  const timeMs = Date.parse(text);
  return Number.isFinite(timeMs) ? new Date(timeMs).toISOString() : PAYLOAD_NONE;
}

/** The forecast entities' states, keyed by entity key; what the forecast does not have is `None`. */
export function forecastStates(forecast: PriceForecast, nowMs: number): Map<string, string> {
  const states = new Map<string, string>();
  const dayAhead = dayAheadCentsThisHour(forecast, nowMs);
  states.set('day_ahead_price', dayAhead === undefined ? PAYLOAD_NONE : usdPerKwh(dayAhead));
  const { window, avg_price_cents_kwh: average } = forecast.tonight;
  states.set('cheapest_window_start', window ? instant(window.start) : PAYLOAD_NONE);
  states.set('cheapest_window_end', window ? instant(window.end) : PAYLOAD_NONE);
  states.set('tonight_average_price', average === null ? PAYLOAD_NONE : usdPerKwh(average));
  return states;
}

/**
 * The attributes of the tonight entity, a JSON object: the night, its
 * cheapest window, and the estimate of each hour from the current one for
 * FORECAST_ATTRIBUTE_HOURS hours (fewer where the forecast has none), all
 * prices in USD/kWh.
 */
export function forecastAttributes(forecast: PriceForecast, nowMs: number): string {
  const lastHourEndingMs = hourEndingOf(nowMs) + (FORECAST_ATTRIBUTE_HOURS - 1) * HOUR_MS;
  const { from, until, window } = forecast.tonight;
  return JSON.stringify({
    from,
    until,
    window: window && {
      start: window.start,
      end: window.end,
      hours: window.hours,
      avg_price: usdPerKwhNumber(window.avg_price_cents_kwh),
      sources: window.sources,
    },
    hours: forecast.hours
      .filter((hour) => {
        const hourEndingMs = Date.parse(hour.hour_ending);
        return hourEndingMs > nowMs && hourEndingMs <= lastHourEndingMs;
      })
      .map((hour) => ({
        hour_ending: hour.hour_ending,
        price: usdPerKwhNumber(hour.price_cents_kwh),
        source: hour.source,
        low: usdPerKwhNumber(hour.low_cents_kwh),
        high: usdPerKwhNumber(hour.high_cents_kwh),
      })),
  });
}

/** Forecast entities are unavailable without a forecast, and while it is stale (the poller stopped, or the feed). */
export function forecastAvailability(forecast: PriceForecast | undefined, nowMs: number): string {
  return forecast && !isForecastStale(forecast, nowMs) ? ONLINE : OFFLINE;
}

/** Every retained topic the bridge may publish for a charger: discovery, states and availability. */
export function chargerRetainedTopics(options: DiscoveryOptions, chargerId: string, discovery: boolean): string[] {
  const specs = chargerEntities(options.withInfluxReadings);
  const topics = specs.filter((spec) => !spec.stateless).map((spec) => chargerStateTopic(options, chargerId, spec.key));
  topics.push(chargerAvailabilityTopic(options, chargerId), planAvailabilityTopic(options, chargerId));
  if (discovery) {
    for (const spec of specs) {
      topics.push(discoveryTopic(options, spec.component, chargerUniqueId(chargerId, spec.key)));
    }
  }
  return topics;
}

export function priceRetainedTopics(options: DiscoveryOptions, discovery: boolean): string[] {
  const specs = [...PRICE_ENTITIES, ...FORECAST_ENTITIES];
  const topics = specs.map((spec) => priceStateTopic(options, spec.key));
  for (const spec of specs) if (spec.withAttributes) topics.push(priceAttributesTopic(options, spec.key));
  topics.push(priceAvailabilityTopic(options), forecastAvailabilityTopic(options));
  if (discovery) {
    for (const spec of specs) topics.push(discoveryTopic(options, spec.component, priceUniqueId(spec.key)));
  }
  return topics;
}

/**
 * Retained topics published before and no longer wanted, discovery configs
 * first: Home Assistant removes an entity on an empty config, and its state
 * topics are cleared after it is gone.
 */
export function topicsToClear(published: Iterable<string>, wanted: ReadonlySet<string>): string[] {
  const stale = [...published].filter((topic) => !wanted.has(topic));
  const isDiscovery = (topic: string) => topic.endsWith('/config');
  return [...stale.filter(isDiscovery).sort(), ...stale.filter((topic) => !isDiscovery(topic)).sort()];
}
