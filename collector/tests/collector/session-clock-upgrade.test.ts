// The sessions' half of the price-clock upgrade, on a store written the way the previous
// version wrote it, through a collector started as main.ts starts it.
import { InfluxDB } from '@influxdata/influxdb-client';
import type { PointData } from '@twc/core/contracts/influx-schema';
import { TARIFF_DEFAULTS } from '@twc/core/prices/tariff';
import { createInfluxWriter } from '@twc/runtime/influx-writer';
import { silentLogger } from '@twc/runtime/logger';
import { createSpool } from '@twc/runtime/spool';
import { createTestBucket, servers } from '@twc/testenv/vitest';
import { afterEach, describe, expect, it } from 'vitest';
import { runRepriceCommand } from '../../src/cli/commands/reprice.js';
import { generatedPriceCents } from '../../src/simulator/comed-server.js';
import { startCollector, tempDir, waitFor } from './harness.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const MIN = 60_000;
const FIVE = 5 * MIN;
const HOUR = 60 * MIN;
const SEED = 3;
// Prices are stored for Nov 1-3, 2026 (the fall-back day among them); the third session is from
// before them, as if the prices bucket had a retention that dropped them.
const PRICES_FROM = Date.UTC(2026, 10, 1, 5);
const PRICES_TO = Date.UTC(2026, 10, 4, 6);
const price = (stamp: number) => generatedPriceCents(SEED, stamp);

interface OldSession {
  id: string;
  startMs: number;
  /** Energy by interval END, as the previous version stored it. */
  byEnd: [number, number][];
}

/** 2 kWh an interval, every interval from `startMs` for `minutes`, keyed by interval end. */
function session(startMs: number, minutes: number): OldSession {
  const byEnd: [number, number][] = [];
  for (let end = startMs + FIVE; end <= startMs + minutes * MIN; end += FIVE) byEnd.push([end, 2000 / 12]);
  return { id: `ACB123-${startMs}`, startMs, byEnd };
}

const SESSIONS = [
  // 18:40 to 21:10 CDT... across four hour boundaries; the shift of one interval matters at each.
  session(Date.UTC(2026, 10, 1, 23, 40), 150),
  // Through the repeated 1 AM hour of the fall-back night.
  session(Date.UTC(2026, 10, 2, 5, 20), 130),
  // Prices gone: it keeps its old cost.
  session(Date.UTC(2026, 9, 20, 12, 0), 60),
];

/** The previous version's hourly price: the hour ending H averaged the prices stamped H-55 .. H. */
const oldHourAverage = (hourEnd: number) => {
  let sum = 0;
  for (let k = 0; k < 12; k++) sum += price(hourEnd - k * FIVE);
  return sum / 12;
};
/** The corrected one: the prices stamped H-60 .. H-5. */
const hourAverage = (hourEnd: number) => {
  let sum = 0;
  for (let k = 1; k <= 12; k++) sum += price(hourEnd - k * FIVE);
  return sum / 12;
};

function costOf(s: OldSession, average: (hourEnd: number) => number) {
  const adders = TARIFF_DEFAULTS.deliveryCentsPerKwh + TARIFF_DEFAULTS.otherCentsPerKwh;
  const hours = new Map<number, { wh: number; supplyCents: number }>();
  for (const [end, wh] of s.byEnd) {
    // The energy of (E - 5 min, E] is in the hour holding that interval, under either clock.
    const hourEnd = Math.ceil(end / HOUR) * HOUR;
    const hour = hours.get(hourEnd) ?? { wh: 0, supplyCents: 0 };
    hour.wh += wh;
    hour.supplyCents += (wh / 1000) * average(hourEnd);
    hours.set(hourEnd, hour);
  }
  let supply = 0;
  let energy = 0;
  for (const hour of hours.values()) {
    supply += hour.supplyCents / 100;
    energy += hour.wh;
  }
  const addersUsd = (energy / 1000) * (adders / 100);
  return { supply, total: supply + addersUsd, hours };
}

