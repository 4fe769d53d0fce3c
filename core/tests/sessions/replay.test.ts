import { describe, expect, it } from 'vitest';
import type { NormalizedVitals } from '../../src/charger/normalize.js';
import { payload, VITALS_SPLIT_PHASE_CHARGING } from '../../src/charger/reference-payloads.js';
import { SCHEMA } from '../../src/contracts/influx-schema.js';
import { TARIFF_DEFAULTS } from '../../src/prices/tariff.js';
import { createSessionReplay, parseReplayLine, replayedSession } from '../../src/sessions/replay.js';
import type { ChargingSession } from '../../src/sessions/session-machine.js';

// 2026-01-15 00:00 in Chicago (CST): on the 5-minute and hour grids.
const T0 = Date.UTC(2026, 0, 15, 6, 0, 0);
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

const line = (t: unknown, vitals: unknown) => JSON.stringify({ t, vitals });
const reference = () => payload(VITALS_SPLIT_PHASE_CHARGING);

function vitalsOf(text: string): NormalizedVitals {
  const parsed = parseReplayLine(text);
  if (!parsed.ok) throw new Error(`expected a sample: ${parsed.reason}`);
  return parsed.vitals;
}

describe('parseReplayLine', () => {
  it('reads a vitals body as the charger sent it, normalised as the collector does', () => {
    expect(parseReplayLine(line(T0, reference()))).toEqual({
      ok: true,
      timeMs: T0,
      vitals: expect.objectContaining({
        vehicle_connected: true,
        contactor_closed: true,
        session_energy_wh: 683.8,
        session_s: 74868,
        power_w: 238.5 * 30.8,
        phase_mode: 'split',
      }),
    });
  });

  it('takes a reading the export left out as unreadable (null), as the collector stored it', () => {
    const { session_energy_wh: _energy, evse_state: _state, uptime_s: _uptime, ...rest } = reference();
    const vitals = vitalsOf(line(T0, rest));
    expect(vitals.session_energy_wh).toBeNull();
    expect(vitals.evse_state).toBeNull();
    expect(vitals.uptime_s).toBeNull();
  });

  it.each([
    ['not JSON', '{"t": 1, "vitals": {', /^not JSON$/],
    ['not an object', '[1, 2]', /expected object/],
    ['no time', JSON.stringify({ vitals: reference() }), /^t: /],
    ['a negative time', line(-5, reference()), /^t: /],
    ['a fractional time', line(T0 + 0.5, reference()), /^t: /],
    ['a time as text', line(String(T0), reference()), /^t: /],
    ['vitals that are not an object', line(T0, 'charging'), /^vitals: /],
    [
      'no vehicle_connected',
      line(T0, { ...reference(), vehicle_connected: undefined }),
      /^vitals\.vehicle_connected: /,
    ],
    ['a reading as text', line(T0, { ...reference(), grid_v: '238.5' }), /^vitals\.grid_v: /],
    [
      'an infinite reading',
      `{"t": ${T0}, "vitals": ${JSON.stringify(reference()).replace('683.8', '1e999')}}`,
      /^vitals\.session_energy_wh: /,
    ],
  ])('refuses %s, saying why', (_name, text, reason) => {
    const parsed = parseReplayLine(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });
});

/** A split-phase sample: car connected or not, contactor closed or not, the device's counter and plug-in seconds. */
function vitals(connected: boolean, charging: boolean, energyWh: number, sessionS: number): NormalizedVitals {
  return vitalsOf(
    line(T0, {
      ...reference(),
      vehicle_connected: connected,
      contactor_closed: charging,
      vehicle_current_a: charging ? 40 : 0,
      session_energy_wh: energyWh,
      session_s: sessionS,
    }),
  );
}

describe('createSessionReplay', () => {
  it('runs the session machine over the samples and leaves a still-connected car open', () => {
    const replay = createSessionReplay('garage');
    expect(replay.add(T0, vitals(true, false, 0, 60))).toEqual({ applied: true });
    expect(replay.add(T0 + MINUTE_MS, vitals(true, true, 150, 120))).toEqual({ applied: true });
    expect(replay.add(T0 + 2 * MINUTE_MS, vitals(true, true, 310, 180))).toEqual({ applied: true });
    expect(replay.applied()).toBe(3);
    const { closed, open } = replay.finish();
    expect(closed).toEqual([]);
    expect(open).toMatchObject({
      id: `garage-${T0 - MINUTE_MS}`,
      startTimeMs: T0 - MINUTE_MS,
      endTimeMs: null,
      energyWh: 310,
    });
  });

  it('closes the session of a car seen gone at the end, as the unplug debounce would', () => {
    const replay = createSessionReplay('garage');
    replay.add(T0, vitals(true, true, 100, 60));
    replay.add(T0 + MINUTE_MS, vitals(true, true, 300, 120));
    replay.add(T0 + MINUTE_MS + 5_000, vitals(false, false, 300, 0));
    const { closed, open } = replay.finish();
    expect(open).toBeNull();
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ endTimeMs: T0 + MINUTE_MS + 5_000, endReason: 'unplugged', energyWh: 200 });
  });

  it('refuses a sample not newer than the previous one and a value the machine cannot take', () => {
    const replay = createSessionReplay('garage');
    replay.add(T0 + MINUTE_MS, vitals(true, true, 100, 60));
    expect(replay.add(T0 + MINUTE_MS, vitals(true, true, 900, 60))).toEqual({
      applied: false,
      reason: 'not newer than the previous sample',
    });
    expect(replay.add(T0, vitals(true, true, 900, 60))).toMatchObject({ applied: false });
    const negative = replay.add(T0 + 2 * MINUTE_MS, vitals(true, true, -5, 120));
    expect(negative).toMatchObject({
      applied: false,
      reason: expect.stringMatching(/sessionEnergyWh must not be negative/),
    });
    expect(replay.add(T0 + 3 * MINUTE_MS, vitals(true, true, 250, 180))).toEqual({ applied: true });
    expect(replay.applied()).toBe(2);
    expect(replay.finish().open?.energyWh).toBe(150);
  });

  it('has no session without samples', () => {
    expect(createSessionReplay('garage').finish()).toEqual({ closed: [], open: null });
  });
});

