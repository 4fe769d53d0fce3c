/**
 * Seeds a set of buckets shaped like the production ones (raw, the three
 * downsampled tiers, sessions, prices) with days of data from the charger
 * simulator's model, passed through the collector's own payload schemas,
 * normalisation, session machine, cost engine, point builders and writer.
 * The downsampled tiers are filled from the raw bucket by the downsampling
 * tasks' own Flux (influxdb/tasks/).
 * The forward prices are ComEd's day-ahead prices as the stand-in serves
 * them, and the forecasts and backtests the comed-poller would have written
 * from the seeded prices, through the same functions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlPoint, planPoints } from '@twc/collector/planner/plan-points';
import { type ChargerModel, createChargerModel } from '@twc/collector/simulator/charger-model';
import { generatedDayAheadCents, generatedPriceCents } from '@twc/collector/simulator/comed-prices';
import { buildLifetime, buildVersion, buildVitals, buildWifiStatus } from '@twc/collector/simulator/payloads';
import { lifetimeSchema, versionSchema, vitalsSchema, wifiStatusSchema } from '@twc/core/charger/models';
import { normalizeVitals } from '@twc/core/charger/normalize';
import type { PointData } from '@twc/core/contracts/influx-schema';
import type { PriceForecast } from '@twc/core/contracts/redis';
import { DEFAULT_PLAN_RULES, planCharge } from '@twc/core/planning/charge-plan';
import {
  dayAheadHourEndings,
  FIVE_MINUTES_MS,
  HOUR_MS,
  hourEndingOf,
  PRICES_PER_HOUR,
} from '@twc/core/prices/comed-clock';
import type { PricePoint, PublishedHour } from '@twc/core/prices/comed-parse';
import type { HourEstimate } from '@twc/core/prices/forecast';
import {
  accuracyPoint,
  type BacktestResult,
  backtestForwardPrices,
  measuredErrors,
} from '@twc/core/prices/forecast-backtest';
import { DEFAULT_NIGHT, forecastPoints, priceForecastSnapshot, tonight } from '@twc/core/prices/forecast-snapshot';
import { hourlyAggregates } from '@twc/core/prices/hourly';
import { dayAheadPoints, pricePoints, runningAveragePoint } from '@twc/core/prices/price-plan';
import { createComedProvider } from '@twc/core/prices/pricing';
import { checkPublishedHours, publishedCheckPoints } from '@twc/core/prices/published-check';
import { TARIFF_DEFAULTS } from '@twc/core/prices/tariff';
import { costSession } from '@twc/core/sessions/cost';
import type { IntervalEnergy } from '@twc/core/sessions/interval-energy';
import {
  type ChargingSession,
  initialSessionState,
  nextSessionState,
  toSessionSample,
} from '@twc/core/sessions/session-machine';
import { sessionPoints } from '@twc/core/sessions/session-points';
import { whatIf } from '@twc/core/sessions/what-if';
import { CHICAGO_TIME_ZONE, utcInstantsForWallClock, wallClockAt } from '@twc/core/time/wall-clock';
import { createInfluxWriter } from '@twc/runtime/influx-writer';
import { silentLogger } from '@twc/runtime/logger';
import { createSpool } from '@twc/runtime/spool';
import { TIER_SETTINGS, type Tier } from '../influxdb/contains-baseline.js';
import { renderedTask, runTaskFlux, withLookback } from '../influxdb/task-flux.js';

/** The production bucket names, as the dashboards spell them. */
export const PRODUCTION_BUCKETS = {
  raw: 'twc_raw',
  m1: 'twc_1m',
  m5: 'twc_5m',
  h1: 'twc_1h',
  sessions: 'twc_sessions',
  prices: 'twc_prices',
} as const;

export type BucketRole = keyof typeof PRODUCTION_BUCKETS;
export type BucketSet = Record<BucketRole, string>;

export interface InfluxTarget {
  url: string;
  token: string;
  org: string;
}

export interface SeedOptions {
  influx: InfluxTarget;
  createBucket(label: string): Promise<string>;
  chargerName: string;
  /** The seeded data ends here (the test's "now"). */
  endMs: number;
  /** Days of charger data before endMs. */
  days: number;
  /** Days of prices before endMs (the cheapest-window table looks back two weeks). */
  priceDays: number;
  seed: number;
}

