import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type FieldType,
  type FieldValue,
  type PointData,
  SCHEMA,
  TIER_EXTREMES,
} from '@twc/core/contracts/influx-schema';
import { createInfluxWriter } from '@twc/runtime/influx-writer';
import { silentLogger } from '@twc/runtime/logger';
import { createSpool } from '@twc/runtime/spool';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  forceRun,
  type InitInstance,
  RAW_MEASUREMENTS,
  readBucket,
  startInitInstance,
  type TypedRow,
} from './init-script.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const SAMPLE_MS = 5000;
const TAGS = { charger_id: 'PGT0001', charger_name: 'garage' };

// A day ago, on the hour: inside the raw bucket's 7 days, outside the look-back
// of every scheduled run, so only the runs forced here aggregate it.
const BASE_MS = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 24 * HOUR_MS;

let instance: InitInstance;
let spoolDir: string;

beforeAll(async () => {
  instance = await startInitInstance('influx-downsample');
  const result = await instance.init();
  if (result.code !== 0) throw new Error(`init.sh failed:\n${result.stderr}`);
  spoolDir = mkdtempSync(join(tmpdir(), 'twc-downsample-spool-'));
});
afterAll(async () => {
  await instance?.stop();
  if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
});

/** Writes raw points the way the collector does, with the collector's own token. */
async function writeRaw(points: PointData[]): Promise<void> {
  const writer = createInfluxWriter({
    url: instance.influx.url,
    token: readFileSync(join(instance.tokensDir, 'collector.token'), 'utf8'),
    org: instance.influx.org,
    spool: createSpool({ dir: spoolDir, maxBytes: 10e6, logger: silentLogger() }),
    logger: silentLogger(),
  });
  writer.write('twc_raw', 'durable', points);
  await writer.close();
  expect(writer.stats()).toMatchObject({ writtenLines: points.length, rejectedLines: 0, spooledLines: 0 });
}

/** One hour of 5-second samples with counters that reset, states that change and gauges that move. */
function sample(i: number) {
  const inMinute = i % 12;
  return {
    power_w: 7000 + i * 10 + (i % 3) * 0.25,
    handle_temp_c: 20 + (i % 7) * 0.5,
    // A new session starts 18 samples in: its maximum would belong to the previous one.
    session_energy_wh: i < 18 ? i * 2.5 : (i - 18) * 2.5,
    session_s: i * 5,
    uptime_s: 100_000 + i * 5,
    evse_state: inMinute < 6 ? 11 : 8,
    contactor_closed: inMinute !== 11,
    vehicle_connected: true,
    wifi_rssi: -60 - (i % 4),
    wifi_ssid: `net-${i}`,
    consecutive_failures: i >= 13 && i < 16 ? i - 12 : 0,
    lifetime_energy_wh: 386_000 + i * 2.5,
  };
}
const SAMPLES = Array.from({ length: HOUR_MS / SAMPLE_MS }, (_, i) => ({
  timeMs: BASE_MS + i * SAMPLE_MS,
  ...sample(i),
}));

function seedPoints(): PointData[] {
  return SAMPLES.flatMap((s) => [
    {
      measurement: 'twc_vitals',
      tags: TAGS,
      timeMs: s.timeMs,
      fields: {
        power_w: s.power_w,
        handle_temp_c: s.handle_temp_c,
        session_energy_wh: s.session_energy_wh,
        session_s: s.session_s,
        uptime_s: s.uptime_s,
        evse_state: s.evse_state,
        contactor_closed: s.contactor_closed,
        vehicle_connected: s.vehicle_connected,
      },
    },
    {
      measurement: 'twc_wifi',
      tags: TAGS,
      timeMs: s.timeMs,
      fields: { wifi_rssi: s.wifi_rssi, wifi_ssid: s.wifi_ssid },
    },
    {
      measurement: 'twc_health',
      tags: TAGS,
      timeMs: s.timeMs,
      fields: { consecutive_failures: s.consecutive_failures },
    },
    { measurement: 'twc_lifetime', tags: TAGS, timeMs: s.timeMs, fields: { energy_wh: s.lifetime_energy_wh } },
  ]);
}

type Sample = (typeof SAMPLES)[number];
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
// Flux's math.round, like Go's, rounds halves away from zero.
const roundHalfAway = (value: number) => Math.sign(value) * Math.round(Math.abs(value));

