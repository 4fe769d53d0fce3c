/**
 * Runs every dashboard query, every query variable and every alert rule
 * query on the real InfluxDB, with Grafana's macros and the template
 * variables substituted, over days of data the collector's own code wrote
 * from the charger simulator. InfluxDB's `now` is pinned to the end of the
 * seeded data, so relative ranges (-3d, -14d) and the resolution rule see
 * the seeded days as the recent past.
 */
import { InfluxDB, type QueryApi } from '@influxdata/influxdb-client';
import { generatedDayAheadCents, generatedPriceCents } from '@twc/collector/simulator/comed-prices';
import { checkDayAheadLabels } from '@twc/core/prices/day-ahead';
import { createComedProvider } from '@twc/core/prices/pricing';
import { PUBLISHED_MISMATCH_ALERT_SHARE } from '@twc/core/prices/published-check';
import { TARIFF_DEFAULTS } from '@twc/core/prices/tariff';
import { costSession } from '@twc/core/sessions/cost';
import { wallClockAt } from '@twc/core/time/wall-clock';
import { createTestBucket, servers } from '@twc/testenv/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type DashboardFile,
  durationMs,
  type FluxQuery,
  fluxQueries,
  interpolate,
  loadDashboards,
} from './dashboards.js';
import { renderProvisioning, rulesOf } from './provisioning.js';
import { PRODUCTION_BUCKETS, type SeedResult, seedDashboardData } from './seed.js';

const SEED = 7;
const CHARGER = 'garage';
/** 03:00 in Chicago on a winter night: the simulated car of this seed is charging in its overnight session. */
const END_MS = Date.UTC(2026, 0, 15, 9, 0, 0);
const HOUR_MS = 3_600_000;
const FIVE_MINUTES_MS = 300_000;
const DAY_MS = 24 * HOUR_MS;

type Row = Record<string, unknown>;

let seed: SeedResult;
let queryApi: QueryApi;
let bucketMap: Record<string, string>;
const files = loadDashboards();

function variables(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    charger: CHARGER,
    timezone: 'America/Chicago',
    temp_unit: 'C',
    window_hours: '4',
    session: seed.sessions.at(-1)?.id ?? 'none',
    ...overrides,
  };
}

async function run(
  query: Pick<FluxQuery, 'flux' | 'timeFrom'>,
  range: { fromMs: number; toMs: number },
  overrides: Record<string, string> = {},
): Promise<Row[]> {
  const fromMs = query.timeFrom ? range.toMs - durationMs(query.timeFrom) : range.fromMs;
  const flux = interpolate(query.flux, {
    fromMs,
    toMs: range.toMs,
    defaultBucket: bucketMap[PRODUCTION_BUCKETS.raw] as string,
    organization: servers().influx.org,
    variables: variables(overrides),
    buckets: bucketMap,
  });
  return queryApi.collectRows<Row>(flux);
}

function queryByTitle(uid: string, title: string, refId = 'A'): FluxQuery {
  const file = files.find((candidate) => candidate.dashboard.uid === uid) as DashboardFile;
  const matches = fluxQueries(file).filter((candidate) => candidate.source === `${title} [${refId}]`);
  if (matches.length !== 1) throw new Error(`${matches.length} queries ${title} [${refId}] in ${uid}`);
  return matches[0] as FluxQuery;
}