export interface SeedResult {
  buckets: BucketSet;
  chargerId: string;
  fromMs: number;
  endMs: number;
  sessions: ChargingSession[];
  /** Whether a car is still plugged in at endMs (the live panels then show an open session). */
  openSessionAtEnd: boolean;
  /** The open session's energy by interval at endMs, as the session machine counted it. */
  openSessionEnergy: IntervalEnergy[];
  /** The prices written, for computing what a panel should show. */
  prices: PricePoint[];
  /** ComEd's day-ahead hours written (every day of the prices, and the next one once published). */
  dayAhead: PublishedHour[];
  /** The forecasts written, oldest first: the last one is current at endMs, the one before it three hours older. */
  forecasts: SeededForecast[];
  /** The daily backtests written, oldest first, each at the local midnight it is stamped with. */
  accuracy: SeededAccuracy[];
}

export interface SeededForecast {
  snapshot: PriceForecast;
  /** What its tonight window is stamped with: the night's start, or the computing time once the night has begun. */
  nightStartMs: number;
}

export interface SeededAccuracy {
  /** The local midnight it is stamped with. */
  timeMs: number;
  /** When it was measured: what it knew. */
  measuredAtMs: number;
  result: BacktestResult;
}

const SAMPLE_MS = 5_000;
const SLOW_POLL_MS = 60_000;
const VERSION_POLL_MS = 300_000;

const TIERS: Tier[] = ['1m', '5m', '1h'];

/** Every price stamped from `fromMs` to `endMs`, the one in force at endMs included. */
function seedPrices(seed: number, fromMs: number, endMs: number): PricePoint[] {
  const prices: PricePoint[] = [];
  const first = Math.ceil(fromMs / FIVE_MINUTES_MS) * FIVE_MINUTES_MS;
  for (let stampMs = first; stampMs <= endMs; stampMs += FIVE_MINUTES_MS) {
    prices.push({ timeMs: stampMs, priceCentsPerKwh: generatedPriceCents(seed, stampMs) });
  }
  return prices;
}

/**
 * ComEd's published hours of each seeded Chicago day as the comed-poller
 * stores them after its daily check: ComEd's figure is our average rounded to
 * 0.1 cent, except one hour ComEd published 0.3 cent higher, so the System
 * Health panels have a disagreement to show.
 */
function publishedPoints(prices: readonly PricePoint[], endMs: number): PointData[] {
  const hours = hourlyAggregates(prices).filter((hour) => hour.count === 12 && hour.hourEndingMs <= endMs);
  const byDay = new Map<number, PublishedHour[]>();
  for (const [index, hour] of hours.entries()) {
    // Labelled as ComEd does: by the local date and hour the hour ends at (label 0 ends at midnight).
    const local = wallClockAt(hour.hourEndingMs, CHICAGO_TIME_ZONE);
    const dayStartMs = utcInstantsForWallClock({ ...local, hour: 0, minute: 0 }, CHICAGO_TIME_ZONE)[0] as number;
    const published = Math.round(hour.avgPrice * 10) / 10 + (index === hours.length - 30 ? 0.3 : 0);
    const day = byDay.get(dayStartMs) ?? [];
    day.push({
      label: { year: local.year, month: local.month, day: local.day, hour: local.hour },
      priceCentsPerKwh: published,
      hourEndingsMs: [hour.hourEndingMs],
    });
    byDay.set(dayStartMs, day);
  }
  const byHour = new Map(hours.map((hour) => [hour.hourEndingMs, hour]));
  return [...byDay].flatMap(([dayStartMs, day]) =>
    publishedCheckPoints(
      checkPublishedHours(day, (hourEndingMs) => byHour.get(hourEndingMs)),
      dayStartMs,
    ),
  );
}

type LocalDate = { year: number; month: number; day: number };

function chicagoMidnight(date: LocalDate): number {
  return utcInstantsForWallClock({ ...date, hour: 0, minute: 0 }, CHICAGO_TIME_ZONE)[0] as number;
}

