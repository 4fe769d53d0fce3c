import { defaultPlanSettings } from '@twc/core/planning/plan-settings';
import { TARIFF_DEFAULTS } from '@twc/core/prices/tariff';
import { describe, expect, it } from 'vitest';
import {
  allInCentsPerKwh,
  CHARGER_ENTITIES,
  chargerDiscovery,
  chargerRetainedTopics,
  chargerStates,
  dayAheadCentsThisHour,
  EVSE_STATE_OPTIONS,
  forecastAttributes,
  forecastAvailability,
  forecastStates,
  PLAN_ENTITIES,
  parseCommandTopic,
  planAvailability,
  planSettingsStates,
  planStates,
  priceAvailability,
  priceDiscovery,
  priceRetainedTopics,
  priceStates,
  topicId,
  topicsToClear,
} from '../../src/homeassistant/discovery.js';
import {
  currentPrice,
  FORECAST_NOW_MS,
  liveSession,
  liveVitals,
  planState,
  priceForecast,
  status,
} from './fixtures.js';

const options = {
  discoveryPrefix: 'homeassistant',
  topicRoot: 'twc',
  origin: { name: 'twc-dashboard', sw_version: '1.2.3' },
  withInfluxReadings: false,
};

describe('discovery', () => {
  it('makes a charger id safe for topics and object ids', () => {
    expect(topicId('PGT22130001')).toBe('PGT22130001');
    expect(topicId('a/b+c#d e.f')).toBe('a_b_c_d_e_f');
  });

  it('leaves out the InfluxDB-only entities when InfluxDB is not configured', () => {
    const topics = chargerDiscovery(options, status('S1', 'garage')).map((message) => message.topic);
    expect(topics).not.toContain('homeassistant/sensor/twc_S1_lifetime_energy/config');
    expect(topics).not.toContain('homeassistant/sensor/twc_S1_wifi_signal/config');
    expect(topics).toHaveLength(CHARGER_ENTITIES.length - 2 + PLAN_ENTITIES.length);
    const withInflux = chargerDiscovery({ ...options, withInfluxReadings: true }, status('S1', 'garage'));
    expect(withInflux).toHaveLength(CHARGER_ENTITIES.length + PLAN_ENTITIES.length);
  });

  it('omits sw_version while the firmware is unknown', () => {
    const [first] = chargerDiscovery(options, status('S1', 'garage', { firmware_version: null }));
    expect(JSON.parse(first?.payload ?? '{}').device).toEqual({
      identifiers: ['twc_S1'],
      name: 'garage',
      manufacturer: 'Tesla',
      model: 'Wall Connector Gen 3',
      serial_number: 'S1',
    });
  });

  it('offers the EVSE state names, not unknown', () => {
    expect(EVSE_STATE_OPTIONS).toContain('charging');
    expect(EVSE_STATE_OPTIONS).not.toContain('unknown');
  });
});

describe('charger states', () => {
  const now = new Date('2025-07-14T17:00:00Z');

  it('leaves entities without a source out instead of inventing values', () => {
    expect([...chargerStates({ status: status('S1', 'garage') }, true)]).toEqual([['online', 'ON']]);
  });

  it('publishes None for an unknown EVSE state and for missing readings', () => {
    const states = chargerStates(
      {
        status: status('S1', 'garage'),
        vitals: liveVitals('S1', 'garage', now, { evse_state_name: 'unknown', handle_temp_c: null }),
        readings: { lifetimeEnergyWh: null, wifiSignalStrength: 61 },
      },
      true,
    );
    expect(states.get('state')).toBe('None');
    expect(states.get('handle_temperature')).toBe('None');
    expect(states.get('lifetime_energy')).toBe('None');
    expect(states.get('wifi_signal')).toBe('61');
  });

  it('reports the session cost with the session start as its last reset', () => {
    const states = chargerStates({ status: status('S1', 'garage'), session: liveSession('S1', 'garage', now) }, false);
    expect(JSON.parse(states.get('session_cost') ?? '')).toEqual({
      cost_usd: 0.1012,
      last_reset: '2025-07-14T16:02:11.000Z',
    });
    expect(states.get('session_energy')).toBe('683.8');
  });
});