/** A dashboard's default range (`now-6h`, `now/d`, `now/w`, `now/M`, `now/y`) with now at END_MS. */
function defaultRange(file: DashboardFile): { fromMs: number; toMs: number } {
  const { from } = file.dashboard.time;
  const relative = /^now-(\w+)$/.exec(from);
  if (relative?.[1]) return { fromMs: END_MS - durationMs(relative[1]), toMs: END_MS };
  const unit = /^now\/(\w)$/.exec(from)?.[1];
  const local = wallClockAt(END_MS, 'America/Chicago');
  const localMidnightMs = END_MS - ((local.hour * 60 + local.minute) * 60_000 + local.second * 1000);
  const spans: Record<string, number> = { d: DAY_MS, w: 7 * DAY_MS, M: 31 * DAY_MS, y: 366 * DAY_MS };
  const span = unit ? spans[unit] : undefined;
  if (span === undefined) throw new Error(`unsupported default range ${from} in ${file.file}`);
  return { fromMs: localMidnightMs - (unit === 'd' ? 0 : span - DAY_MS), toMs: localMidnightMs + DAY_MS };
}

const seededRange = () => ({ fromMs: seed.fromMs, toMs: END_MS });

beforeAll(async () => {
  const { influx } = servers();
  seed = await seedDashboardData({
    influx,
    createBucket: (label) => createTestBucket(label),
    chargerName: CHARGER,
    endMs: END_MS,
    days: 3,
    priceDays: 15,
    seed: SEED,
  });
  bucketMap = Object.fromEntries(
    Object.entries(PRODUCTION_BUCKETS).map(([role, name]) => [
      name,
      seed.buckets[role as keyof typeof PRODUCTION_BUCKETS],
    ]),
  );
  queryApi = new InfluxDB({ url: influx.url, token: influx.token, timeout: 60_000 }).getQueryApi({
    org: influx.org,
    now: () => new Date(END_MS).toISOString(),
  });
}, 180_000);

describe('seeded data', () => {
  it('holds closed sessions and one still charging at the end', () => {
    expect(seed.sessions.length).toBeGreaterThanOrEqual(2);
    expect(seed.openSessionAtEnd).toBe(true);
  });
});

describe.each(files.map((file) => [file.dashboard.title, file] as const))('%s', (_title, file) => {
  it('runs every query over the seeded days without error, and every panel and variable returns data', async () => {
    const empty: string[] = [];
    const rowsByPanel = new Map<unknown, number>();
    for (const query of fluxQueries(file)) {
      let rows: Row[];
      try {
        rows = await run(query, seededRange());
      } catch (error) {
        throw new Error(`${query.source}: ${(error as Error).message}`);
      }
      if (query.panel) rowsByPanel.set(query.panel, (rowsByPanel.get(query.panel) ?? 0) + rows.length);
      else if (rows.length === 0) empty.push(query.source);
    }
    for (const [panel, count] of rowsByPanel) {
      if (count === 0) empty.push((panel as { title: string }).title);
    }
    expect(empty).toEqual([]);
  });

  it('runs every query over its default time range without error', async () => {
    const range = defaultRange(file);
    for (const query of fluxQueries(file)) {
      await expect(run(query, range), query.source).resolves.toBeInstanceOf(Array);
    }
  });
});

