/**
 * The bridge's copy of the live state the collector and the price poller keep
 * in Redis, and what Home Assistant should be shown of it: pure functions, no
 * I/O. The Redis adapter reads and parses; this module decides which value
 * stands and turns the state into discovery, availability and state messages
 * (their payloads are discovery.ts's); publish-plan.ts decides what of that
 * goes out.
 */
import type {
  ChargerStatus,
  CurrentPrice,
  LiveSession,
  LiveVitals,
  PlanSettings,
  PlanState,
  PriceForecast,
} from '@twc/core/contracts/redis';
import { defaultPlanSettings } from '@twc/core/planning/plan-settings';
import type { Tariff } from '@twc/core/prices/pricing';
import {
  type ChargerReadings,
  chargerAvailabilityTopic,
  chargerDiscovery,
  chargerRetainedTopics,
  chargerStates,
  chargerStateTopic,
  type DiscoveryOptions,
  FORECAST_ATTRIBUTES_KEY,
  forecastAttributes,
  forecastAvailability,
  forecastAvailabilityTopic,
  forecastStates,
  OFFLINE,
  ONLINE,
  planAvailability,
  planAvailabilityTopic,
  planSettingsStates,
  planStates,
  priceAttributesTopic,
  priceAvailability,
  priceAvailabilityTopic,
  priceDiscovery,
  priceRetainedTopics,
  priceStates,
  priceStateTopic,
} from './discovery.js';
import type { DesiredMessage } from './publish-plan.js';

export interface LiveMirror {
  readonly chargers: ReadonlyMap<string, ChargerStatus>;
  /** False until the charger list has been read once: an unread list is not an empty one. */
  readonly chargersLoaded: boolean;
  readonly vitals: ReadonlyMap<string, LiveVitals>;
  readonly sessions: ReadonlyMap<string, LiveSession>;
  /** Lifetime energy and Wi-Fi signal, read from InfluxDB. */
  readonly readings: ReadonlyMap<string, ChargerReadings>;
  readonly price: CurrentPrice | undefined;
  /** The price poller's forecast of the hours ahead. */
  readonly forecast: PriceForecast | undefined;
  /** The planner's state of each charger. */
  readonly plans: ReadonlyMap<string, PlanState>;
  /** The user's smart-charging settings as saved; a charger without any has the defaults. */
  readonly planSettings: ReadonlyMap<string, PlanSettings>;
}

export const EMPTY_MIRROR: LiveMirror = {
  chargers: new Map(),
  chargersLoaded: false,
  vitals: new Map(),
  sessions: new Map(),
  readings: new Map(),
  price: undefined,
  forecast: undefined,
  plans: new Map(),
  planSettings: new Map(),
};

/** What the bridge shows, fixed at start-up. */
export interface BridgeView {
  discovery: DiscoveryOptions;
  /** Whether discovery configs are published (HA_DISCOVERY); states always are. */
  publishDiscovery: boolean;
  tariff: Tariff;
}

/**
 * Whether `next` is at least as recent as `current`. A value read by the
 * periodic refresh may answer after a newer one arrived by pub/sub on the
 * other connection: the older one must not win.
 */
function notOlder(current: string | undefined, next: string): boolean {
  return current === undefined || Date.parse(next) >= Date.parse(current);
}

function withEntry<V>(map: ReadonlyMap<string, V>, key: string, value: V): Map<string, V> {
  return new Map(map).set(key, value);
}

/** A vitals sample; the same mirror when it is older than the one held. */
export function withVitals(mirror: LiveMirror, sample: LiveVitals): LiveMirror {
  if (!notOlder(mirror.vitals.get(sample.charger_id)?.time, sample.time)) return mirror;
  return { ...mirror, vitals: withEntry(mirror.vitals, sample.charger_id, sample) };
}

/** A live session; the same mirror when it is older than the one held. */
export function withSession(mirror: LiveMirror, live: LiveSession): LiveMirror {
  if (!notOlder(mirror.sessions.get(live.charger_id)?.updated, live.updated)) return mirror;
  return { ...mirror, sessions: withEntry(mirror.sessions, live.charger_id, live) };
}

/** The current price; the same mirror when it is older than the one held. */
export function withPrice(mirror: LiveMirror, price: CurrentPrice): LiveMirror {
  if (!notOlder(mirror.price?.updated, price.updated)) return mirror;
  return { ...mirror, price };
}

