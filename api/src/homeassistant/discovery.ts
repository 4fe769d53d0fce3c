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
 * - a sensor's state `None` sets it to unknown.
 */

import { evseStateName } from '@twc/core/charger/normalize';
import type { ChargerStatus, CurrentPrice, LiveSession, LiveVitals } from '@twc/core/contracts/redis';
import { currentHourAverage } from '@twc/core/prices/current-price';
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

export type Component = 'sensor' | 'binary_sensor';

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

export function chargerStateTopic(settings: BridgeTopicSettings, chargerId: string, key: string): string {
  return `${settings.topicRoot}/${topicId(chargerId)}/${key}`;
}

export function priceStateTopic(settings: BridgeTopicSettings, key: string): string {
  return `${settings.topicRoot}/price/${key}`;
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
  fields: { uniqueId: string; stateTopic: string; availability: string[]; device: object; origin: Origin },
): Record<string, unknown> {
  const config: Record<string, unknown> = {
    name: spec.name,
    unique_id: fields.uniqueId,
    state_topic: fields.stateTopic,
  };
  for (const key of [
    'device_class',
    'state_class',
    'unit_of_measurement',
    'options',
    'entity_category',
    'value_template',
    'last_reset_value_template',
  ] as const) {
    if (spec[key] !== undefined) config[key] = spec[key];
  }
  config.availability = fields.availability.map((topic) => ({ topic }));
  config.availability_mode = 'all';
  config.device = fields.device;
  config.origin = fields.origin;
  return config;
}

export function chargerEntities(withInfluxReadings: boolean): EntitySpec[] {
  return CHARGER_ENTITIES.filter((spec) => withInfluxReadings || !spec.fromInflux);
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

/** The discovery configs of one charger's entities; JSON payloads, in CHARGER_ENTITIES order. */
export function chargerDiscovery(options: DiscoveryOptions, status: ChargerStatus): TopicMessage[] {
  const device = chargerDevice(status);
  const bridge = bridgeAvailabilityTopic(options);
  const charger = chargerAvailabilityTopic(options, status.charger_id);
  return chargerEntities(options.withInfluxReadings).map((spec) => {
    const uniqueId = chargerUniqueId(status.charger_id, spec.key);
    return {
      topic: discoveryTopic(options, spec.component, uniqueId),
      payload: JSON.stringify(
        entityConfig(spec, {
          uniqueId,
          stateTopic: chargerStateTopic(options, status.charger_id, spec.key),
          availability: spec.followsCharger ? [bridge, charger] : [bridge],
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

export function priceDiscovery(options: DiscoveryOptions): TopicMessage[] {
  const device = priceDevice();
  const availability = [bridgeAvailabilityTopic(options), priceAvailabilityTopic(options)];
  return PRICE_ENTITIES.map((spec) => {
    const uniqueId = `${PRICE_DEVICE_ID}_${spec.key}`;
    return {
      topic: discoveryTopic(options, spec.component, uniqueId),
      payload: JSON.stringify(
        entityConfig(spec, {
          uniqueId,
          stateTopic: priceStateTopic(options, spec.key),
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

/** Price entities are unavailable while the feed is stale or empty: an old price is not the current one. */
export function priceAvailability(price: CurrentPrice | undefined): string {
  return price && !price.stale && price.five_minute ? ONLINE : OFFLINE;
}

/** Every retained topic the bridge may publish for a charger: discovery, states and availability. */
export function chargerRetainedTopics(options: DiscoveryOptions, chargerId: string, discovery: boolean): string[] {
  const specs = chargerEntities(options.withInfluxReadings);
  const topics = specs.map((spec) => chargerStateTopic(options, chargerId, spec.key));
  topics.push(chargerAvailabilityTopic(options, chargerId));
  if (discovery) {
    for (const spec of specs) {
      topics.push(discoveryTopic(options, spec.component, chargerUniqueId(chargerId, spec.key)));
    }
  }
  return topics;
}

export function priceRetainedTopics(options: DiscoveryOptions, discovery: boolean): string[] {
  const topics = PRICE_ENTITIES.map((spec) => priceStateTopic(options, spec.key));
  topics.push(priceAvailabilityTopic(options));
  if (discovery) {
    for (const spec of PRICE_ENTITIES) {
      topics.push(discoveryTopic(options, spec.component, `${PRICE_DEVICE_ID}_${spec.key}`));
    }
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