describe('what the panels show', () => {
  it('picks the bucket whose resolution fits the range and whose retention still holds it', async () => {
    const source = queryByTitle('twc-live-overview', 'Power').flux;
    const rule = /span = [\s\S]*?else "twc_1h"/.exec(source)?.[0];
    expect(rule).toBeDefined();
    const probe = { flux: `import "array"\n${rule}\narray.from(rows: [{tier: tier}])` };
    const cases: [number, number, string][] = [
      [END_MS - 3 * HOUR_MS, END_MS, seed.buckets.raw],
      [END_MS - 2 * DAY_MS, END_MS, seed.buckets.m1],
      [END_MS - 20 * DAY_MS, END_MS, seed.buckets.m5],
      [END_MS - 400 * DAY_MS, END_MS, seed.buckets.h1],
      // An hour from ten days ago is past the raw bucket's seven days.
      [END_MS - 10 * DAY_MS, END_MS - 10 * DAY_MS + HOUR_MS, seed.buckets.m1],
      [END_MS - 100 * DAY_MS, END_MS - 99 * DAY_MS, seed.buckets.m5],
    ];
    for (const [fromMs, toMs, expected] of cases) {
      const rows = await run(probe, { fromMs, toMs });
      expect(
        rows.map((row) => row.tier),
        `${(toMs - fromMs) / HOUR_MS} h`,
      ).toEqual([expected]);
    }
  });

  it('shows the charging power from every tier', async () => {
    const power = queryByTitle('twc-live-overview', 'Power');
    const maxPower = (rows: Row[]) => Math.max(...rows.map((row) => Number(row._value)));
    const twoDays = await run(power, { fromMs: END_MS - 2 * DAY_MS, toMs: END_MS });
    const peak = twoDays.reduce((best, row) => (Number(row._value) > Number(best._value) ? row : best));
    const peakMs = Date.parse(String(peak._time));
    // Six hours around the peak read the raw bucket, longer ranges the downsampled ones.
    const ranges = [
      { fromMs: peakMs - 3 * HOUR_MS, toMs: peakMs + 3 * HOUR_MS },
      { fromMs: END_MS - 2 * DAY_MS, toMs: END_MS },
      { fromMs: END_MS - 20 * DAY_MS, toMs: END_MS },
      { fromMs: END_MS - 400 * DAY_MS, toMs: END_MS },
    ];
    for (const range of ranges) {
      const rows = await run(power, range);
      expect(maxPower(rows), `${(range.toMs - range.fromMs) / HOUR_MS} h`).toBeGreaterThan(1000);
    }
  });

  it("prices the open session so far as ComEd bills it: each hour's energy at that hour's average", async () => {
    const [row] = await run(queryByTitle('twc-live-overview', 'Session cost so far'), seededRange());
    const cost = Number(row?.['Supply cost so far']);
    const [energy] = await run(queryByTitle('twc-live-overview', 'Session energy'), seededRange());
    expect(Number(energy?._value)).toBeGreaterThan(1);
    // The session machine's energy by interval, priced by the cost engine at the hourly averages.
    const expected = costSession(seed.openSessionEnergy, createComedProvider({ prices: seed.prices, asOfMs: END_MS }), {
      ...TARIFF_DEFAULTS,
      deliveryCentsPerKwh: 0,
      otherCentsPerKwh: 0,
    });
    expect(expected.provisional).toBe(false);
    expect(cost).toBeCloseTo(expected.supplyCostUsd, 5);
  });

  it('shows the latest 5-minute price as the live price', async () => {
    const rows = await run(queryByTitle('twc-live-overview', 'Live price (5-minute)'), seededRange());
    // Flux ranges exclude their stop: the price stamped exactly at "now" is not read yet.
    expect(rows.map((row) => row._value)).toEqual([generatedPriceCents(SEED, END_MS - FIVE_MINUTES_MS)]);
  });

  it('counts every closed session and its energy in the period totals', async () => {
    const range = seededRange();
    const sessions = await run(queryByTitle('twc-monthly-summary', 'Sessions'), range);
    expect(sessions.map((row) => row['This period'])).toEqual([seed.sessions.length]);
    const energy = await run(queryByTitle('twc-monthly-summary', 'Energy'), range);
    const expectedKwh = seed.sessions.reduce((sum, session) => sum + session.energyWh, 0) / 1000;
    expect(Number(energy[0]?.['This period'])).toBeCloseTo(expectedKwh, 2);
    const history = await run(queryByTitle('twc-session-history', 'Sessions'), range);
    expect(history.map((row) => row.session_id).sort()).toEqual(seed.sessions.map((session) => session.id).sort());
  });

  it('splits energy into local days that add up to the total', async () => {
    const rows = await run(queryByTitle('twc-daily-analysis', 'Last 30 days per day'), seededRange());
    const total = rows.reduce((sum, row) => sum + Number(row.Energy), 0);
    const expectedKwh = seed.sessions.reduce((sum, session) => sum + session.energyWh, 0) / 1000;
    expect(total).toBeCloseTo(expectedKwh, 2);
    // The first bar starts where the range starts; every later one at a local midnight.
    for (const row of rows.slice(1)) {
      const local = wallClockAt(Date.parse(String(row._time)), 'America/Chicago');
      expect([local.hour, local.minute]).toEqual([0, 0]);
    }
  });

  it('converts temperatures to °F when asked', async () => {
    const query = queryByTitle('twc-system-health', 'Temperatures');
    const celsius = await run(query, seededRange(), { temp_unit: 'C' });
    const fahrenheit = await run(query, seededRange(), { temp_unit: 'F' });
    expect(fahrenheit).toHaveLength(celsius.length);
    const first = celsius[0] as Row;
    const match = fahrenheit.find(
      (row) => row._time === first._time && String(row.sensor) === String(first.sensor).replace('°C', '°F'),
    );
    expect(Number(match?._value)).toBeCloseTo((Number(first._value) * 9) / 5 + 32, 6);
  });

  it('finds the cheapest contiguous overnight window of the chosen length', async () => {
    const query = queryByTitle('twc-price-analysis', 'Cheapest window tonight');
    for (const hours of [1, 3, 6]) {
      const rows = await run(query, seededRange(), { window_hours: String(hours) });
      expect(rows).toHaveLength(3);
      const prices = rows.map((row) => Number(row['Average price']));
      expect([...prices].sort((a, b) => a - b)).toEqual(prices);
      for (const row of rows) {
        const start = Number(String(row.Start).slice(0, 2));
        const end = Number(String(row.End).slice(0, 2));
        expect((end - start + 24) % 24).toBe(hours);
        // Inside 18:00 -> 07:00.
        expect(start >= 18 || start + hours <= 7).toBe(true);
      }
    }
  });
});

