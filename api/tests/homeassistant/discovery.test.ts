import { TARIFF_DEFAULTS } from '@twc/core/prices/tariff';
import { describe, expect, it } from 'vitest';
import {
  allInCentsPerKwh,
  CHARGER_ENTITIES,
  chargerDiscovery,
  chargerRetainedTopics,
  chargerStates,
  EVSE_STATE_OPTIONS,
  priceAvailability,
  priceStates,
  topicId,
  topicsToClear,
} from '../../src/homeassistant/discovery.js';
import { currentPrice, liveSession, liveVitals, status } from './fixtures.js';

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
    expect(topics).toHaveLength(CHARGER_ENTITIES.length - 2);
    const withInflux = chargerDiscovery({ ...options, withInfluxReadings: true }, status('S1', 'garage'));
    expect(withInflux).toHaveLength(CHARGER_ENTITIES.length);
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

  it('makes the price entities unavailable while the feed is stale or empty', () => {
    expect(priceAvailability(currentPrice(updated))).toBe('online');
    expect(priceAvailability(currentPrice(updated, { stale: true }))).toBe('offline');
    expect(priceAvailability(currentPrice(updated, { five_minute: null }))).toBe('offline');
    expect(priceAvailability(undefined)).toBe('offline');
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