/** What a tier must hold for the window ending at `endMs`, computed from the samples themselves. */
function expectedWindow(endMs: number, windowMs: number) {
  const inWindow = SAMPLES.filter((s) => s.timeMs >= endMs - windowMs && s.timeMs < endMs);
  const last = <K extends keyof Sample>(key: K) => inWindow[inWindow.length - 1]?.[key];
  return {
    'twc_vitals.power_w': mean(inWindow.map((s) => s.power_w)),
    'twc_vitals.handle_temp_c': mean(inWindow.map((s) => s.handle_temp_c)),
    // The peaks a mean hides, kept beside it.
    'twc_vitals.handle_temp_c_max': Math.max(...inWindow.map((s) => s.handle_temp_c)),
    'twc_vitals.power_w_max': Math.max(...inWindow.map((s) => s.power_w)),
    'twc_vitals.session_energy_wh': last('session_energy_wh'),
    'twc_vitals.session_s': last('session_s'),
    'twc_vitals.uptime_s': last('uptime_s'),
    'twc_vitals.evse_state': last('evse_state'),
    'twc_vitals.contactor_closed': last('contactor_closed'),
    'twc_vitals.vehicle_connected': last('vehicle_connected'),
    'twc_wifi.wifi_rssi': roundHalfAway(mean(inWindow.map((s) => s.wifi_rssi))),
    'twc_wifi.wifi_ssid': last('wifi_ssid'),
    'twc_health.consecutive_failures': Math.max(...inWindow.map((s) => s.consecutive_failures)),
    'twc_lifetime.energy_wh': last('lifetime_energy_wh'),
  };
}

function byWindow(rows: TypedRow[]): Map<number, Record<string, unknown>> {
  const windows = new Map<number, Record<string, unknown>>();
  for (const row of rows) {
    expect(row.tags).toEqual(TAGS);
    const window = windows.get(row.timeMs) ?? {};
    window[`${row.measurement}.${row.field}`] = row.value;
    windows.set(row.timeMs, window);
  }
  return windows;
}

function expectWindows(rows: TypedRow[], windowMs: number, count: number): void {
  const windows = byWindow(rows);
  const ends = Array.from({ length: count }, (_, k) => BASE_MS + (k + 1) * windowMs);
  expect([...windows.keys()].sort((a, b) => a - b)).toEqual(ends);
  for (const end of ends) {
    const expected = expectedWindow(end, windowMs);
    const actual = windows.get(end) ?? {};
    for (const [key, value] of Object.entries(expected)) {
      if (typeof value === 'number' && !Number.isInteger(value)) {
        expect(actual[key], `${key} at ${new Date(end).toISOString()}`).toBeCloseTo(value, 9);
      } else {
        expect(actual[key], `${key} at ${new Date(end).toISOString()}`).toBe(value);
      }
    }
  }
}