describe('replayedSession', () => {
  // 1 kWh in the interval 00:00-00:05 and 2 kWh in 01:00-01:05 (the next hour), named by their stamps.
  const session: ChargingSession = {
    id: `garage-${T0}`,
    chargerId: 'garage',
    startTimeMs: T0,
    endTimeMs: T0 + HOUR_MS + 10 * MINUTE_MS,
    endReason: 'unplugged',
    lastSampleMs: T0 + HOUR_MS + 10 * MINUTE_MS,
    observedFromPlugIn: true,
    unobservedCounterWh: null,
    durationS: 4200,
    chargingS: 1200,
    energyWh: 3000,
    peakPowerW: 11_000,
    avgPowerW: 9000,
    maxHandleTempC: 30,
    gaps: [],
    segments: 1,
    energyByInterval: [
      { startMs: T0, energyWh: 1000 },
      { startMs: T0 + HOUR_MS, energyWh: 2000 },
    ],
  };
  /** Every price of the first hour (stamps 00:00 .. 00:55) is 2 cents but its last, 14 (average 3); the second hour's are 5. */
  function prices(untilMs: number) {
    const points = [];
    for (let stamp = T0; stamp <= untilMs; stamp += 5 * MINUTE_MS) {
      const firstHour = stamp < T0 + HOUR_MS;
      points.push({ timeMs: stamp, priceCentsPerKwh: firstHour ? (stamp === T0 + 55 * MINUTE_MS ? 14 : 2) : 5 });
    }
    return points;
  }

  it('gives the twc_session fields the collector stores, without the encoded interval energy', () => {
    const record = replayedSession(session, {
      basis: 'hourly',
      tariff: TARIFF_DEFAULTS,
      prices: prices(T0 + 2 * HOUR_MS),
    });
    const stored = Object.keys(SCHEMA.twc_session.fields);
    for (const key of Object.keys(record)) {
      if (key !== 'charger_id' && key !== 'open') expect(stored).toContain(key);
    }
    expect(record).not.toHaveProperty('energy_by_interval');
    expect(record).toMatchObject({
      charger_id: 'garage',
      session_id: `garage-${T0}`,
      start_time: new Date(T0).toISOString(),
      end_time: new Date(T0 + HOUR_MS + 10 * MINUTE_MS).toISOString(),
      energy_wh: 3000,
      end_reason: 'unplugged',
      open: false,
      provisional: false,
      // 1 kWh at 3 cents and 2 kWh at 5 cents; adders 9.9 cents on 3 kWh.
      supply_cost: 0.13,
      adders_cost: 0.297,
      total_cost: 0.427,
      avg_price: 13 / 3,
    });
  });

  it('prices each interval on its own on the five-minute basis', () => {
    const record = replayedSession(session, {
      basis: 'five-minute',
      tariff: TARIFF_DEFAULTS,
      prices: prices(T0 + 2 * HOUR_MS),
    });
    expect(record.supply_cost).toBe(0.12);
  });

  it('leaves the energy of an hour the price file holds only in part unpriced', () => {
    const record = replayedSession(session, {
      basis: 'hourly',
      tariff: TARIFF_DEFAULTS,
      prices: prices(T0 + HOUR_MS + 20 * MINUTE_MS),
    });
    expect(record).toMatchObject({ provisional: true, unpriced_energy_wh: 2000, supply_cost: 0.03 });
  });

  it('marks a session without an end as open', () => {
    const record = replayedSession(
      { ...session, endTimeMs: null, endReason: null },
      { basis: 'hourly', tariff: TARIFF_DEFAULTS, prices: prices(T0 + 2 * HOUR_MS) },
    );
    expect(record).toMatchObject({ open: true, end_time: null, end_reason: null });
  });
});
