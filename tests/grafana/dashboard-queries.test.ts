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
import type { PointData } from '@twc/core/contracts/influx-schema';
import { checkDayAheadLabels } from '@twc/core/prices/day-ahead';
import { forecastPoints, isForecastStale } from '@twc/core/prices/forecast-snapshot';
import { pricePoints } from '@twc/core/prices/price-plan';
import { createComedProvider } from '@twc/core/prices/pricing';
import { PUBLISHED_MISMATCH_ALERT_SHARE } from '@twc/core/prices/published-check';
import { TARIFF_DEFAULTS } from '@twc/core/prices/tariff';
import { costSession } from '@twc/core/sessions/cost';
import { utcInstantsForWallClock, wallClockAt } from '@twc/core/time/wall-clock';
import { createTestBucket, servers } from '@twc/testenv/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  allPanels,
  type Dashboard,
  type DashboardFile,
  durationMs,
  type FluxQuery,
  fluxQueries,
  grafanaIntervalMs,
  interpolate,
  loadDashboards,
  type Panel,
  panelMaxDataPoints,
  panelRange,
} from './dashboards.js';
import { renderProvisioning, rulesOf } from './provisioning.js';
import {
  forecastAt,
  PRODUCTION_BUCKETS,
  type SeededForecast,
  type SeedResult,
  seedDashboardData,
  writePoints,
} from './seed.js';

const SEED = 7;
const CHARGER = 'garage';
/** 03:00 in Chicago on a winter night: the simulated car of this seed is charging in its overnight session. */
const END_MS = Date.UTC(2026, 0, 15, 9, 0, 0);
const HOUR_MS = 3_600_000;
const FIVE_MINUTES_MS = 300_000;
const DAY_MS = 24 * HOUR_MS;

type Row = Record<string, unknown>;
type FieldConfig = {
  defaults: { custom?: Record<string, unknown> };
  overrides: { matcher: { options: string }; properties: { id: string; value: unknown }[] }[];
};

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

/** Where a query runs other than at END_MS on the seeded buckets: InfluxDB's now, and a prices bucket of its own. */
interface QueryAt {
  nowMs?: number;
  prices?: string;
  /** v.windowPeriod; otherwise about a thousandth of the range. */
  windowMs?: number;
  sessions?: string;
}