/** The forecast; the same mirror when it was computed before the one held. */
export function withForecast(mirror: LiveMirror, forecast: PriceForecast): LiveMirror {
  if (!notOlder(mirror.forecast?.computed_at, forecast.computed_at)) return mirror;
  return { ...mirror, forecast };
}

/** A planner state; the same mirror when it is older than the one held. */
export function withPlan(mirror: LiveMirror, state: PlanState): LiveMirror {
  if (!notOlder(mirror.plans.get(state.charger_id)?.updated, state.updated)) return mirror;
  return { ...mirror, plans: withEntry(mirror.plans, state.charger_id, state) };
}

/**
 * A charger's settings as just read from Redis, which holds the truth: they
 * replace the ones held (undefined: none saved, the defaults apply). No
 * comparison of `updated`: it is the writer's clock, and several processes write.
 */
export function withPlanSettings(
  mirror: LiveMirror,
  chargerId: string,
  settings: PlanSettings | undefined,
): LiveMirror {
  const held = mirror.planSettings.get(chargerId);
  if (held === settings || (held && settings && JSON.stringify(held) === JSON.stringify(settings))) return mirror;
  const planSettings = new Map(mirror.planSettings);
  if (settings) planSettings.set(chargerId, settings);
  else planSettings.delete(chargerId);
  return { ...mirror, planSettings };
}

/** Everything read from Redis at once by the periodic refresh. */
export interface RefreshRead {
  chargers: readonly ChargerStatus[];
  vitals: readonly LiveVitals[];
  sessions: readonly LiveSession[];
  price: CurrentPrice | undefined;
  forecast?: PriceForecast | undefined;
  plans?: readonly PlanState[];
  /** Each charger's saved settings, undefined where none are: every charger of `chargers` read. */
  planSettings?: ReadonlyMap<string, PlanSettings | undefined>;
}

/**
 * The charger list replaces the one held (a charger gone from it is gone,
 * its vitals and session with it); the values read stand where they are not
 * older than the ones held.
 */
export function withRefresh(mirror: LiveMirror, read: RefreshRead): LiveMirror {
  const chargers = new Map(read.chargers.map((status) => [status.charger_id, status]));
  const kept = <V>(map: ReadonlyMap<string, V>) => new Map([...map].filter(([chargerId]) => chargers.has(chargerId)));
  let next: LiveMirror = {
    ...mirror,
    chargers,
    chargersLoaded: true,
    vitals: kept(mirror.vitals),
    sessions: kept(mirror.sessions),
    plans: kept(mirror.plans),
    planSettings: kept(mirror.planSettings),
  };
  for (const sample of read.vitals) if (chargers.has(sample.charger_id)) next = withVitals(next, sample);
  for (const state of read.plans ?? []) if (chargers.has(state.charger_id)) next = withPlan(next, state);
  for (const [chargerId, settings] of read.planSettings ?? []) {
    if (chargers.has(chargerId)) next = withPlanSettings(next, chargerId, settings);
  }
  for (const live of read.sessions) if (chargers.has(live.charger_id)) next = withSession(next, live);
  if (read.price) next = withPrice(next, read.price);
  if (read.forecast) next = withForecast(next, read.forecast);
  return next;
}

/** The latest InfluxDB readings replace the ones held. */
export function withReadings(mirror: LiveMirror, readings: ReadonlyMap<string, ChargerReadings>): LiveMirror {
  return { ...mirror, readings: new Map(readings) };
}

/** One charger's availability and states. */
export function chargerMessages(mirror: LiveMirror, view: BridgeView, chargerId: string): DesiredMessage[] {
  const status = mirror.chargers.get(chargerId);
  if (!status) return [];
  const options = view.discovery;
  const messages: DesiredMessage[] = [
    {
      kind: 'availability',
      topic: chargerAvailabilityTopic(options, chargerId),
      payload: status.online ? ONLINE : OFFLINE,
    },
  ];
  const states = chargerStates(
    {
      status,
      vitals: mirror.vitals.get(chargerId),
      session: mirror.sessions.get(chargerId),
      readings: mirror.readings.get(chargerId),
    },
    options.withInfluxReadings,
  );
  for (const [key, payload] of states) {
    messages.push({ kind: 'state', topic: chargerStateTopic(options, chargerId, key), payload });
  }
  return messages;
}