describe('prices', () => {
  const updated = new Date('2025-07-14T17:06:00Z');

  it('prices a kWh all in on the hour average: (supply + adders) plus tax', () => {
    const tariff = { ...TARIFF_DEFAULTS, deliveryCentsPerKwh: 7.9, otherCentsPerKwh: 2, taxPercent: 10 };
    expect(allInCentsPerKwh(currentPrice(updated), tariff)).toBeCloseTo((4.2 + 9.9) * 1.1, 10);
  });

  it('falls back to the 5-minute price before the hour has an average', () => {
    const tariff = { ...TARIFF_DEFAULTS, deliveryCentsPerKwh: 5, otherCentsPerKwh: 0, taxPercent: 0 };
    expect(allInCentsPerKwh(currentPrice(updated, { hour_average: null }), tariff)).toBeCloseTo(8.9, 10);
  });

  it('shows an hour average only for the hour of the latest 5-minute price, the one stamped on the hour included', () => {
    const tariff = { ...TARIFF_DEFAULTS, deliveryCentsPerKwh: 5, otherCentsPerKwh: 0, taxPercent: 0 };
    // The price stamped 18:00 opens the hour ending 19:00: an average of the hour ending 18:00 is last hour's.
    const newHour = currentPrice(updated, {
      five_minute: { time: '2025-07-14T18:00:00.000Z', price_cents_kwh: 3.9 },
    });
    expect(priceStates(newHour, tariff).get('hour_average_price')).toBe('None');
    expect(allInCentsPerKwh(newHour, tariff)).toBeCloseTo(8.9, 10);
    // The price stamped 17:55 is the last of the hour ending 18:00: its average stands.
    const lastOfHour = currentPrice(updated, {
      five_minute: { time: '2025-07-14T17:55:00.000Z', price_cents_kwh: 3.9 },
    });
    expect(priceStates(lastOfHour, tariff).get('hour_average_price')).toBe('0.042');
  });

  it('publishes None for prices the feed does not have', () => {
    const states = priceStates(currentPrice(updated, { five_minute: null, hour_average: null }), TARIFF_DEFAULTS);
    expect([...states.values()]).toEqual(['None', 'None', 'None']);
  });

  it('converts cents to USD per kWh, negative prices included', () => {
    const states = priceStates(
      currentPrice(updated, {
        five_minute: { time: updated.toISOString(), price_cents_kwh: -1.3 },
        hour_average: null,
      }),
      { ...TARIFF_DEFAULTS, deliveryCentsPerKwh: 0, otherCentsPerKwh: 0, taxPercent: 0 },
    );
    expect(states.get('five_minute_price')).toBe('-0.013');
    expect(states.get('all_in_price')).toBe('-0.013');
  });

  it('makes the price entities unavailable while the feed is stale or empty, judged by the clock', () => {
    const at = updated.getTime();
    expect(priceAvailability(currentPrice(updated), at)).toBe('online');
    expect(priceAvailability(currentPrice(updated, { stale: true }), at)).toBe('offline');
    expect(priceAvailability(currentPrice(updated, { five_minute: null }), at)).toBe('offline');
    expect(priceAvailability(undefined, at)).toBe('offline');
    // Written fresh at 17:06 with the 17:05 price; the poller then stops writing. Stale after 15 minutes.
    expect(priceAvailability(currentPrice(updated), Date.parse('2025-07-14T17:20:00Z'))).toBe('online');
    expect(priceAvailability(currentPrice(updated), Date.parse('2025-07-14T17:20:01Z'))).toBe('offline');
  });
});