describe('forward prices', () => {
  const timeOf = (row: Row) => Date.parse(String(row._time));

  it("lines up each hour's day-ahead price with its real-time average, both at the hour's end", async () => {
    const realTime = await run(queryByTitle('twc-price-analysis', 'Day-ahead vs real-time', 'A'), seededRange());
    const dayAhead = await run(queryByTitle('twc-price-analysis', 'Day-ahead vs real-time', 'B'), seededRange());
    // Every hour ending in [start, end): the range's stop is exclusive.
    const hourEndings = Array.from({ length: 3 * 24 }, (_, index) => seed.fromMs + index * HOUR_MS);
    expect(realTime.map(timeOf)).toEqual(hourEndings);
    expect(dayAhead.map(timeOf)).toEqual(hourEndings);
    for (const row of realTime) {
      // The hour ending H averages the twelve prices stamped H - 60 min through H - 5 min.
      const stamps = Array.from({ length: 12 }, (_, index) => timeOf(row) - HOUR_MS + index * FIVE_MINUTES_MS);
      const average = stamps.reduce((sum, stampMs) => sum + generatedPriceCents(SEED, stampMs), 0) / 12;
      expect(Number(row['Real-time hourly average'])).toBeCloseTo(average, 6);
    }
    for (const row of dayAhead) {
      expect(row['Day-ahead'], String(row._time)).toBe(generatedDayAheadCents(SEED, timeOf(row)));
    }
    // As drawn, the two curves agree best with neither moved: an hour either way they agree less.
    const check = checkDayAheadLabels(
      new Map(dayAhead.map((row) => [timeOf(row), Number(row['Day-ahead'])])),
      new Map(realTime.map((row) => [timeOf(row), Number(row['Real-time hourly average'])])),
    );
    expect(check.bestOffsetHours).toBe(0);
  });

  it("shows each day's backtest: the three errors and the overnight share captured", async () => {
    const file = files.find((candidate) => candidate.dashboard.uid === 'twc-price-analysis') as DashboardFile;
    const rows = await run(queryByTitle('twc-price-analysis', 'Forecast accuracy'), defaultRange(file));
    // The default week holds the seeded seven days, each stamped with its local midnight.
    expect(seed.accuracy).toHaveLength(7);
    expect(rows.map(timeOf)).toEqual(seed.accuracy.map((entry) => entry.timeMs));
    for (const [index, row] of rows.entries()) {
      const { result } = seed.accuracy[index] as (typeof seed.accuracy)[number];
      expect(wallClockAt(timeOf(row), 'America/Chicago')).toMatchObject({ hour: 0, minute: 0 });
      expect(row['Day-ahead MAE']).toBe(result.dayAhead.mae);
      expect(row['Forecast MAE']).toBe(result.forecast.mae);
      expect(row['Flat guess MAE']).toBe(result.flat.mae);
      expect(row['Overnight captured share'] ?? null).toBe(result.overnight.withDayAhead.capturedShare);
    }
    // The seeded figures are there to be shown: each day has errors measured on hours.
    expect(
      rows.every((row) => typeof row['Day-ahead MAE'] === 'number' && typeof row['Flat guess MAE'] === 'number'),
    ).toBe(true);
    expect(rows.some((row) => typeof row['Overnight captured share'] === 'number')).toBe(true);
  });
});

