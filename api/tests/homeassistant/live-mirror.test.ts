import { changedSettings, defaultPlanSettings } from '@twc/core/planning/plan-settings';
import { TARIFF_DEFAULTS } from '@twc/core/prices/tariff';
import { describe, expect, it } from 'vitest';
import {
  allMessages,
  type BridgeView,
  chargerMessages,
  EMPTY_MIRROR,
  forecastMessages,
  type LiveMirror,
  planMessages,
  priceMessages,
  wantedTopics,
  withForecast,
  withPlan,
  withPlanSettings,
  withPrice,
  withReadings,
  withRefresh,
  withSession,
  withVitals,
} from '../../src/homeassistant/live-mirror.js';
import {
  currentPrice,
  FORECAST_NOW_MS,
  liveSession,
  liveVitals,
  planState,
  priceForecast,
  status,
} from './fixtures.js';

const view: BridgeView = {
  discovery: {
    discoveryPrefix: 'homeassistant',
    topicRoot: 'twc',
    origin: { name: 'twc-dashboard', sw_version: '1.2.3' },
    withInfluxReadings: false,
  },
  publishDiscovery: true,
  tariff: { ...TARIFF_DEFAULTS, deliveryCentsPerKwh: 7.9, otherCentsPerKwh: 2, taxPercent: 5 },
};

const T0 = new Date('2025-07-14T17:00:00.000Z');
const T1 = new Date('2025-07-14T17:00:01.000Z');

function loaded(...chargerIds: string[]): LiveMirror {
  return withRefresh(EMPTY_MIRROR, {
    chargers: chargerIds.map((id) => status(id, id.toLowerCase())),
    vitals: [],
    sessions: [],
    price: undefined,
  });
}

describe('live mirror', () => {
  it.each([
    ['vitals', (m: LiveMirror, at: Date) => withVitals(m, liveVitals('S1', 's1', at))],
    ['a session', (m: LiveMirror, at: Date) => withSession(m, liveSession('S1', 's1', at))],
    ['a price', (m: LiveMirror, at: Date) => withPrice(m, currentPrice(at))],
    ['a forecast', (m: LiveMirror, at: Date) => withForecast(m, priceForecast(at.getTime()))],
  ])('takes %s as new or as recent, and keeps the same mirror for an older one', (_name, apply) => {
    const newer = apply(EMPTY_MIRROR, T1);
    expect(newer).not.toBe(EMPTY_MIRROR);
    expect(apply(newer, T0)).toBe(newer);
    expect(apply(newer, T1)).not.toBe(newer);
  });

  it('replaces the charger list at a refresh, dropping what belonged to a charger gone', () => {
    let mirror = loaded('S1', 'S2');
    mirror = withVitals(mirror, liveVitals('S2', 's2', T0));
    mirror = withSession(mirror, liveSession('S2', 's2', T0));
    mirror = withRefresh(mirror, { chargers: [status('S1', 's1')], vitals: [], sessions: [], price: undefined });
    expect([...mirror.chargers.keys()]).toEqual(['S1']);
    expect(mirror.vitals.has('S2')).toBe(false);
    expect(mirror.sessions.has('S2')).toBe(false);
  });

  it('keeps a value that came by pub/sub over an older one the refresh read', () => {
    const fresh = withVitals(loaded('S1'), liveVitals('S1', 's1', T1, { power_w: 2000 }));
    const mirror = withRefresh(fresh, {
      chargers: [status('S1', 's1')],
      vitals: [liveVitals('S1', 's1', T0, { power_w: 1000 })],
      sessions: [liveSession('S1', 's1', T0)],
      price: currentPrice(T0),
    });
    expect(mirror.vitals.get('S1')?.vitals.power_w).toBe(2000);
    expect(mirror.sessions.get('S1')?.updated).toBe(T0.toISOString());
    expect(mirror.price?.updated).toBe(T0.toISOString());
  });

  it('keeps a forecast announced over an older one the refresh read, and one the refresh did not find', () => {
    const announced = withForecast(loaded('S1'), priceForecast(T1.getTime()));
    const read = (forecast?: ReturnType<typeof priceForecast>) =>
      withRefresh(announced, { chargers: [status('S1', 's1')], vitals: [], sessions: [], price: undefined, forecast });
    expect(read(priceForecast(T0.getTime())).forecast?.computed_at).toBe(T1.toISOString());
    expect(read(undefined).forecast?.computed_at).toBe(T1.toISOString());
    const newer = new Date(T1.getTime() + 1000);
    expect(read(priceForecast(newer.getTime())).forecast?.computed_at).toBe(newer.toISOString());
  });

  it('ignores what a refresh read of a charger not in its list', () => {
    const mirror = withRefresh(EMPTY_MIRROR, {
      chargers: [status('S1', 's1')],
      vitals: [liveVitals('S9', 's9', T0)],
      sessions: [liveSession('S9', 's9', T0)],
      price: undefined,
    });
    expect(mirror.vitals.size + mirror.sessions.size).toBe(0);
  });

  it('replaces the InfluxDB readings as a whole', () => {
    const first = withReadings(EMPTY_MIRROR, new Map([['S1', { lifetimeEnergyWh: 1, wifiSignalStrength: 2 }]]));
    const second = withReadings(first, new Map([['S2', { lifetimeEnergyWh: 3, wifiSignalStrength: null }]]));
    expect([...second.readings.keys()]).toEqual(['S2']);
  });
});