describe('forecast', () => {
  const computedAtMs = FORECAST_NOW_MS - 2 * 60_000;
  const forecast = priceForecast(computedAtMs);
  const MINUTE = 60_000;

  it("shows the current hour's day-ahead price, the night's average and its cheapest window", () => {
    expect(Object.fromEntries(forecastStates(forecast, FORECAST_NOW_MS))).toEqual({
      // The current hour is running at 3.1 cents; its day-ahead price was 2.9.
      day_ahead_price: '0.029',
      cheapest_window_start: '2026-01-16T01:00:00.000Z',
      cheapest_window_end: '2026-01-16T05:00:00.000Z',
      tonight_average_price: '0.0265',
    });
  });

  it('takes the day-ahead price of the hour under way, as the clock moves on', () => {
    expect(dayAheadCentsThisHour(forecast, FORECAST_NOW_MS)).toBe(2.9);
    // 18:00 Central opens the hour ending 19:00 (01:00 UTC): 2.1 cents.
    expect(dayAheadCentsThisHour(forecast, Date.parse('2026-01-16T00:00:00.000Z'))).toBe(2.1);
    // Past the day-ahead horizon the hours are forecasts: no day-ahead price.
    expect(dayAheadCentsThisHour(forecast, Date.parse('2026-01-16T17:30:00.000Z'))).toBeUndefined();
    // Beyond the forecast: nothing.
    expect(dayAheadCentsThisHour(forecast, Date.parse('2026-01-18T00:30:00.000Z'))).toBeUndefined();
  });

  it('reads a forecast written before each hour carried its day-ahead price', () => {
    const older = { ...forecast, hours: forecast.hours.map(({ day_ahead_cents_kwh: _left, ...hour }) => hour) };
    // The running hour's day-ahead price is not in it; a day_ahead hour's estimate is that price.
    expect(dayAheadCentsThisHour(older, FORECAST_NOW_MS)).toBeUndefined();
    expect(forecastStates(older, FORECAST_NOW_MS).get('day_ahead_price')).toBe('None');
    expect(dayAheadCentsThisHour(older, Date.parse('2026-01-16T00:00:00.000Z'))).toBe(2.1);
  });

  it('publishes None for what the forecast does not have', () => {
    const empty = priceForecast(computedAtMs, {
      hours: [],
      tonight: { ...forecast.tonight, avg_price_cents_kwh: null, window: null },
    });
    expect([...forecastStates(empty, FORECAST_NOW_MS).values()]).toEqual(['None', 'None', 'None', 'None']);
    expect(JSON.parse(forecastAttributes(empty, FORECAST_NOW_MS))).toEqual({
      from: '2026-01-16T00:00:00.000Z',
      until: '2026-01-16T13:00:00.000Z',
      window: null,
      hours: [],
    });
  });

  it('gives the window ends as UTC instants whatever offset the writer used', () => {
    const offset = priceForecast(computedAtMs, {
      tonight: {
        ...forecast.tonight,
        window: {
          ...(forecast.tonight.window as NonNullable<typeof forecast.tonight.window>),
          start: '2026-01-15T19:00:00-06:00',
          end: 'soon',
        },
      },
    });
    const states = forecastStates(offset, FORECAST_NOW_MS);
    expect(states.get('cheapest_window_start')).toBe('2026-01-16T01:00:00.000Z');
    expect(states.get('cheapest_window_end')).toBe('None');
  });

  it('carries the 24 hours from the current one and the window as attributes, in USD/kWh', () => {
    const attributes = JSON.parse(forecastAttributes(forecast, FORECAST_NOW_MS));
    expect(attributes.from).toBe('2026-01-16T00:00:00.000Z');
    expect(attributes.until).toBe('2026-01-16T13:00:00.000Z');
    expect(attributes.window).toEqual({
      start: '2026-01-16T01:00:00.000Z',
      end: '2026-01-16T05:00:00.000Z',
      hours: 4,
      avg_price: 0.0225,
      sources: ['day_ahead'],
    });
    expect(attributes.hours).toHaveLength(24);
    expect(attributes.hours[0]).toEqual({
      hour_ending: '2026-01-16T00:00:00.000Z',
      price: 0.031,
      source: 'running',
      low: 0.026,
      high: 0.036,
    });
    expect(attributes.hours[17]).toEqual({
      hour_ending: '2026-01-16T17:00:00.000Z',
      price: 0.037,
      source: 'day_ahead',
      low: 0.022,
      high: 0.052,
    });
    expect(attributes.hours[23]).toEqual({
      hour_ending: '2026-01-16T23:00:00.000Z',
      price: 0.043,
      source: 'forecast',
      low: 0.018,
      high: 0.078,
    });
    // An hour later the curve starts an hour later; the hour that is over is gone.
    const later = JSON.parse(forecastAttributes(forecast, FORECAST_NOW_MS + 60 * MINUTE));
    expect(later.hours).toHaveLength(24);
    expect(later.hours[0].hour_ending).toBe('2026-01-16T01:00:00.000Z');
    expect(later.hours[23].hour_ending).toBe('2026-01-17T00:00:00.000Z');
  });

  it('is available while the forecast is fresh: not recomputed for 15 minutes, or on a stalled feed, is stale', () => {
    expect(forecastAvailability(undefined, FORECAST_NOW_MS)).toBe('offline');
    expect(forecastAvailability(forecast, FORECAST_NOW_MS)).toBe('online');
    // Its feed was five minutes behind when it was computed: 15 minutes old ten minutes later.
    expect(forecastAvailability(forecast, computedAtMs + 10 * MINUTE)).toBe('online');
    expect(forecastAvailability(forecast, computedAtMs + 10 * MINUTE + 1)).toBe('offline');
    expect(forecastAvailability({ ...forecast, feed_time: null }, FORECAST_NOW_MS)).toBe('offline');
    // Prices still flowing, but no forecast computed for 15 minutes.
    const at = (timeMs: number) => ({ ...forecast, feed_time: new Date(timeMs - MINUTE).toISOString() });
    expect(forecastAvailability(at(computedAtMs + 15 * MINUTE), computedAtMs + 15 * MINUTE)).toBe('online');
    expect(forecastAvailability(at(computedAtMs + 15 * MINUTE + 1), computedAtMs + 15 * MINUTE + 1)).toBe('offline');
  });

  it('puts the forecast entities on the price device, following the forecast availability', () => {
    const configs = priceDiscovery(options).map((message) => JSON.parse(message.payload));
    const forecastIds = [
      'twc_comed_price_day_ahead_price',
      'twc_comed_price_cheapest_window_start',
      'twc_comed_price_cheapest_window_end',
      'twc_comed_price_tonight_average_price',
    ];
    expect(configs.map((config) => config.unique_id).slice(3)).toEqual(forecastIds);
    for (const config of configs.slice(3)) {
      expect(config.availability).toEqual([
        { topic: 'twc/bridge/availability' },
        { topic: 'twc/price/forecast/availability' },
      ]);
      expect(config.device).toEqual(configs[0].device);
      // A retained state would go stale with expire_after: the availability says when the forecast is old.
      expect(config).not.toHaveProperty('expire_after');
    }
    expect(configs.map((config) => config.json_attributes_topic).filter(Boolean)).toEqual([
      'twc/price/tonight_average_price/attributes',
    ]);
    const retained = priceRetainedTopics(options, true);
    for (const topic of [
      'twc/price/forecast/availability',
      'twc/price/day_ahead_price',
      'twc/price/tonight_average_price/attributes',
      'homeassistant/sensor/twc_comed_price_cheapest_window_end/config',
    ]) {
      expect(retained).toContain(topic);
    }
  });
});