async function run(
  query: Pick<FluxQuery, 'flux' | 'timeFrom'>,
  range: { fromMs: number; toMs: number },
  overrides: Record<string, string> = {},
  at: QueryAt = {},
): Promise<Row[]> {
  const { fromMs, toMs } = panelRange(query.timeFrom, range);
  const flux = interpolate(query.flux, {
    fromMs,
    toMs,
    windowMs: at.windowMs,
    defaultBucket: bucketMap[PRODUCTION_BUCKETS.raw] as string,
    organization: servers().influx.org,
    variables: variables(overrides),
    buckets: {
      ...bucketMap,
      ...(at.prices ? { [PRODUCTION_BUCKETS.prices]: at.prices } : {}),
      ...(at.sessions ? { [PRODUCTION_BUCKETS.sessions]: at.sessions } : {}),
    },
  });
  if (at.nowMs === undefined) return queryApi.collectRows<Row>(flux);
  const { influx } = servers();
  const api = new InfluxDB({ url: influx.url, token: influx.token, timeout: 60_000 }).getQueryApi({
    org: influx.org,
    now: () => new Date(at.nowMs as number).toISOString(),
  });
  return api.collectRows<Row>(flux);
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
  const timeOf = (row: Row) => Date.parse(String(row._time));
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

  it('draws each 5-minute price from its stamp on, each hourly average over the hour before its stamp', async () => {
    const rows = await run(queryByTitle('twc-price-analysis', '5-minute and hourly prices'), {
      fromMs: END_MS - HOUR_MS,
      toMs: END_MS,
    });
    // Over an hour the windows are shorter than five minutes: each holds one price, stamped where it starts.
    const stamps = Array.from({ length: 12 }, (_, index) => END_MS - HOUR_MS + index * FIVE_MINUTES_MS);
    expect(rows.map((row) => [Date.parse(String(row._time)), row['5-minute']])).toEqual(
      stamps.map((stampMs) => [stampMs, generatedPriceCents(SEED, stampMs)]),
    );
    const interpolation = (uid: string, title: string, series: string) => {
      const panel = allPanels(files.find((file) => file.dashboard.uid === uid)?.dashboard as Dashboard).find(
        (candidate) => candidate.title === title,
      ) as Panel;
      const { defaults, overrides } = panel.fieldConfig as FieldConfig;
      const override = overrides.find((entry) => entry.matcher.options === series);
      const property = override?.properties.find((entry) => entry.id === 'custom.lineInterpolation');
      return property ? property.value : defaults.custom?.lineInterpolation;
    };
    expect(interpolation('twc-price-analysis', '5-minute and hourly prices', '5-minute')).toBe('stepAfter');
    expect(interpolation('twc-price-analysis', '5-minute and hourly prices', 'Hourly average')).toBe('stepBefore');
    expect(interpolation('twc-live-overview', 'Price', '5-minute price')).toBe('stepAfter');
    expect(interpolation('twc-price-analysis', 'Day-ahead vs real-time', 'Day-ahead')).toBe('stepBefore');
    expect(interpolation('twc-price-analysis', 'Day-ahead vs real-time', 'Real-time hourly average')).toBe(
      'stepBefore',
    );
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

  it('draws an hour of no charging as a zero bar, also over a day without any session', async () => {
    const energy = queryByTitle('twc-daily-analysis', 'Energy and cost per hour', 'A');
    const cost = queryByTitle('twc-daily-analysis', 'Energy and cost per hour', 'B');
    // A day a month before the seeded data: no session, yet a bar for each of its 24 hours.
    const quiet = { fromMs: END_MS - 40 * DAY_MS, toMs: END_MS - 39 * DAY_MS };
    for (const [query, column] of [
      [energy, 'Energy'],
      [cost, 'Cost'],
    ] as const) {
      const rows = await run(query, quiet);
      expect(rows.map((row) => [timeOf(row), row[column]])).toEqual(
        Array.from({ length: 24 }, (_, index) => [quiet.fromMs + index * HOUR_MS, 0]),
      );
    }
    // Over the seeded days the bars add up to the closed sessions' energy: the zero added is no energy.
    const rows = await run(energy, seededRange());
    const total = rows.reduce((sum, row) => sum + Number(row.Energy), 0);
    expect(total).toBeCloseTo(seed.sessions.reduce((sum, session) => sum + session.energyWh, 0) / 1000, 6);
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

  it('shows the hottest handle and the slowest poll of any range, not the highest of the means', async () => {
    const rawMax = async (measurement: string, field: string) => {
      const rows = await queryApi.collectRows<Row>(`from(bucket: "${seed.buckets.raw}")
        |> range(start: ${new Date(seed.fromMs).toISOString()}, stop: ${new Date(END_MS).toISOString()})
        |> filter(fn: (r) => r._measurement == "${measurement}" and r._field == "${field}")
        |> max()`);
      return Number(rows[0]?._value);
    };
    const hottest = await rawMax('twc_vitals', 'handle_temp_c');
    const slowest = await rawMax('twc_health', 'poll_ms');
    expect(slowest).toBe(480);
    // What the panels showed before: the highest hourly mean, well below the hottest sample.
    const [hourlyMean] = await queryApi.collectRows<Row>(`from(bucket: "${seed.buckets.h1}")
      |> range(start: 0)
      |> filter(fn: (r) => r._measurement == "twc_vitals" and r._field == "handle_temp_c")
      |> max()`);
    expect(Number(hourlyMean?._value)).toBeLessThan(hottest - 0.5);
    // The raw bucket (three hours), the 1-minute, 5-minute and 1-hour tiers.
    const ranges = [
      { fromMs: END_MS - 3 * HOUR_MS, toMs: END_MS },
      seededRange(),
      { fromMs: END_MS - 20 * DAY_MS, toMs: END_MS },
      { fromMs: END_MS - 400 * DAY_MS, toMs: END_MS },
    ];
    const temperature = queryByTitle('twc-system-health', 'Highest handle temperature');
    const polling = queryByTitle('twc-system-health', 'Polling');
    for (const range of ranges.slice(1)) {
      const days = `${(range.toMs - range.fromMs) / DAY_MS} d`;
      const [row] = await run(temperature, range);
      expect(Number(row?._value), days).toBeCloseTo(hottest, 9);
      expect(row?.sensor).toBe('handle °C');
      const polls = (await run(polling, range)).filter((entry) => entry._field === 'poll_ms');
      expect(Math.max(...polls.map((entry) => Number(entry._value))), days).toBe(480);
    }
    // Three hours of raw data: the hottest of those hours, and the slow polls among them.
    const [recent] = await run(temperature, ranges[0] as { fromMs: number; toMs: number });
    expect(Number(recent?._value)).toBeLessThanOrEqual(hottest);
    const recentPolls = (await run(polling, ranges[0] as { fromMs: number; toMs: number })).filter(
      (entry) => entry._field === 'poll_ms',
    );
    expect(Math.max(...recentPolls.map((entry) => Number(entry._value)))).toBe(480);
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

describe('over 30 days and a year', () => {
  let yearOfPrices: string;
  beforeAll(async () => {
    // A year of 5-minute prices and their hourly averages: the charger data covers the seeded days only, the
    // prices the whole range, so a panel that draws every price shows it here.
    yearOfPrices = await createTestBucket('gf-prices-year');
    const prices = [];
    for (let stampMs = END_MS - 366 * DAY_MS; stampMs < END_MS; stampMs += FIVE_MINUTES_MS) {
      prices.push({ timeMs: stampMs, priceCentsPerKwh: generatedPriceCents(SEED, stampMs) });
    }
    await writePoints(servers().influx, yearOfPrices, pricePoints(prices, END_MS));
  }, 120_000);

  /**
   * Grafana's Flux data source refuses a series of more than 10 × maxDataPoints points
   * (pkg/tsdb/influxdb/flux: maxPointsEnforceFactor) and shows an error instead of the
   * panel. Every series must stay within maxDataPoints itself (panelMaxDataPoints: the
   * panel's own, or its width at the rule of dashboards.ts), or within the windows of
   * v.windowPeriod that fit the range where Grafana rounded that period down
   * (grafanaIntervalMs): what a query aggregated to v.windowPeriod returns.
   */
  it.each([
    ['30 days', 30 * DAY_MS],
    ['a year', 365 * DAY_MS],
  ])(
    'keeps every series of every panel within its maxDataPoints over %s',
    async (_label, spanMs) => {
      const over: string[] = [];
      let largest = 0;
      for (const file of files) {
        for (const query of fluxQueries(file)) {
          const panel = query.panel;
          if (!panel) continue;
          const range = panelRange(query.timeFrom, { fromMs: END_MS - spanMs, toMs: END_MS });
          const rangeMs = range.toMs - range.fromMs;
          const maxDataPoints = panelMaxDataPoints(panel);
          const windowMs = grafanaIntervalMs(
            rangeMs,
            maxDataPoints,
            panel.interval ? durationMs(panel.interval) : undefined,
          );
          const rows = await run(query, range, {}, { prices: yearOfPrices, windowMs });
          const series = new Map<string, number>();
          for (const row of rows) {
            const key = `${row.result} ${row.table}`;
            series.set(key, (series.get(key) ?? 0) + 1);
          }
          const limit = Math.max(maxDataPoints, Math.ceil(rangeMs / windowMs) + 1);
          for (const count of series.values()) {
            largest = Math.max(largest, count);
            if (count > limit)
              over.push(`${file.dashboard.title} / ${query.source}: ${count} points, at most ${limit}`);
          }
        }
      }
      expect(over).toEqual([]);
      // The year of prices reaches the panels: some series is long, just within its limit.
      expect(largest).toBeGreaterThan(300);
    },
    300_000,
  );

  const timeOf = (row: Row) => Date.parse(String(row._time));
  const pricesIn = (fromMs: number, toMs: number) => {
    const prices: { timeMs: number; cents: number }[] = [];
    for (
      let stampMs = Math.ceil(fromMs / FIVE_MINUTES_MS) * FIVE_MINUTES_MS;
      stampMs < toMs;
      stampMs += FIVE_MINUTES_MS
    ) {
      prices.push({ timeMs: stampMs, cents: generatedPriceCents(SEED, stampMs) });
    }
    return prices;
  };
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const windowOf = (uid: string, title: string, rangeMs: number) => {
    const panel = allPanels(files.find((file) => file.dashboard.uid === uid)?.dashboard as Dashboard).find(
      (candidate) => candidate.title === title,
    ) as Panel;
    return grafanaIntervalMs(rangeMs, panelMaxDataPoints(panel));
  };

  it('counts every 5-minute price of the range once, in its half-cent bin', async () => {
    const range = { fromMs: END_MS - 30 * DAY_MS, toMs: END_MS };
    const rows = await run(
      queryByTitle('twc-price-analysis', 'Distribution of 5-minute prices'),
      range,
      {},
      {
        prices: yearOfPrices,
      },
    );
    // The histogram panel takes rows as bins only when their first columns are xMin and xMax.
    expect(Object.keys(rows[0] ?? {}).filter((key) => key !== 'result' && key !== 'table')).toEqual([
      'xMin',
      'xMax',
      'Prices',
    ]);
    const expected = new Map<number, number>();
    for (const price of pricesIn(range.fromMs, range.toMs)) {
      // Bins are (xMin, xMax]: a price on a bound counts in the bin below it.
      const xMax = Math.ceil(price.cents * 2) / 2;
      expected.set(xMax, (expected.get(xMax) ?? 0) + 1);
    }
    expect(rows.map((row) => [row.xMin, row.xMax, row.Prices])).toEqual(
      [...expected].sort(([a], [b]) => a - b).map(([xMax, count]) => [xMax - 0.5, xMax, count]),
    );
  });

  it("draws a 5-minute window's mean from its start and an hourly window's mean up to its end", async () => {
    // 30 days: 30-minute windows of 5-minute prices, each the mean of the six prices stamped in it.
    const month = { fromMs: END_MS - 30 * DAY_MS, toMs: END_MS };
    const monthWindowMs = windowOf('twc-price-analysis', '5-minute and hourly prices', 30 * DAY_MS);
    expect(monthWindowMs).toBe(30 * 60_000);
    const fiveMinute = await run(
      queryByTitle('twc-price-analysis', '5-minute and hourly prices', 'A'),
      month,
      {},
      {
        prices: yearOfPrices,
        windowMs: monthWindowMs,
      },
    );
    const byStart = new Map<number, number[]>();
    for (const price of pricesIn(month.fromMs, month.toMs)) {
      const startMs = Math.floor(price.timeMs / monthWindowMs) * monthWindowMs;
      byStart.set(startMs, [...(byStart.get(startMs) ?? []), price.cents]);
    }
    expect(fiveMinute.map(timeOf)).toEqual([...byStart.keys()]);
    for (const row of fiveMinute) expect(Number(row['5-minute'])).toBeCloseTo(mean(byStart.get(timeOf(row)) ?? []), 9);

    // A year: 6-hour windows of hourly averages, each stamped with the end of its last hour.
    const year = { fromMs: END_MS - 365 * DAY_MS, toMs: END_MS };
    const yearWindowMs = windowOf('twc-price-analysis', '5-minute and hourly prices', 365 * DAY_MS);
    expect(yearWindowMs).toBe(6 * HOUR_MS);
    const hourly = await run(
      queryByTitle('twc-price-analysis', '5-minute and hourly prices', 'B'),
      year,
      {},
      {
        prices: yearOfPrices,
        windowMs: yearWindowMs,
      },
    );
    const byEnd = new Map<number, number[]>();
    for (let hourEndingMs = year.fromMs; hourEndingMs < year.toMs; hourEndingMs += HOUR_MS) {
      const average = mean(pricesIn(hourEndingMs - HOUR_MS, hourEndingMs).map((price) => price.cents));
      const endMs = Math.min(
        Math.floor((hourEndingMs - HOUR_MS) / yearWindowMs) * yearWindowMs + yearWindowMs,
        year.toMs - HOUR_MS,
      );
      byEnd.set(endMs, [...(byEnd.get(endMs) ?? []), average]);
    }
    expect(hourly.map(timeOf)).toEqual([...byEnd.keys()]);
    for (const row of hourly) expect(Number(row['Hourly average'])).toBeCloseTo(mean(byEnd.get(timeOf(row)) ?? []), 9);
  }, 120_000);
});

describe('across the 2025 daylight-saving changes in Chicago', () => {
  const TIME_ZONE = 'America/Chicago';
  const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  // Sunday 9 March 2025 has 23 hours (02:00 does not exist), Sunday 2 November 2025 has 25 (01:00 twice).
  const DAYS = [
    { label: '9 March 2025', date: { year: 2025, month: 3, day: 9 }, hours: 23 },
    { label: '2 November 2025', date: { year: 2025, month: 11, day: 2 }, hours: 25 },
  ];
  const midnight = (date: { year: number; month: number; day: number }) =>
    utcInstantsForWallClock({ ...date, hour: 0, minute: 0 }, TIME_ZONE)[0] as number;
  const dayRange = (date: { year: number; month: number; day: number }) => ({
    fromMs: midnight(date),
    toMs: midnight({ ...date, day: date.day + 1 }),
  });
  let prices: string;
  let sessions: string;
  /** Energy and cost of each charger's session hour, by the hour's start: a different amount every hour. */
  const sessionHours: { charger: string; timeMs: number; energyWh: number; costUsd: number }[] = [];

  beforeAll(async () => {
    prices = await createTestBucket('gf-prices-dst');
    sessions = await createTestBucket('gf-sessions-dst');
    const stamps: { timeMs: number; priceCentsPerKwh: number }[] = [];
    const points: PointData[] = [];
    for (const { date } of DAYS) {
      const { fromMs, toMs } = dayRange(date);
      for (let stampMs = fromMs - 2 * HOUR_MS; stampMs < toMs + HOUR_MS; stampMs += FIVE_MINUTES_MS) {
        stamps.push({ timeMs: stampMs, priceCentsPerKwh: generatedPriceCents(SEED, stampMs) });
      }
      for (let hourMs = fromMs; hourMs < toMs; hourMs += HOUR_MS) {
        const k = (hourMs - fromMs) / HOUR_MS;
        for (const [index, charger] of ['garage', 'carport'].entries()) {
          // The carport's sessions start ten minutes into the hour: its first hour is stamped with the start.
          const entry = {
            charger,
            timeMs: hourMs + index * 600_000,
            energyWh: 1000 + ((k * 377 + index * 211) % 5000),
            costUsd: 0,
          };
          entry.costUsd = (entry.energyWh / 1000) * (0.05 + (k % 5) * 0.01);
          sessionHours.push(entry);
          points.push({
            measurement: 'twc_session_hour',
            tags: { charger_id: `PGT-${charger}`, charger_name: charger },
            fields: {
              session_id: `${charger}-${date.month}`,
              hour_ending: new Date(hourMs + HOUR_MS).toISOString(),
              energy_wh: entry.energyWh,
              total_cost: entry.costUsd,
            },
            timeMs: entry.timeMs,
          });
        }
      }
    }
    await writePoints(servers().influx, prices, pricePoints(stamps, Date.UTC(2026, 0, 1)));
    await writePoints(servers().influx, sessions, points);
  });

  it.each(DAYS)("averages each hour's price under its local hour and weekday on $label", async ({ date, hours }) => {
    const range = dayRange(date);
    expect(range.toMs - range.fromMs).toBe(hours * HOUR_MS);
    const rows = await run(
      queryByTitle('twc-price-analysis', 'Heat map: average price by hour and weekday'),
      range,
      {},
      { prices },
    );
    const cells = new Map<string, number[]>();
    // The hourly averages stamped in the range, each under the local hour it starts at.
    for (let hourEndingMs = range.fromMs; hourEndingMs < range.toMs; hourEndingMs += HOUR_MS) {
      const local = wallClockAt(hourEndingMs - HOUR_MS, TIME_ZONE);
      const key = `${String(local.hour).padStart(2, '0')}:00 ${WEEKDAYS[local.weekday]}`;
      let sum = 0;
      for (let k = 12; k >= 1; k--) sum += generatedPriceCents(SEED, hourEndingMs - k * FIVE_MINUTES_MS);
      cells.set(key, [...(cells.get(key) ?? []), sum / 12]);
    }
    const actual = new Map<string, number>();
    for (const row of rows) {
      for (const day of WEEKDAYS) {
        if (typeof row[day] === 'number') actual.set(`${row.hour} ${day}`, row[day] as number);
      }
    }
    expect([...actual.keys()].sort()).toEqual([...cells.keys()].sort());
    for (const [key, values] of cells) {
      expect(actual.get(key), key).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 9);
    }
    const sunday = [...cells.keys()].filter((key) => key.endsWith('Sun'));
    if (hours === 23) expect(sunday).not.toContain('02:00 Sun');
    if (hours === 25) expect(cells.get('01:00 Sun')).toHaveLength(2);
  });

  it.each(DAYS)('adds up energy and cost by local hour over the chargers on $label', async ({ date }) => {
    const range = dayRange(date);
    const rows = await run(
      queryByTitle('twc-daily-analysis', 'Top charging hours'),
      range,
      { charger: '.*' },
      { sessions },
    );
    const byHour = new Map<number, { energy: number; cost: number }>();
    for (const entry of sessionHours.filter((e) => e.timeMs >= range.fromMs && e.timeMs < range.toMs)) {
      const { hour } = wallClockAt(entry.timeMs, TIME_ZONE);
      const total = byHour.get(hour) ?? { energy: 0, cost: 0 };
      byHour.set(hour, { energy: total.energy + entry.energyWh, cost: total.cost + entry.costUsd });
    }
    const top = [...byHour].sort(([, a], [, b]) => b.energy - a.energy).slice(0, 6);
    expect(rows.map((row) => row.Hour)).toEqual(top.map(([hour]) => `${String(hour).padStart(2, '0')}:00`));
    for (const [index, [, total]] of top.entries()) {
      expect(Number(rows[index]?.Energy)).toBeCloseTo(total.energy / 1000, 9);
      expect(Number(rows[index]?.Cost)).toBeCloseTo(total.cost, 9);
    }
  });
});

describe('forward prices', () => {
  const timeOf = (row: Row) => Date.parse(String(row._time));
  const latest = (): SeededForecast => seed.forecasts.at(-1) as SeededForecast;
  /** The hours of a forecast ending in (fromMs, toMs], by source. */
  const hoursOf = (forecast: SeededForecast, source: string, fromMs: number, toMs: number) =>
    forecast.snapshot.hours
      .filter((hour) => hour.source === source)
      .map((hour) => ({ ...hour, timeMs: Date.parse(hour.hour_ending) }))
      .filter((hour) => hour.timeMs > fromMs && hour.timeMs <= toMs);
  const next24 = (refId: string) => queryByTitle('twc-live-overview', 'Next 24 hours', refId);
  const tonightWindow = () => queryByTitle('twc-live-overview', "Tonight's cheapest window");
  /** What the two live forecast panels return: the rows of Next 24 hours A, B, C and of Tonight's cheapest window. */
  async function livePanels(at: QueryAt): Promise<[Row[], Row[], Row[], Row[]]> {
    const nowMs = at.nowMs ?? END_MS;
    const range = { fromMs: nowMs - 6 * HOUR_MS, toMs: nowMs };
    const [a, b, c, tonight] = [next24('A'), next24('B'), next24('C'), tonightWindow()];
    return Promise.all([
      run(a, range, {}, at),
      run(b, range, {}, at),
      run(c, range, {}, at),
      run(tonight, range, {}, at),
    ]);
  }

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

  it('shows the next 24 hours of the current forecast, day-ahead and forecast hours apart, with their band', async () => {
    const [dayAhead, forecast, band] = await livePanels({});
    const current = latest();
    // The forecast current at END_MS was made four minutes before: its 48 hours, from the current one, reach
    // 47 hours ahead (what tells the panels a forecast is still rewritten).
    expect(Date.parse(current.snapshot.computed_at)).toBe(END_MS - 4 * 60_000);
    expect(Date.parse(current.snapshot.hours.at(-1)?.hour_ending as string)).toBe(END_MS + 47 * HOUR_MS);
    const hourEndings = Array.from({ length: 24 }, (_, index) => END_MS + (index + 1) * HOUR_MS);
    expect([...dayAhead, ...forecast].map(timeOf)).toEqual(hourEndings);
    // Today's day-ahead hours end at 00:00 through 23:00 (label 0 of a date is the hour ending at its midnight);
    // the next come with tomorrow's, at 16:30. The hours after them are forecast.
    const lastDayAheadMs = seed.dayAhead.at(-1)?.hourEndingsMs[0] as number;
    expect(wallClockAt(lastDayAheadMs, 'America/Chicago')).toMatchObject({ day: 15, hour: 23 });
    expect(dayAhead.map(timeOf)).toEqual(hourEndings.filter((timeMs) => timeMs <= lastDayAheadMs));
    expect(forecast.length).toBeGreaterThan(0);
    for (const row of dayAhead) expect(row['Day-ahead']).toBe(generatedDayAheadCents(SEED, timeOf(row)));
    expect(forecast.map((row) => [timeOf(row), row.Forecast])).toEqual(
      hoursOf(current, 'forecast', END_MS, END_MS + DAY_MS).map((hour) => [hour.timeMs, hour.price_cents_kwh]),
    );
    // The latest estimates, not those of the forecast it rewrote.
    const earlier = seed.forecasts.at(-2) as SeededForecast;
    expect(hoursOf(earlier, 'forecast', END_MS, END_MS + DAY_MS).map((hour) => hour.price_cents_kwh)).not.toEqual(
      forecast.map((row) => row.Forecast),
    );
    // The band of every hour, and the first hour's again at its start, where its step begins.
    const hours = [
      ...hoursOf(current, 'day_ahead', END_MS, END_MS + DAY_MS),
      ...hoursOf(current, 'forecast', END_MS, END_MS + DAY_MS),
    ];
    const first = hours[0] as (typeof hours)[number];
    expect(band.map((row) => [timeOf(row), row.Low, row.High])).toEqual([
      [END_MS, first.low_cents_kwh, first.high_cents_kwh],
      ...hours.map((hour) => [hour.timeMs, hour.low_cents_kwh, hour.high_cents_kwh]),
    ]);
    for (const hour of hours) expect(hour.low_cents_kwh).toBeLessThan(hour.high_cents_kwh);
  });

  it("shows tonight's cheapest window as last planned", async () => {
    const [, , , tonight] = await livePanels({});
    const { window } = latest().snapshot.tonight;
    expect(window).not.toBeNull();
    expect(tonight).toEqual([
      expect.objectContaining({
        Start: Date.parse(window?.start as string),
        End: Date.parse(window?.end as string),
        'Average price': window?.avg_price_cents_kwh,
      }),
    ]);
    // Four hours of the night under way, from when it was planned (02:56 in Chicago) and over by 07:00.
    const start = Date.parse(window?.start as string);
    const end = Date.parse(window?.end as string);
    expect(end - start).toBe(4 * HOUR_MS);
    expect(start).toBeGreaterThanOrEqual(Date.parse(latest().snapshot.computed_at));
    expect(end).toBeLessThanOrEqual(Date.parse(latest().snapshot.tonight.until));
    expect(wallClockAt(Date.parse(latest().snapshot.tonight.until), 'America/Chicago')).toMatchObject({
      hour: 7,
      minute: 0,
    });
  });

  it('shows a window planned for a night that has not begun, stamped ahead with its start', async () => {
    // 15:00 in Chicago the day before: the forecast made at 14:56 plans the night from 18:00.
    const nowMs = END_MS - 12 * HOUR_MS;
    const bucket = await createTestBucket('gf-prices-day');
    const planned = forecastAt(seed.prices, seed.dayAhead, seed.accuracy, nowMs - 4 * 60_000);
    const prices = seed.prices.filter((price) => price.timeMs <= nowMs && price.timeMs > nowMs - DAY_MS);
    await writePoints(servers().influx, bucket, [
      ...pricePoints(prices, nowMs),
      ...forecastPoints(planned.snapshot, planned.nightStartMs),
    ]);
    expect(planned.nightStartMs).toBeGreaterThan(nowMs);
    expect(wallClockAt(planned.nightStartMs, 'America/Chicago')).toMatchObject({ hour: 18, minute: 0 });
    const { window } = planned.snapshot.tonight;
    const [, , , tonight] = await livePanels({ nowMs, prices: bucket });
    expect(tonight).toEqual([
      expect.objectContaining({
        Start: Date.parse(window?.start as string),
        End: Date.parse(window?.end as string),
        'Average price': window?.avg_price_cents_kwh,
      }),
    ]);
  });

  it('shows no window once the night has none left: the last one planned is over', async () => {
    // 07:00 in Chicago the day before: the window planned at 02:56 is over, and at 06:58 no four hours fit.
    const nowMs = END_MS - 20 * HOUR_MS;
    const bucket = await createTestBucket('gf-prices-morning');
    const night = forecastAt(seed.prices, seed.dayAhead, seed.accuracy, END_MS - DAY_MS - 4 * 60_000);
    const morning = forecastAt(seed.prices, seed.dayAhead, seed.accuracy, nowMs - 2 * 60_000);
    expect(Date.parse(night.snapshot.tonight.window?.end as string)).toBeLessThan(nowMs);
    expect(morning.snapshot.tonight.window).toBeNull();
    const prices = seed.prices.filter((price) => price.timeMs <= nowMs && price.timeMs > nowMs - DAY_MS);
    await writePoints(servers().influx, bucket, [
      ...pricePoints(prices, nowMs),
      ...forecastPoints(night.snapshot, night.nightStartMs),
      ...forecastPoints(morning.snapshot, morning.nightStartMs),
    ]);
    const [dayAhead, forecast, , tonight] = await livePanels({ nowMs, prices: bucket });
    expect(dayAhead.length + forecast.length).toBe(24);
    expect(tonight).toEqual([]);
  });

  it('shows the forecast while the newest price is under 15 minutes old, then nothing', async () => {
    // The newest price is stamped END_MS: 14 minutes later the panels still show, 16 minutes later not.
    const fresh = await livePanels({ nowMs: END_MS + 14 * 60_000 });
    expect(fresh.map((rows) => rows.length)).toEqual((await livePanels({})).map((rows) => rows.length));
    const stale = await livePanels({ nowMs: END_MS + 16 * 60_000 });
    expect(stale.map((rows) => rows.length)).toEqual([0, 0, 0, 0]);
  });

  it('shows nothing once the price feed has been quiet for 15 minutes, though the forecast is still rewritten', async () => {
    const bucket = await createTestBucket('gf-prices-quiet');
    // ComEd's feed stops at END_MS; the poller goes on recomputing from what it has.
    const rewritten = forecastAt(seed.prices, seed.dayAhead, seed.accuracy, END_MS + 20 * 60_000);
    const prices = seed.prices.filter((price) => price.timeMs > END_MS - DAY_MS);
    await writePoints(servers().influx, bucket, [
      ...pricePoints(prices, END_MS),
      ...forecastPoints(rewritten.snapshot, rewritten.nightStartMs),
    ]);
    expect(isForecastStale(rewritten.snapshot, END_MS + 21 * 60_000)).toBe(true);
    const quiet = await livePanels({ nowMs: END_MS + 21 * 60_000, prices: bucket });
    expect(quiet.map((rows) => rows.length)).toEqual([0, 0, 0, 0]);
  });

  it('shows nothing once the forecast is no longer rewritten, though prices still come in', async () => {
    const bucket = await createTestBucket('gf-prices-stalled');
    const stalled = forecastAt(seed.prices, seed.dayAhead, seed.accuracy, END_MS - 80 * 60_000);
    const prices = seed.prices.filter((price) => price.timeMs > END_MS - DAY_MS);
    await writePoints(servers().influx, bucket, [
      ...pricePoints(prices, END_MS),
      ...forecastPoints(stalled.snapshot, stalled.nightStartMs),
    ]);
    // Ten minutes after it was made the forecast shows; 80 minutes after, with prices up to date, it does not.
    expect(isForecastStale(stalled.snapshot, END_MS - 70 * 60_000)).toBe(false);
    expect(isForecastStale(stalled.snapshot, END_MS)).toBe(true);
    const made = await livePanels({ nowMs: END_MS - 70 * 60_000, prices: bucket });
    expect(made.map((rows) => rows.length > 0)).toEqual([true, true, true, true]);
    const later = await livePanels({ nowMs: END_MS, prices: bucket });
    expect(later.map((rows) => rows.length)).toEqual([0, 0, 0, 0]);
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