function addDays(date: LocalDate, days: number): LocalDate {
  const next = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate() };
}

/** When ComEd publishes a day's day-ahead prices: 16:30 Chicago time the day before (the stand-in's default). */
function dayAheadPublishedMs(date: LocalDate): number {
  const before = addDays(date, -1);
  return utcInstantsForWallClock({ ...before, hour: 16, minute: 30 }, CHICAGO_TIME_ZONE)[0] as number;
}

/**
 * ComEd's day-ahead hours of every Chicago day from `fromMs`'s through the
 * last one published by `endMs`, labelled and read as the comed-poller reads
 * the stand-in's feed (hour-ending labels, comed-clock.ts).
 */
function seedDayAhead(seed: number, fromMs: number, endMs: number): PublishedHour[] {
  const hours: PublishedHour[] = [];
  for (
    let date: LocalDate = wallClockAt(fromMs, CHICAGO_TIME_ZONE);
    dayAheadPublishedMs(date) <= endMs;
    date = addDays(date, 1)
  ) {
    for (let hour = 0; hour < 24; hour++) {
      const label = { year: date.year, month: date.month, day: date.day, hour };
      const hourEndingsMs = dayAheadHourEndings(label);
      const [first] = hourEndingsMs;
      if (first === undefined) continue;
      hours.push({ label, priceCentsPerKwh: generatedDayAheadCents(seed, first), hourEndingsMs });
    }
  }
  return hours;
}

/**
 * The planner's plan for a charge from `startMs`, as it would have made it
 * then on the day-ahead prices published by then: what the dashboards show
 * as "planned" beside what happened.
 */
function seedPlan(
  dayAhead: readonly PublishedHour[],
  charger: { id: string; name: string },
  charge: { startMs: number; departureMs: number; energyKwh: number },
): PointData[] {
  const estimates: HourEstimate[] = [...dayAheadKnownAt(dayAhead, charge.startMs)].map(([hourEndingMs, price]) => ({
    hourEndingMs,
    priceCentsPerKwh: price,
    source: 'day_ahead',
    lowCents: price - 1,
    highCents: price + 1,
  }));
  const plan = planCharge({
    nowMs: charge.startMs,
    energyKwh: charge.energyKwh,
    powerKw: 11.5,
    departureMs: charge.departureMs,
    estimates,
    tariff: TARIFF_DEFAULTS,
    rules: { ...DEFAULT_PLAN_RULES, bufferMs: 0 },
  });
  // The commands the plan took: the car stopped at plug-in, started at its first planned hour.
  const events = plan.runs.slice(0, 1).flatMap((run) => [
    { atMs: charge.startMs + 60_000, command: 'charge_stop' as const, reason: 'plan_stop' },
    { atMs: run.startMs, command: 'charge_start' as const, reason: 'plan_start' },
  ]);
  const commands = events.map((event) =>
    controlPoint(
      {
        charger_id: charger.id,
        time: new Date(event.atMs).toISOString(),
        command: event.command,
        ok: true,
        failure: null,
        detail: '',
        reason: event.reason,
        calls: 1,
        woke: false,
        duration_ms: 800,
      },
      charger.name,
      'tessie',
    ),
  );
  return [...planPoints(charger, plan, undefined), ...commands];
}

/** The day-ahead prices stored by `atMs`, by hour ending, as the comed-poller reads them back. */
function dayAheadKnownAt(dayAhead: readonly PublishedHour[], atMs: number): Map<number, number> {
  const published = dayAhead.filter((hour) => dayAheadPublishedMs(hour.label) <= atMs);
  return new Map(dayAheadPoints(published).map((point) => [point.timeMs, point.fields.price_cents_kwh as number]));
}

/** The complete hours stored by `atMs`: hourly averages by hour ending. */
function hourlyKnownAt(prices: readonly PricePoint[], atMs: number): Map<number, number> {
  return new Map(
    hourlyAggregates(prices.filter((price) => price.timeMs <= atMs))
      .filter((hour) => hour.count === PRICES_PER_HOUR && hour.hourEndingMs <= atMs)
      .map((hour) => [hour.hourEndingMs, hour.avgPrice]),
  );
}