describe('smart charging', () => {
  const settings = defaultPlanSettings(FORECAST_NOW_MS);

  it('shows the settings as the controls take them', () => {
    expect(Object.fromEntries(planSettingsStates(settings))).toEqual({
      smart_charging: 'ON',
      charge_target: '30',
      target_unit: 'kWh',
      ready_by_weekdays: '07:00',
      ready_by_weekends: 'off',
    });
    const percent = planSettingsStates({ ...settings, smart_charging: false, target: { unit: 'percent', value: 80 } });
    expect(percent.get('smart_charging')).toBe('OFF');
    expect(percent.get('target_unit')).toBe('%');
    expect(percent.get('charge_target')).toBe('80');
  });

  it('shows a ready-by time only where the days share one of the options; unknown otherwise', () => {
    const mixed = planSettingsStates({
      ...settings,
      ready_by: ['10:00', '07:00', '07:00', '06:00', '07:00', '07:00', null],
    });
    expect(mixed.get('ready_by_weekdays')).toBe('None');
    expect(mixed.get('ready_by_weekends')).toBe('None');
    const offGrid = planSettingsStates({ ...settings, ready_by: ['09:30', ...Array(5).fill('07:15'), '09:30'] });
    expect(offGrid.get('ready_by_weekdays')).toBe('None');
    expect(offGrid.get('ready_by_weekends')).toBe('09:30');
  });

  it("shows the planner's state: status, whether charging is allowed, the runs ahead and the money", () => {
    const state = planState('S1', FORECAST_NOW_MS);
    expect(Object.fromEntries(planStates(state, FORECAST_NOW_MS))).toEqual({
      smart_charging_status: 'planned',
      charging_allowed: 'OFF',
      planned_start: '2026-01-15T22:00:00.000Z',
      planned_end: '2026-01-16T03:00:00.000Z',
      planned_cost: '3.46',
      plan_saving: '1.44',
    });
    // Past the first run: the planned start is the next one's.
    const later = planStates({ ...state, charging_allowed: true }, Date.parse('2026-01-16T00:30:00.000Z'));
    expect(later.get('planned_start')).toBe('2026-01-16T02:00:00.000Z');
    expect(later.get('charging_allowed')).toBe('ON');
    // All runs over, or no plan at all: nothing planned.
    expect(planStates(state, Date.parse('2026-01-16T03:00:00.000Z')).get('planned_start')).toBe('None');
    const unplugged = planStates({ ...state, status: 'unplugged', plan: null }, FORECAST_NOW_MS);
    expect(Object.fromEntries(unplugged)).toMatchObject({
      smart_charging_status: 'unplugged',
      planned_start: 'None',
      planned_end: 'None',
      planned_cost: 'None',
      plan_saving: 'None',
    });
  });

  it("makes the planner's entities unavailable once its state is older than 3 minutes, by the bridge's clock", () => {
    const state = planState('S1', FORECAST_NOW_MS);
    expect(planAvailability(undefined, FORECAST_NOW_MS)).toBe('offline');
    expect(planAvailability(state, FORECAST_NOW_MS + 180_000)).toBe('online');
    expect(planAvailability(state, FORECAST_NOW_MS + 180_001)).toBe('offline');
  });

  it('reads a command topic back to its charger and control', () => {
    const ids = ['PGT1', 'a/b'];
    expect(parseCommandTopic(options, ids, 'twc/PGT1/charge_now/set')).toEqual({
      chargerId: 'PGT1',
      key: 'charge_now',
    });
    expect(parseCommandTopic(options, ids, 'twc/a_b/smart_charging/set')).toEqual({
      chargerId: 'a/b',
      key: 'smart_charging',
    });
    for (const topic of [
      'twc/PGT2/charge_now/set',
      'twc/PGT1/planned_cost/set',
      'twc/PGT1/power/set',
      'twc/PGT1/charge_now',
      'other/PGT1/charge_now/set',
      'twc/PGT1/x/charge_now/set',
    ]) {
      expect(parseCommandTopic(options, ids, topic), topic).toBeUndefined();
    }
  });
});

describe('topics to clear', () => {
  it('clears what is no longer wanted, discovery configs first', () => {
    const kept = chargerRetainedTopics(options, 'KEEP', true);
    const gone = chargerRetainedTopics(options, 'GONE', true);
    const cleared = topicsToClear([...kept, ...gone], new Set(kept));
    expect(new Set(cleared)).toEqual(new Set(gone));
    const firstState = cleared.findIndex((topic) => !topic.endsWith('/config'));
    expect(cleared.slice(0, firstState).every((topic) => topic.endsWith('/config'))).toBe(true);
    expect(cleared.slice(firstState).some((topic) => topic.endsWith('/config'))).toBe(false);
  });

  it('clears the discovery configs when discovery is turned off, keeping the states', () => {
    const on = chargerRetainedTopics(options, 'S1', true);
    const off = chargerRetainedTopics(options, 'S1', false);
    expect(topicsToClear(on, new Set(off))).toEqual(on.filter((topic) => topic.endsWith('/config')).sort());
  });
});