async function writeOldStore(sessionsBucket: string, pricesBucket: string): Promise<void> {
  const points: { bucket: string; point: PointData }[] = [];
  for (let stamp = PRICES_FROM; stamp < PRICES_TO; stamp += FIVE) {
    points.push({
      bucket: pricesBucket,
      point: {
        measurement: 'comed_price',
        tags: { price_type: '5min' },
        fields: { price_cents_kwh: price(stamp) },
        timeMs: stamp,
      },
    });
  }
  const tags = { charger_id: 'ACB123', charger_name: 'garage' };
  for (const s of SESSIONS) {
    const old = costOf(s, oldHourAverage);
    const endMs = (s.byEnd.at(-1) as [number, number])[0] + 2 * MIN;
    points.push({
      bucket: sessionsBucket,
      point: {
        measurement: 'twc_session',
        tags,
        fields: {
          session_id: s.id,
          start_time: new Date(s.startMs).toISOString(),
          end_time: new Date(endMs).toISOString(),
          charging_s: s.byEnd.length * 300,
          energy_wh: s.byEnd.length * (2000 / 12),
          supply_cost: old.supply,
          total_cost: old.total,
          provisional: false,
          energy_by_interval: JSON.stringify(s.byEnd),
        },
        timeMs: s.startMs,
      },
    });
    for (const [hourEnd, hour] of old.hours) {
      points.push({
        bucket: sessionsBucket,
        point: {
          measurement: 'twc_session_hour',
          tags,
          fields: { session_id: s.id, hour_ending: new Date(hourEnd).toISOString(), energy_wh: hour.wh },
          timeMs: Math.max(hourEnd - HOUR, s.startMs),
        },
      });
    }
  }
  const { influx } = servers();
  const writer = createInfluxWriter({
    ...influx,
    spool: createSpool({ dir: tempDir('seed', cleanups), maxBytes: 1e7, logger: silentLogger() }),
    logger: silentLogger(),
  });
  for (const { bucket, point } of points) writer.write(bucket, 'durable', [point]);
  await writer.close();
}

describe('price clock upgrade of stored sessions', () => {
  it('re-prices each session stored on the old clock once, from its stored interval energy', async () => {
    const sessionsBucket = await createTestBucket('sessions');
    const pricesBucket = await createTestBucket('prices');
    await writeOldStore(sessionsBucket, pricesBucket);
    const start = () =>
      startCollector({
        // No charger answers there: the upgrade needs none.
        chargers: 'garage=127.0.0.1:9',
        sessionsBucket,
        pricesBucket,
        spoolDir: tempDir('spool', cleanups),
      });

    const first = await start();
    cleanups.push(() => first.service.stop());
    await waitFor(() => first.service.status().priceClockUpgrade?.complete === true, 15_000, 'the upgrade');
    expect(first.service.status().priceClockUpgrade).toEqual({ complete: true, repriced: 2, kept: 1 });
    expect(first.lines.filter((line) => /price clock upgrade/.test(line.msg)).map((line) => line.msg)).toEqual([
      'price clock upgrade: re-pricing sessions stored on the old clock',
      'price clock upgrade: sessions re-priced',
      'price clock upgrade: some sessions kept their old costs because their 5-minute prices are no longer stored',
    ]);
    await first.service.stop();

    const rows = await first.queryApi.collectRows<Record<string, unknown>>(
      `from(bucket: "${sessionsBucket}") |> range(start: 0)
        |> filter(fn: (r) => r._measurement == "twc_session")
        |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value") |> sort(columns: ["_time"])`,
    );
    const byId = new Map(rows.map((row) => [String(row.session_id), row]));
    for (const s of SESSIONS.slice(0, 2)) {
      const row = byId.get(s.id) as Record<string, unknown>;
      const expected = costOf(s, hourAverage);
      const old = costOf(s, oldHourAverage);
      // The clocks disagree on these sessions, so the test can tell them apart.
      expect(Math.abs(expected.supply - old.supply)).toBeGreaterThan(0.001);
      expect(row.supply_cost).toBeCloseTo(expected.supply, 5);
      expect(row.total_cost).toBeCloseTo(expected.total, 5);
      expect(row.provisional).toBe(false);
      const stored = JSON.parse(String(row.energy_by_interval)) as { start: [number, number][] };
      expect(stored.start.map(([startMs]) => startMs)).toEqual(s.byEnd.map(([end]) => end - FIVE));
    }
    // The session whose prices are gone keeps its energy in the old form and its old cost.
    const kept = byId.get(SESSIONS[2]?.id as string) as Record<string, unknown>;
    expect(String(kept.energy_by_interval).startsWith('[')).toBe(true);
    expect(kept.supply_cost).toBeCloseTo(costOf(SESSIONS[2] as OldSession, oldHourAverage).supply, 9);

    // Its hours follow: each hour point holds the hour's corrected cost.
    const hours = await first.queryApi.collectRows<{ session_id: string; hour_ending: string; supply_cost: number }>(
      `from(bucket: "${sessionsBucket}") |> range(start: 0)
        |> filter(fn: (r) => r._measurement == "twc_session_hour")
        |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`,
    );
    const first0 = SESSIONS[0] as OldSession;
    const expectedHours = costOf(first0, hourAverage).hours;
    const storedHours = hours.filter((hour) => hour.session_id === first0.id);
    expect(storedHours).toHaveLength(expectedHours.size);
    for (const hour of storedHours) {
      const expectedHour = expectedHours.get(Date.parse(hour.hour_ending));
      expect(hour.supply_cost).toBeCloseTo((expectedHour?.supplyCents ?? Number.NaN) / 100, 5);
    }

    // A second start finds nothing left on the old clock but the kept session, and changes nothing.
    const second = await start();
    cleanups.push(() => second.service.stop());
    await waitFor(() => second.service.status().priceClockUpgrade?.complete === true, 15_000, 'the second upgrade');
    expect(second.service.status().priceClockUpgrade).toEqual({ complete: true, repriced: 0, kept: 1 });
  }, 60_000);
});