/**
 * The comed-poller's daily backtest of the four weeks before each of the
 * `days` local midnights up to `endMs`'s, as measured at noon that day (or
 * at endMs, if earlier) from what was stored by then (forecast-publisher.ts).
 */
function seedAccuracy(
  prices: readonly PricePoint[],
  dayAhead: readonly PublishedHour[],
  endMs: number,
  days: number,
): SeededAccuracy[] {
  const today = wallClockAt(endMs, CHICAGO_TIME_ZONE);
  const accuracy: SeededAccuracy[] = [];
  for (let back = days - 1; back >= 0; back--) {
    const date = addDays(today, -back);
    const toMs = chicagoMidnight(date);
    const measuredAtMs = Math.min(toMs + 12 * HOUR_MS, endMs);
    const result = backtestForwardPrices({
      hourly: hourlyKnownAt(prices, measuredAtMs),
      dayAhead: dayAheadKnownAt(dayAhead, measuredAtMs),
      fromMs: chicagoMidnight(addDays(date, -28)),
      toMs,
    });
    accuracy.push({ timeMs: toMs, measuredAtMs, result });
  }
  return accuracy;
}

/**
 * The forecast the comed-poller publishes at `nowMs`: from the prices and
 * day-ahead hours stored by then, the running average of the current hour,
 * and the bands of the latest backtest measured by then.
 */
export function forecastAt(
  prices: readonly PricePoint[],
  dayAhead: readonly PublishedHour[],
  accuracy: readonly SeededAccuracy[],
  nowMs: number,
): SeededForecast {
  const known = prices.filter((price) => price.timeMs <= nowMs);
  const current = hourlyAggregates(known).find((hour) => hour.hourEndingMs === hourEndingOf(nowMs));
  const backtest = accuracy.filter((entry) => entry.measuredAtMs <= nowMs).at(-1)?.result;
  const errors = backtest ? measuredErrors(backtest) : undefined;
  const snapshot = priceForecastSnapshot({
    nowMs,
    hourly: hourlyKnownAt(prices, nowMs),
    dayAhead: dayAheadKnownAt(dayAhead, nowMs),
    running: current && {
      hourEndingMs: current.hourEndingMs,
      priceCentsPerKwh: current.avgPrice,
      count: current.count,
    },
    errors,
    feedTimeMs: known.at(-1)?.timeMs,
    measuredDays: errors && backtest ? backtest.days : 0,
  });
  return { snapshot, nightStartMs: tonight(nowMs, DEFAULT_NIGHT).fromMs };
}

/** The points of the forward prices: day-ahead hours, the daily backtests and the forecasts, as the poller writes them. */
export function forwardPricePoints(
  dayAhead: readonly PublishedHour[],
  accuracy: readonly SeededAccuracy[],
  forecasts: readonly SeededForecast[],
): PointData[] {
  return [
    ...dayAheadPoints(dayAhead),
    ...accuracy.map((entry) => accuracyPoint(entry.result, entry.timeMs)),
    ...forecasts.flatMap((forecast) => forecastPoints(forecast.snapshot, forecast.nightStartMs)),
  ];
}