describe('what Home Assistant should see', () => {
  it('lists discovery, then the price, then each charger, each message with its kind', () => {
    const mirror = withPrice(withVitals(loaded('S1'), liveVitals('S1', 's1', T0)), currentPrice(T0));
    const messages = allMessages(mirror, view, T0.getTime());
    const configs = messages.filter((message) => message.kind === 'config').map((message) => message.topic);
    expect(configs.slice(0, 7)).toEqual([
      'homeassistant/sensor/twc_comed_price_five_minute_price/config',
      'homeassistant/sensor/twc_comed_price_hour_average_price/config',
      'homeassistant/sensor/twc_comed_price_all_in_price/config',
      'homeassistant/sensor/twc_comed_price_day_ahead_price/config',
      'homeassistant/sensor/twc_comed_price_cheapest_window_start/config',
      'homeassistant/sensor/twc_comed_price_cheapest_window_end/config',
      'homeassistant/sensor/twc_comed_price_tonight_average_price/config',
    ]);
    // The price device's 7, the charger's 10 readings (no InfluxDB) and its 13 smart-charging entities.
    expect(configs).toHaveLength(7 + 10 + 13);
    expect(
      messages.slice(configs.length).map((message) => `${message.kind} ${message.topic}=${message.payload}`),
    ).toEqual([
      'availability twc/price/availability=online',
      'state twc/price/five_minute_price=0.039',
      'state twc/price/hour_average_price=0.042',
      'state twc/price/all_in_price=0.14805',
      'availability twc/price/forecast/availability=offline',
      'availability twc/S1/availability=online',
      'state twc/S1/online=ON',
      'state twc/S1/power=7346',
      'state twc/S1/state=charging',
      'state twc/S1/handle_temperature=15.5',
      'state twc/S1/grid_voltage=238.5',
      'state twc/S1/current=30.8',
      'state twc/S1/vehicle_connected=ON',
      'state twc/S1/charging=ON',
      // No planner state yet: its entities are unavailable; the controls show the default settings.
      'availability twc/S1/plan/availability=offline',
      'state twc/S1/smart_charging=ON',
      'state twc/S1/charge_target=30',
      'state twc/S1/target_unit=kWh',
      'state twc/S1/ready_by_weekdays=07:00',
      'state twc/S1/ready_by_weekends=off',
    ]);
  });

  it('leaves the configs out without discovery, and the price states out without a price', () => {
    const messages = allMessages(loaded('S1'), { ...view, publishDiscovery: false }, T0.getTime());
    expect(messages.map((message) => `${message.kind} ${message.topic}=${message.payload}`)).toEqual([
      'availability twc/price/availability=offline',
      'availability twc/price/forecast/availability=offline',
      'availability twc/S1/availability=online',
      'state twc/S1/online=ON',
      'availability twc/S1/plan/availability=offline',
      'state twc/S1/smart_charging=ON',
      'state twc/S1/charge_target=30',
      'state twc/S1/target_unit=kWh',
      'state twc/S1/ready_by_weekdays=07:00',
      'state twc/S1/ready_by_weekends=off',
    ]);
    expect(priceMessages(EMPTY_MIRROR, view, T0.getTime())).toEqual([
      { kind: 'availability', topic: 'twc/price/availability', payload: 'offline' },
    ]);
  });

  it('shows the forecast as of the time given: its availability, states and attributes', () => {
    const mirror = withForecast(loaded(), priceForecast(FORECAST_NOW_MS - 2 * 60_000));
    const messages = forecastMessages(mirror, view, FORECAST_NOW_MS);
    expect(messages.map((message) => `${message.kind} ${message.topic}`)).toEqual([
      'availability twc/price/forecast/availability',
      'state twc/price/day_ahead_price',
      'state twc/price/cheapest_window_start',
      'state twc/price/cheapest_window_end',
      'state twc/price/tonight_average_price',
      'state twc/price/tonight_average_price/attributes',
    ]);
    expect(messages.slice(0, 5).map((message) => message.payload)).toEqual([
      'online',
      '0.029',
      '2026-01-16T01:00:00.000Z',
      '2026-01-16T05:00:00.000Z',
      '0.0265',
    ]);
    // Half an hour on with nothing new from the poller: stale, and the hour under way is the next one.
    const later = forecastMessages(mirror, view, FORECAST_NOW_MS + 30 * 60_000);
    expect(later[0]?.payload).toBe('offline');
    expect(later[1]?.payload).toBe('0.021');
    expect(allMessages(mirror, view, FORECAST_NOW_MS)).toEqual(expect.arrayContaining(messages));
  });

  it('shows nothing of a charger not in the list', () => {
    const mirror = withVitals(loaded('S1'), liveVitals('S9', 's9', T0));
    expect(chargerMessages(mirror, view, 'S9')).toEqual([]);
    expect(allMessages(mirror, view, T0.getTime()).some((message) => message.topic.includes('S9'))).toBe(false);
  });

  it('wants no topic cleared before the charger list was read, and every topic of each charger after', () => {
    expect(wantedTopics(EMPTY_MIRROR, view)).toBeUndefined();
    const wanted = wantedTopics(loaded('S1'), view);
    expect(wanted?.has('homeassistant/sensor/twc_S1_power/config')).toBe(true);
    expect(wanted?.has('twc/S1/session_cost')).toBe(true);
    expect(wanted?.has('twc/price/availability')).toBe(true);
    expect(wanted?.has('twc/price/forecast/availability')).toBe(true);
    expect(wanted?.has('twc/price/tonight_average_price/attributes')).toBe(true);
    expect(wantedTopics(loaded('S1'), { ...view, publishDiscovery: false })?.has('twc/S1/power')).toBe(true);
    expect(
      [...(wantedTopics(loaded('S1'), { ...view, publishDiscovery: false }) ?? [])].some((topic) =>
        topic.endsWith('/config'),
      ),
    ).toBe(false);
    // An empty list, once read, is a list: everything of a charger may then be cleared.
    expect([...(wantedTopics(loaded(), view) ?? [])].some((topic) => topic.includes('S1'))).toBe(false);
  });
});