describe('twc reprice', () => {
  it('does the same by hand for a range, hourly prices included, and a second run changes nothing', async () => {
    const sessionsBucket = await createTestBucket('sessions');
    const pricesBucket = await createTestBucket('prices');
    await writeOldStore(sessionsBucket, pricesBucket);
    const { influx } = servers();
    const env = {
      CHARGERS: 'garage=127.0.0.1:9',
      INFLUXDB_URL: influx.url,
      INFLUXDB_TOKEN: influx.token,
      INFLUXDB_ORG: influx.org,
      INFLUXDB_BUCKET_PRICES: pricesBucket,
      INFLUXDB_BUCKET_SESSIONS: sessionsBucket,
      SPOOL_DIR: tempDir('spool', cleanups),
    };
    const run = async () => {
      let stdout = '';
      let stderr = '';
      const code = await runRepriceCommand(['--from', '2026-11-01T00:00:00Z', '--to', '2026-11-05T00:00:00Z'], {
        env,
        stdout: (text) => {
          stdout += text;
        },
        stderr: (text) => {
          stderr += text;
        },
        logger: silentLogger(),
      });
      return { code, stdout, stderr };
    };
    const readBack = async () => {
      const queryApi = new InfluxDB({ url: influx.url, token: influx.token }).getQueryApi(influx.org);
      const sessions = await queryApi.collectRows<{ session_id: string; supply_cost: number }>(
        `from(bucket: "${sessionsBucket}") |> range(start: 0)
          |> filter(fn: (r) => r._measurement == "twc_session" and (r._field == "session_id" or r._field == "supply_cost"))
          |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value") |> sort(columns: ["_time"])`,
      );
      const hours = await queryApi.collectRows<{ _time: string; _value: number }>(
        `from(bucket: "${pricesBucket}") |> range(start: 0)
          |> filter(fn: (r) => r._measurement == "comed_price_hourly" and r._field == "avg_price")`,
      );
      // Only what the rewrite could change: a row's _stop is the query's own time.
      return {
        sessions: sessions.map((row) => [row.session_id, row.supply_cost]),
        hours: hours.map((row) => [row._time, row._value]),
      };
    };

    const first = await run();
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    // Nov 1 05:00 UTC to Nov 4 06:00 UTC holds 73 hours of prices; the October session lies outside.
    expect(JSON.parse(first.stdout)).toEqual({
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-11-05T00:00:00.000Z',
      prices: { hours: 73 },
      sessions: { found: 2, repriced: 2, kept: 0 },
    });
    const after = await readBack();
    for (const s of SESSIONS.slice(0, 2)) {
      const row = after.sessions.find(([id]) => id === s.id);
      expect(row?.[1]).toBeCloseTo(costOf(s, hourAverage).supply, 5);
    }
    const hourEnd = Date.UTC(2026, 10, 2, 7);
    const hour = after.hours.find(([time]) => Date.parse(String(time)) === hourEnd);
    expect(hour?.[1]).toBeCloseTo(hourAverage(hourEnd), 9);

    const second = await run();
    expect(JSON.parse(second.stdout)).toEqual(JSON.parse(first.stdout));
    expect(await readBack()).toEqual(after);
  }, 60_000);

  it.each([
    [['--from', '2026-11-01T00:00:00Z'], /--to is required/],
    [['--from', '2026-11-01', '--to', '2026-11-02T00:00:00Z'], /--from must be an ISO-8601 time with a zone/],
    [['--from', '2026-11-02T00:00:00Z', '--to', '2026-11-01T00:00:00Z'], /must be before --to/],
    [['--from', '2026-11-01T00:00:00Z', '--to', '2026-11-02T00:00:00Z', '--all'], /Unknown option '--all'/],
  ])('refuses %j with a message and exit code 2', async (argv, message) => {
    let stderr = '';
    const code = await runRepriceCommand(argv, {
      env: {},
      stdout: () => {},
      stderr: (text) => {
        stderr += text;
      },
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('names the missing setting and exits 1 without a token', async () => {
    let stderr = '';
    const code = await runRepriceCommand(
      ['--from', '2026-11-01T00:00:00Z', '--to', '2026-11-02T00:00:00Z', '--prices'],
      {
        env: {},
        stdout: () => {},
        stderr: (text) => {
          stderr += text;
        },
      },
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/INFLUXDB_TOKEN/);
  });
});