describe('downsampling tasks', () => {
  beforeAll(async () => {
    await writeRaw(seedPoints());
  });

  it('aggregates each minute: gauges by mean (and their peaks by maximum), counters and states by last value, failures by maximum', async () => {
    // now() = BASE + 10 min: the look-back covers the first ten minutes of samples.
    await forceRun(instance, 'twc-downsample-1m', BASE_MS + 10 * MINUTE_MS);
    const rows = await readBucket(instance, 'twc_1m', BASE_MS - HOUR_MS, BASE_MS + 2 * HOUR_MS);
    expectWindows(rows, MINUTE_MS, 10);

    // The second minute, spelled out: the counter reset 18 samples in, a mean or maximum would be wrong.
    const minute2 = byWindow(rows).get(BASE_MS + 2 * MINUTE_MS) ?? {};
    expect(minute2['twc_vitals.session_energy_wh']).toBe(12.5);
    expect(minute2['twc_vitals.evse_state']).toBe(8);
    expect(minute2['twc_vitals.contactor_closed']).toBe(false);
    expect(minute2['twc_health.consecutive_failures']).toBe(3);
    expect(minute2['twc_vitals.power_w']).toBeCloseTo(7000 + 175 + 0.25, 9);

    const types = Object.fromEntries(rows.map((row) => [`${row.measurement}.${row.field}`, row.type]));
    expect(types).toEqual({
      'twc_vitals.power_w': 'double',
      'twc_vitals.handle_temp_c': 'double',
      'twc_vitals.handle_temp_c_max': 'double',
      'twc_vitals.power_w_max': 'double',
      'twc_vitals.session_energy_wh': 'double',
      'twc_vitals.session_s': 'long',
      'twc_vitals.uptime_s': 'long',
      'twc_vitals.evse_state': 'long',
      'twc_vitals.contactor_closed': 'boolean',
      'twc_vitals.vehicle_connected': 'boolean',
      'twc_wifi.wifi_rssi': 'long',
      'twc_wifi.wifi_ssid': 'string',
      'twc_health.consecutive_failures': 'long',
      'twc_lifetime.energy_wh': 'double',
    });
  });

  it('aggregates 5-minute and 1-hour windows from the raw samples', async () => {
    await forceRun(instance, 'twc-downsample-5m', BASE_MS + HOUR_MS);
    expectWindows(await readBucket(instance, 'twc_5m', BASE_MS - HOUR_MS, BASE_MS + 2 * HOUR_MS), 5 * MINUTE_MS, 12);
    await forceRun(instance, 'twc-downsample-1h', BASE_MS + HOUR_MS);
    expectWindows(await readBucket(instance, 'twc_1h', BASE_MS - HOUR_MS, BASE_MS + 2 * HOUR_MS), HOUR_MS, 1);
  });

  it('leaves the window in progress alone and recomputes late points idempotently', async () => {
    // now() in the middle of the eleventh minute: that minute is not complete yet.
    await forceRun(instance, 'twc-downsample-1m', BASE_MS + 10 * MINUTE_MS + 30_000);
    const windows = byWindow(await readBucket(instance, 'twc_1m', BASE_MS, BASE_MS + HOUR_MS));
    expect(windows.has(BASE_MS + 11 * MINUTE_MS)).toBe(false);

    // A late point (replayed from the collector's spool) changes its minute at the next run.
    const late = { ...SAMPLES[5], power_w: 1_000_000 } as Sample;
    await writeRaw([{ measurement: 'twc_vitals', tags: TAGS, timeMs: late.timeMs, fields: { power_w: late.power_w } }]);
    await forceRun(instance, 'twc-downsample-1m', BASE_MS + 11 * MINUTE_MS);
    const after = byWindow(await readBucket(instance, 'twc_1m', BASE_MS, BASE_MS + HOUR_MS));
    const firstMinute = SAMPLES.slice(0, 12).map((s, i) => (i === 5 ? late.power_w : s.power_w));
    expect(after.get(BASE_MS + MINUTE_MS)?.['twc_vitals.power_w']).toBeCloseTo(mean(firstMinute), 9);
    expect(after.get(BASE_MS + 11 * MINUTE_MS)?.['twc_vitals.power_w']).toBeCloseTo(
      expectedWindow(BASE_MS + 11 * MINUTE_MS, MINUTE_MS)['twc_vitals.power_w'],
      9,
    );
    // Exactly one point per series and window: recomputing overwrote, it did not add.
    expect([...after.keys()]).toHaveLength(11);
  });

  it('carries every field of the raw schema into the tiers with its type', async () => {
    const atMs = BASE_MS + 3 * HOUR_MS;
    const sampleValue: Record<FieldType, FieldValue> = { float: 1.5, int: 7, bool: true, string: 'x' };
    const csvType: Record<FieldType, string> = { float: 'double', int: 'long', bool: 'boolean', string: 'string' };
    const points: PointData[] = RAW_MEASUREMENTS.map((measurement) => ({
      measurement,
      tags: measurement === 'collector_spool' ? { service: 'collector' } : TAGS,
      timeMs: atMs,
      fields: Object.fromEntries(
        Object.entries(SCHEMA[measurement].fields).map(([field, type]) => [field, sampleValue[type as FieldType]]),
      ),
    }));
    await writeRaw(points);
    await forceRun(instance, 'twc-downsample-1m', atMs + MINUTE_MS);
    const rows = await readBucket(instance, 'twc_1m', atMs, atMs + 2 * MINUTE_MS);

    const expected = RAW_MEASUREMENTS.flatMap((measurement) =>
      Object.entries(SCHEMA[measurement].fields).map(
        ([field, type]) => `${measurement}.${field} ${csvType[type as FieldType]} ${sampleValue[type as FieldType]}`,
      ),
    );
    // Beside the mean, the extremes of one sample: the sample itself.
    for (const [measurement, fields] of Object.entries(TIER_EXTREMES)) {
      for (const field of Object.keys(fields)) expected.push(`${measurement}.${field} double 1.5`);
    }
    expected.sort();
    const actual = rows.map((row) => `${row.measurement}.${row.field} ${row.type} ${row.value}`).sort();
    // The integer mean of one sample of 7 is 7 again; 1.5 stays 1.5.
    expect(actual).toEqual(expected);
    expect(rows.every((row) => row.timeMs === atMs + MINUTE_MS)).toBe(true);
  });
});