/** Writes points to a bucket through the collector's writer, failing if any is lost. */
export async function writePoints(influx: InfluxTarget, bucket: string, points: PointData[]): Promise<void> {
  const spoolDir = mkdtempSync(join(tmpdir(), 'twc-grafana-seed-'));
  try {
    const writer = createInfluxWriter({
      ...influx,
      spool: createSpool({ dir: spoolDir, maxBytes: 50e6, logger: silentLogger() }),
      logger: silentLogger(),
    });
    writer.write(bucket, 'durable', points);
    await writer.close();
    const stats = writer.stats();
    if (stats.rejectedLines > 0 || stats.spooledLines > 0) {
      throw new Error(`writing lost points: ${JSON.stringify(stats)}`);
    }
  } finally {
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

/**
 * What the collector writes to the raw bucket for one charger at `timeMs`,
 * `elapsedMs` after it started polling: vitals and health every 5 s, lifetime,
 * Wi-Fi and the spool's state every minute, the version every 5 minutes, read
 * from the simulator's payloads through the collector's schemas.
 */
export function rawSample(
  model: ChargerModel,
  tags: { charger_id: string; charger_name: string },
  version: { firmware_version: string; part_number: string },
  elapsedMs: number,
  timeMs: number,
): { points: PointData[]; vitals: ReturnType<typeof normalizeVitals> } {
  const state = model.stateAt(timeMs);
  const vitals = normalizeVitals(vitalsSchema.parse(buildVitals(state, 'new')));
  const { phase_mode, charging, evse_state_name, current_alerts, evse_not_ready_reasons, ...fields } = vitals;
  const points: PointData[] = [
    { measurement: 'twc_vitals', tags, fields, timeMs },
    {
      measurement: 'twc_health',
      tags,
      fields: {
        online: true,
        consecutive_failures: 0,
        repairs_total: 0,
        failures_total: 0,
        last_error: '',
        // Polls take 40 ms, but one in 241 (every 20 minutes) is slow: a peak for the health panels to show.
        poll_ms: (elapsedMs / SAMPLE_MS) % 241 === 120 ? 480 : 40,
      },
      timeMs,
    },
  ];
  if (elapsedMs % SLOW_POLL_MS === 0) {
    const lifetime = lifetimeSchema.parse(buildLifetime(state));
    const wifi = wifiStatusSchema.parse(buildWifiStatus(model.identity, model.wifiAt(timeMs)));
    points.push(
      {
        measurement: 'twc_lifetime',
        tags,
        fields: {
          energy_wh: lifetime.energy_wh,
          charge_starts: lifetime.charge_starts,
          charging_time_s: lifetime.charging_time_s,
          contactor_cycles: lifetime.contactor_cycles,
          contactor_cycles_loaded: lifetime.contactor_cycles_loaded,
          uptime_s: lifetime.uptime_s,
          connector_cycles: lifetime.connector_cycles,
          alert_count: lifetime.alert_count,
          thermal_foldbacks: lifetime.thermal_foldbacks,
          avg_startup_temp: lifetime.avg_startup_temp,
        },
        timeMs,
      },
      {
        measurement: 'twc_wifi',
        tags,
        fields: {
          wifi_ssid: wifi.wifi_ssid,
          wifi_signal_strength: wifi.wifi_signal_strength,
          wifi_rssi: wifi.wifi_rssi,
          wifi_snr: wifi.wifi_snr,
          wifi_connected: wifi.wifi_connected,
          internet: wifi.internet,
          wifi_infra_ip: wifi.wifi_infra_ip,
        },
        timeMs,
      },
      {
        measurement: 'collector_spool',
        tags: { service: 'collector' },
        fields: { bytes: 0, files: 0, dropped_points_total: 0 },
        timeMs,
      },
    );
  }
  if (elapsedMs % VERSION_POLL_MS === 0) {
    points.push({
      measurement: 'twc_version',
      tags,
      fields: {
        firmware_version: version.firmware_version,
        part_number: version.part_number,
        serial_number: tags.charger_id,
      },
      timeMs,
    });
  }
  return { points, vitals };
}

export async function seedDashboardData(options: SeedOptions): Promise<SeedResult> {
  const { influx, chargerName, endMs, seed } = options;
  const fromMs = endMs - options.days * 24 * HOUR_MS;
  const buckets = {} as BucketSet;
  for (const role of Object.keys(PRODUCTION_BUCKETS) as BucketRole[]) {
    buckets[role] = await options.createBucket(`gf-${role}`);
  }
  const spoolDir = mkdtempSync(join(tmpdir(), 'twc-grafana-seed-'));
  const writer = createInfluxWriter({
    ...influx,
    spool: createSpool({ dir: spoolDir, maxBytes: 50e6, logger: silentLogger() }),
    logger: silentLogger(),
  });

  try {
    const prices = seedPrices(seed, endMs - options.priceDays * 24 * HOUR_MS, endMs);
    writer.write(buckets.prices, 'durable', pricePoints(prices, endMs));
    for (const hour of hourlyAggregates(prices)) {
      writer.write(buckets.prices, 'durable', [
        // ComEd's running average is stamped with the newest price it holds, the hour's last so far.
        runningAveragePoint({
          timeMs: Math.min(hour.hourEndingMs - FIVE_MINUTES_MS, endMs),
          priceCentsPerKwh: hour.avgPrice,
        }),
      ]);
    }
    writer.write(buckets.prices, 'durable', publishedPoints(prices, endMs));
    const dayAhead = seedDayAhead(seed, prices[0]?.timeMs ?? endMs, endMs);
    const accuracy = seedAccuracy(prices, dayAhead, endMs, 7);
    // The poller rewrites its forecast every few minutes: an older one first, then the current one.
    const forecasts = [endMs - 3 * HOUR_MS - 4 * 60_000, endMs - 4 * 60_000].map((atMs) =>
      forecastAt(prices, dayAhead, accuracy, atMs),
    );
    writer.write(buckets.prices, 'durable', forwardPricePoints(dayAhead, accuracy, forecasts));
    const provider = createComedProvider({ prices, asOfMs: endMs });

    const model = createChargerModel({ index: 0, seed, startTimeMs: fromMs, scenario: 'day' });
    const version = versionSchema.parse(buildVersion(model.identity, 'new'));
    const chargerId = version.serial_number;
    const tags = { charger_id: chargerId, charger_name: chargerName };
    let sessionState = initialSessionState(chargerId);
    const sessions: ChargingSession[] = [];

    for (let timeMs = fromMs; timeMs <= endMs; timeMs += SAMPLE_MS) {
      const { points, vitals } = rawSample(model, tags, version, timeMs - fromMs, timeMs);
      writer.write(buckets.raw, 'vitals', points);

      const transition = nextSessionState(sessionState, toSessionSample(timeMs, vitals));
      sessionState = transition.state;
      for (const event of transition.events) {
        if (event.type !== 'session_closed') continue;
        const cost = costSession(event.session.energyByInterval, provider, TARIFF_DEFAULTS);
        const result = whatIf(event.session, provider, TARIFF_DEFAULTS);
        writer.write(buckets.sessions, 'durable', sessionPoints(event.session, chargerName, cost, result));
        writer.write(
          buckets.sessions,
          'durable',
          seedPlan(
            dayAhead,
            { id: chargerId, name: chargerName },
            {
              startMs: event.session.startTimeMs,
              departureMs: event.session.endTimeMs ?? event.session.lastSampleMs,
              energyKwh: event.session.energyWh / 1000,
            },
          ),
        );
        sessions.push(event.session);
      }
      if (timeMs % HOUR_MS === 0) await writer.flush();
    }
    // The car still plugged in at the end: the plan as the planner last made it, at the end, ready by 13 hours after it arrived.
    const open = sessionState.session;
    if (open) {
      writer.write(
        buckets.sessions,
        'durable',
        seedPlan(
          dayAhead,
          { id: chargerId, name: chargerName },
          {
            startMs: endMs,
            departureMs: open.startTimeMs + 13 * HOUR_MS,
            energyKwh: 20,
          },
        ),
      );
    }
    await writer.close();
    const stats = writer.stats();
    if (stats.rejectedLines > 0 || stats.spooledLines > 0) {
      throw new Error(`seeding lost points: ${JSON.stringify(stats)}`);
    }
    await downsample(influx, buckets, fromMs, endMs);
    return {
      buckets,
      chargerId,
      fromMs,
      endMs,
      sessions,
      openSessionAtEnd: sessionState.session !== null,
      openSessionEnergy: sessionState.session?.energyByInterval ?? [],
      prices,
      dayAhead,
      forecasts,
      accuracy,
    };
  } finally {
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

/**
 * Fills the tiers with the downsampling tasks' own Flux, each made to
 * recompute every complete window of the seeded span at `endMs`, as forced
 * runs refill a gap.
 */
async function downsample(influx: InfluxTarget, buckets: BucketSet, fromMs: number, endMs: number): Promise<void> {
  for (const tier of TIERS) {
    const flux = withLookback(renderedTask(tier, influx.org, buckets), endMs - fromMs + TIER_SETTINGS[tier].windowMs);
    await runTaskFlux(influx, flux, endMs);
  }
}