/**
 * One charger's smart charging as of `nowMs`: the controls' states (the
 * defaults while no settings are saved, as the API shows them), the
 * planner's availability and, once it has written, its states.
 */
export function planMessages(mirror: LiveMirror, view: BridgeView, chargerId: string, nowMs: number): DesiredMessage[] {
  if (!mirror.chargers.has(chargerId)) return [];
  const options = view.discovery;
  const state = mirror.plans.get(chargerId);
  const messages: DesiredMessage[] = [
    {
      kind: 'availability',
      topic: planAvailabilityTopic(options, chargerId),
      payload: planAvailability(state, nowMs),
    },
  ];
  const settings = mirror.planSettings.get(chargerId) ?? defaultPlanSettings(nowMs);
  const states = planSettingsStates(settings);
  if (state) for (const [key, payload] of planStates(state, nowMs)) states.set(key, payload);
  for (const [key, payload] of states) {
    messages.push({ kind: 'state', topic: chargerStateTopic(options, chargerId, key), payload });
  }
  return messages;
}

/** The price availability as of `nowMs` and, once a price is known, its states. */
export function priceMessages(mirror: LiveMirror, view: BridgeView, nowMs: number): DesiredMessage[] {
  const messages: DesiredMessage[] = [
    {
      kind: 'availability',
      topic: priceAvailabilityTopic(view.discovery),
      payload: priceAvailability(mirror.price, nowMs),
    },
  ];
  if (!mirror.price) return messages;
  for (const [key, payload] of priceStates(mirror.price, view.tariff)) {
    messages.push({ kind: 'state', topic: priceStateTopic(view.discovery, key), payload });
  }
  return messages;
}

/**
 * The forecast availability and, once a forecast is known, its states and
 * attributes. Judged at `nowMs`: whether the forecast is stale, which hour
 * is the current one, where the hours of the attributes start.
 */
export function forecastMessages(mirror: LiveMirror, view: BridgeView, nowMs: number): DesiredMessage[] {
  const options = view.discovery;
  const messages: DesiredMessage[] = [
    {
      kind: 'availability',
      topic: forecastAvailabilityTopic(options),
      payload: forecastAvailability(mirror.forecast, nowMs),
    },
  ];
  if (!mirror.forecast) return messages;
  for (const [key, payload] of forecastStates(mirror.forecast, nowMs)) {
    messages.push({ kind: 'state', topic: priceStateTopic(options, key), payload });
  }
  messages.push({
    kind: 'state',
    topic: priceAttributesTopic(options, FORECAST_ATTRIBUTES_KEY),
    payload: forecastAttributes(mirror.forecast, nowMs),
  });
  return messages;
}

/**
 * Everything Home Assistant should see at `nowMs`, in the order it is
 * published: discovery configs (price, then each charger), then the price,
 * the forecast, then each charger's availability and states and its smart charging.
 */
export function allMessages(mirror: LiveMirror, view: BridgeView, nowMs: number): DesiredMessage[] {
  const messages: DesiredMessage[] = [];
  if (view.publishDiscovery) {
    for (const message of priceDiscovery(view.discovery)) messages.push({ kind: 'config', ...message });
    for (const status of mirror.chargers.values()) {
      for (const message of chargerDiscovery(view.discovery, status)) messages.push({ kind: 'config', ...message });
    }
  }
  messages.push(...priceMessages(mirror, view, nowMs));
  messages.push(...forecastMessages(mirror, view, nowMs));
  for (const chargerId of mirror.chargers.keys()) {
    messages.push(...chargerMessages(mirror, view, chargerId), ...planMessages(mirror, view, chargerId, nowMs));
  }
  return messages;
}

/**
 * Every retained topic the bridge may publish for the current chargers, or
 * undefined while the charger list has not been read: then nothing may be
 * cleared.
 */
export function wantedTopics(mirror: LiveMirror, view: BridgeView): ReadonlySet<string> | undefined {
  if (!mirror.chargersLoaded) return undefined;
  const wanted = new Set(priceRetainedTopics(view.discovery, view.publishDiscovery));
  for (const chargerId of mirror.chargers.keys()) {
    for (const topic of chargerRetainedTopics(view.discovery, chargerId, view.publishDiscovery)) wanted.add(topic);
  }
  return wanted;
}