describe('smart charging in the mirror', () => {
  it('keeps the newest planner state, and drops it with its charger', () => {
    const newer = withPlan(loaded('S1'), planState('S1', FORECAST_NOW_MS));
    expect(withPlan(newer, planState('S1', FORECAST_NOW_MS - 60_000))).toBe(newer);
    const gone = withRefresh(newer, { chargers: [], vitals: [], sessions: [], price: undefined });
    expect(gone.plans.size).toBe(0);
  });

  it('takes the settings read from Redis as they are, whatever their clock; undefined brings the defaults back', () => {
    const saved = changedSettings(defaultPlanSettings(0), { smart_charging: false }, FORECAST_NOW_MS);
    const mirror = withPlanSettings(loaded('S1'), 'S1', saved);
    // Written by another process with a slower clock: still the settings now in Redis.
    const older = changedSettings(saved, { charge_now: true }, FORECAST_NOW_MS - 60_000);
    expect(withPlanSettings(mirror, 'S1', older).planSettings.get('S1')?.charge_now).toBe(true);
    expect(withPlanSettings(mirror, 'S1', { ...saved })).toBe(mirror);
    const shown = (next: LiveMirror) =>
      planMessages(next, view, 'S1', FORECAST_NOW_MS).find((message) => message.topic === 'twc/S1/smart_charging');
    expect(shown(mirror)?.payload).toBe('OFF');
    expect(shown(withPlanSettings(mirror, 'S1', undefined))?.payload).toBe('ON');
  });

  it("publishes the plan's availability and states as of the time given", () => {
    const mirror = withPlan(loaded('S1'), planState('S1', FORECAST_NOW_MS));
    const at = (nowMs: number) =>
      Object.fromEntries(planMessages(mirror, view, 'S1', nowMs).map((message) => [message.topic, message.payload]));
    expect(at(FORECAST_NOW_MS)).toMatchObject({
      'twc/S1/plan/availability': 'online',
      'twc/S1/smart_charging_status': 'planned',
      'twc/S1/planned_start': '2026-01-15T22:00:00.000Z',
    });
    expect(at(FORECAST_NOW_MS + 181_000)['twc/S1/plan/availability']).toBe('offline');
    expect(planMessages(mirror, view, 'S9', FORECAST_NOW_MS)).toEqual([]);
  });

  it('wants the plan topics of each charger, not the command topics', () => {
    const wanted = wantedTopics(loaded('S1'), view);
    expect(wanted?.has('twc/S1/plan/availability')).toBe(true);
    expect(wanted?.has('twc/S1/smart_charging')).toBe(true);
    expect(wanted?.has('homeassistant/button/twc_S1_charge_now/config')).toBe(true);
    expect(wanted?.has('twc/S1/charge_now')).toBe(false);
    expect([...(wanted ?? [])].filter((topic) => topic.endsWith('/set'))).toEqual([]);
  });
});