describe('alert rules', () => {
  it('run on InfluxDB and see the seeded state: online, fresh data, a priced session still open', async () => {
    const results = new Map<string, Row[]>();
    for (const rule of rulesOf(renderProvisioning({}))) {
      for (const data of rule.data) {
        if (!data.model.query) continue;
        const fromMs = END_MS - (data.relativeTimeRange?.from ?? 600) * 1000;
        results.set(rule.uid, await run({ flux: data.model.query }, { fromMs, toMs: END_MS }));
      }
    }
    expect(results.get('twc-charger-offline')?.map((row) => row._value)).toEqual([1]);
    // The newest sample and price before "now" (range stops are exclusive), in seconds.
    expect(results.get('twc-data-stale')?.map((row) => row._value)).toEqual([5]);
    expect(results.get('twc-price-stale')?.map((row) => row._value)).toEqual([300]);
    expect(results.get('twc-price-spike')?.map((row) => row._value)).toEqual([
      generatedPriceCents(SEED, END_MS - FIVE_MINUTES_MS),
    ]);
    expect(results.get('twc-handle-temp-high')?.length).toBe(1);
    // One hour of the seeded days disagrees with ComEd's published price: far below the alert's share.
    const share = results.get('twc-price-clock')?.map((row) => Number(row._value)) ?? [];
    expect(share).toHaveLength(1);
    expect(share[0]).toBeLessThan(PUBLISHED_MISMATCH_ALERT_SHARE);
    // The last session closed more than ten minutes before the end: nothing to announce.
    expect(results.get('twc-session-complete')).toEqual([]);
  });

  it('announces a session in the ten minutes after it closed', async () => {
    const rule = rulesOf(renderProvisioning({})).find((candidate) => candidate.uid === 'twc-session-complete');
    const flux = rule?.data.find((data) => data.model.query)?.model.query as string;
    const last = seed.sessions.at(-1);
    expect(last?.endTimeMs).toBeTypeOf('number');
    const atMs = (last?.endTimeMs as number) + 5 * 60_000;
    const api = new InfluxDB({ url: servers().influx.url, token: servers().influx.token }).getQueryApi({
      org: servers().influx.org,
      now: () => new Date(atMs).toISOString(),
    });
    const rows = await api.collectRows<Row>(
      interpolate(flux, {
        fromMs: atMs - 600_000,
        toMs: atMs,
        defaultBucket: seed.buckets.raw,
        organization: servers().influx.org,
        variables: {},
        buckets: bucketMap,
      }),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.charger_name).toBe(CHARGER);
    expect(Number(rows[0]?._value)).toBeCloseTo((last?.energyWh as number) / 1000, 3);
  });
});
