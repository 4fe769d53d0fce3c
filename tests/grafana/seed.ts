/**
 * Seeds a set of buckets shaped like the production ones (raw, the three
 * downsampled tiers, sessions, prices) with days of data from the charger
 * simulator's model, passed through the collector's own payload schemas,
 * normalisation, session machine, cost engine, point builders and writer.
 * The downsampled tiers are filled from the raw bucket the way the
 * downsampling tasks do it: float gauges averaged, everything else last.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from '@influxdata/influxdb-client';
import { createChargerModel } from '@twc/collector/simulator/charger-model';
import { generatedPriceCents } from '@twc/collector/simulator/comed-server';
import { buildLifetime, buildVersion, buildVitals, buildWifiStatus } from '@twc/collector/simulator/payloads';
import { lifetimeSchema, versionSchema, vitalsSchema, wifiStatusSchema } from '@twc/core/charger/models';
import { normalizeVitals } from '@twc/core/charger/normalize';
import { type PointData, SCHEMA } from '@twc/core/contracts/influx-schema';
import { FIVE_MINUTES_MS, HOUR_MS } from '@twc/core/prices/comed-clock';
import type { PricePoint, PublishedHour } from '@twc/core/prices/comed-parse';
import { hourlyAggregates } from '@twc/core/prices/hourly';
import { pricePoints, runningAveragePoint } from '@twc/core/prices/price-plan';
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
}

const SAMPLE_MS = 5_000;
const SLOW_POLL_MS = 60_000;
const VERSION_POLL_MS = 300_000;

const TIERS: { role: 'm1' | 'm5' | 'h1'; every: string }[] = [
  { role: 'm1', every: '1m' },
  { role: 'm5', every: '5m' },
  { role: 'h1', every: '1h' },
];

/**
 * A Flux predicate over the fields of one kind: float gauges (averaged by the
 * downsampling) or the rest (counters, states: their last value). Spelt as
 * plain comparisons so InfluxDB pushes the filter down to storage.
 */
function fieldPredicate(floats: boolean): string {
  const clauses: string[] = [];
  for (const [measurement, schema] of Object.entries(SCHEMA)) {
    const fields = Object.entries(schema.fields)
      .filter(([, type]) => (type === 'float') === floats)
      .map(([field]) => `r._field == "${field}"`);
    if (fields.length > 0) clauses.push(`(r._measurement == "${measurement}" and (${fields.join(' or ')}))`);
  }
  return clauses.join(' or ');
}

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
    const provider = createComedProvider({ prices, asOfMs: endMs });

    const model = createChargerModel({ index: 0, seed, startTimeMs: fromMs, scenario: 'day' });
    const version = versionSchema.parse(buildVersion(model.identity, 'new'));
    const chargerId = version.serial_number;
    const tags = { charger_id: chargerId, charger_name: chargerName };
    let sessionState = initialSessionState(chargerId);
    const sessions: ChargingSession[] = [];

    for (let timeMs = fromMs; timeMs <= endMs; timeMs += SAMPLE_MS) {
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
            poll_ms: 40,
          },
          timeMs,
        },
      ];
      if ((timeMs - fromMs) % SLOW_POLL_MS === 0) {
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
      if ((timeMs - fromMs) % VERSION_POLL_MS === 0) {
        points.push({
          measurement: 'twc_version',
          tags,
          fields: {
            firmware_version: version.firmware_version,
            part_number: version.part_number,
            serial_number: chargerId,
          },
          timeMs,
        });
      }
      writer.write(buckets.raw, 'vitals', points);

      const transition = nextSessionState(sessionState, toSessionSample(timeMs, vitals));
      sessionState = transition.state;
      for (const event of transition.events) {
        if (event.type !== 'session_closed') continue;
        const cost = costSession(event.session.energyByInterval, provider, TARIFF_DEFAULTS);
        const result = whatIf(event.session, provider, TARIFF_DEFAULTS);
        writer.write(buckets.sessions, 'durable', sessionPoints(event.session, chargerName, cost, result));
        sessions.push(event.session);
      }
      if (timeMs % HOUR_MS === 0) await writer.flush();
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
    };
  } finally {
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

async function downsample(influx: InfluxTarget, buckets: BucketSet, fromMs: number, endMs: number): Promise<void> {
  const queryApi = new InfluxDB({ url: influx.url, token: influx.token, timeout: 120_000 }).getQueryApi(influx.org);
  const start = new Date(fromMs).toISOString();
  const stop = new Date(endMs + 1).toISOString();
  for (const tier of TIERS) {
    const flux = `
      from(bucket: "${buckets.raw}")
        |> range(start: ${start}, stop: ${stop})
        |> filter(fn: (r) => ${fieldPredicate(true)})
        |> aggregateWindow(every: ${tier.every}, fn: mean, createEmpty: false)
        |> to(bucket: "${buckets[tier.role]}")
      from(bucket: "${buckets.raw}")
        |> range(start: ${start}, stop: ${stop})
        |> filter(fn: (r) => ${fieldPredicate(false)})
        |> aggregateWindow(every: ${tier.every}, fn: last, createEmpty: false)
        |> to(bucket: "${buckets[tier.role]}")`;
    await queryApi.collectRows(flux);
  }
}
