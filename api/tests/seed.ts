/**
 * Test data produced by the collector's own code: vitals normalized like the
 * poller does, sessions run through the session machine and priced by the
 * cost engine, everything written with the collector's InfluxDB writer and
 * Redis adapters. Nothing here hand-writes line protocol or Redis keys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedisLiveState, type LiveState } from '@twc/collector/collector/redis-live-state';
import { createRedisSessionStore, type SessionStore } from '@twc/collector/collector/session-store';
import { createRedisPriceState, type PriceState } from '@twc/collector/comed-poller/redis-price-state';
import type { Vitals } from '@twc/core/charger/models';
import { normalizeVitals } from '@twc/core/charger/normalize';
import type { PointData } from '@twc/core/contracts/influx-schema';
import {
  type ChargerStatus,
  type LiveSession,
  type LiveVitals,
  type PriceForecast,
  priceForecastSchema,
} from '@twc/core/contracts/redis';
import { FIVE_MINUTES_MS, hourEndingOf } from '@twc/core/prices/comed-clock';
import type { PricePoint } from '@twc/core/prices/comed-parse';
import { currentPrice, runningAverageOf } from '@twc/core/prices/current-price';
import { pricePoints, runningAveragePoint } from '@twc/core/prices/price-plan';
import type { Tariff } from '@twc/core/prices/pricing';
import { createComedProvider } from '@twc/core/prices/pricing';
import { costSession, type SessionCost } from '@twc/core/sessions/cost';
import {
  type ChargingSession,
  initialSessionState,
  nextSessionState,
  type SessionMachineState,
  toSessionSample,
} from '@twc/core/sessions/session-machine';
import { sessionPoints } from '@twc/core/sessions/session-points';
import { type WhatIfResult, whatIf } from '@twc/core/sessions/what-if';
import { CHICAGO_TIME_ZONE, wallClockAt } from '@twc/core/time/wall-clock';
import { createInfluxWriter, type InfluxWriter } from '@twc/runtime/influx-writer';
import { silentLogger } from '@twc/runtime/logger';
import { createSpool } from '@twc/runtime/spool';
import { createTestBucket, servers, uniqueKeyPrefix } from '@twc/testenv/vitest';
import { type ApiConfig, loadApiConfig } from '../src/config.js';

export const CHARGER_ID = 'ACB12345678901';
export const CHARGER_NAME = 'garage';

/** Delivery 6 + other 1 cents/kWh, 10 % tax, 15 cents/kWh flat: figures a ComEd bill has. */
export const TARIFF: Tariff = {
  deliveryCentsPerKwh: 6,
  otherCentsPerKwh: 1,
  taxPercent: 10,
  monthlyFixedUsd: 15,
  flatRateCentsPerKwh: 15,
};

/** A deterministic price curve by ComEd stamp (an interval's start): cheap at night, dearer in the afternoon, cents per kWh. */
export function priceAt(stampMs: number): number {
  const hour = new Date(stampMs).getUTCHours();
  const minute = new Date(stampMs).getUTCMinutes();
  return Math.round((2 + 2 * Math.sin(((hour - 6) / 24) * 2 * Math.PI) + minute / 600) * 1000) / 1000;
}

/** Every 5-minute price stamped in [fromMs, toMs). */
export function pricesBetween(fromMs: number, toMs: number): PricePoint[] {
  const prices: PricePoint[] = [];
  const first = Math.ceil(fromMs / FIVE_MINUTES_MS) * FIVE_MINUTES_MS;
  for (let t = first; t < toMs; t += FIVE_MINUTES_MS) prices.push({ timeMs: t, priceCentsPerKwh: priceAt(t) });
  return prices;
}

/** A split-phase North American vitals payload (Wall Connector API notes). */
export function vitalsPayload(fields: {
  connected: boolean;
  charging: boolean;
  sessionS: number;
  energyWh: number;
  amps?: number;
  uptimeS: number;
}): Vitals {
  const amps = fields.charging ? (fields.amps ?? 40) : 0;
  return {
    contactor_closed: fields.charging,
    vehicle_connected: fields.connected,
    session_s: fields.sessionS,
    grid_v: 240,
    grid_hz: 60,
    vehicle_current_a: amps,
    currentA_a: amps,
    currentB_a: amps,
    currentC_a: 0,
    voltageA_v: 240,
    voltageB_v: 240,
    voltageC_v: 120,
    pcba_temp_c: 30,
    handle_temp_c: 25,
    mcu_temp_c: 35,
    uptime_s: fields.uptimeS,
    session_energy_wh: fields.energyWh,
    evse_state: fields.charging ? 11 : fields.connected ? 4 : 1,
  };
}

export interface ChargeResult {
  session: ChargingSession;
  cost: SessionCost;
  whatIf: WhatIfResult;
  /** twc_vitals points of every sample. */
  vitals: PointData[];
  /** twc_session and twc_session_hour points, as the tracker writes them at close. */
  sessionPoints: PointData[];
  /** The last sample, as the collector publishes it live. */
  lastLive: LiveVitals;
  /** The machine state after the last sample (an open session stays open). */
  state: SessionMachineState;
}

/**
 * A charge at 240 V x `amps`, sampled every `stepMs`, run through the session
 * machine; `close` unplugs the car afterwards (past the unplug debounce).
 */
export function simulateCharge(options: {
  startMs: number;
  chargeMs: number;
  amps?: number;
  stepMs?: number;
  close?: boolean;
  chargerId?: string;
  chargerName?: string;
  prices: readonly PricePoint[];
}): ChargeResult {
  const chargerId = options.chargerId ?? CHARGER_ID;
  const chargerName = options.chargerName ?? CHARGER_NAME;
  const stepMs = options.stepMs ?? 10_000;
  const amps = options.amps ?? 40;
  const tags = { charger_id: chargerId, charger_name: chargerName };
  let state = initialSessionState(chargerId);
  let closed: ChargingSession | undefined;
  let latest: ChargingSession | undefined;
  const vitalsPoints: PointData[] = [];
  let lastLive: LiveVitals | undefined;
  let energyWh = 0;
  const feed = (timeMs: number, connected: boolean, charging: boolean) => {
    const payload = vitalsPayload({
      connected,
      charging,
      sessionS: connected ? Math.round((timeMs - options.startMs) / 1000) : 0,
      energyWh,
      amps,
      uptimeS: 100_000 + Math.round((timeMs - options.startMs) / 1000),
    });
    const vitals = normalizeVitals(payload);
    const { phase_mode, charging: _c, evse_state_name, current_alerts, evse_not_ready_reasons, ...fields } = vitals;
    vitalsPoints.push({ measurement: 'twc_vitals', tags, fields, timeMs });
    lastLive = { charger_id: chargerId, charger_name: chargerName, time: new Date(timeMs).toISOString(), vitals };
    const transition = nextSessionState(state, toSessionSample(timeMs, vitals));
    state = transition.state;
    for (const event of transition.events) {
      if (event.type === 'session_closed') closed = event.session;
      if (event.type === 'session_started' || event.type === 'session_updated') latest = event.session;
    }
    if (charging) energyWh += (240 * amps * stepMs) / 3_600_000;
  };
  feed(options.startMs - stepMs, false, false);
  for (let t = options.startMs; t <= options.startMs + options.chargeMs; t += stepMs) feed(t, true, true);
  if (options.close ?? true) {
    const unplugMs = options.startMs + options.chargeMs + stepMs;
    for (let t = unplugMs; t <= unplugMs + 40_000; t += stepMs) feed(t, false, false);
  }
  const session = (closed ?? latest) as ChargingSession;
  if (!session) throw new Error('the simulated charge opened no session');
  const provider = createComedProvider({ prices: options.prices, basis: 'hourly', asOfMs: Number.MAX_SAFE_INTEGER });
  const cost = costSession(session.energyByInterval, provider, TARIFF);
  const result = whatIf(session, provider, TARIFF);
  return {
    session,
    cost,
    whatIf: result,
    vitals: vitalsPoints,
    sessionPoints: sessionPoints(session, chargerName, cost, result),
    lastLive: lastLive as LiveVitals,
    state,
  };
}

/** The open session as the tracker publishes it in Redis. */
export function liveSessionOf(charge: ChargeResult, chargerName = CHARGER_NAME): LiveSession {
  const { hours, ...cost } = charge.cost;
  return {
    charger_id: charge.session.chargerId,
    charger_name: chargerName,
    open: charge.session.endTimeMs === null,
    session: charge.session,
    cost,
    updated: charge.lastLive.time,
  };
}

export function chargerStatus(fields: Partial<ChargerStatus> = {}): ChargerStatus {
  return {
    charger_id: CHARGER_ID,
    charger_name: CHARGER_NAME,
    host: '192.168.1.50',
    serial_number: CHARGER_ID,
    firmware_version: '24.44.1+g1ee2ee3c4a2d6a',
    part_number: '1529455-02-D',
    online: true,
    consecutive_failures: 0,
    last_error: null,
    last_seen: new Date().toISOString(),
    updated: new Date().toISOString(),
    ...fields,
  };
}

export interface TestStack {
  bucket: string;
  keyPrefix: string;
  config(env?: Record<string, string>): ApiConfig;
  /** Writes points with the collector's writer and waits until InfluxDB has them. */
  write(points: PointData[]): Promise<void>;
  prices(prices: readonly PricePoint[], nowMs: number): Promise<void>;
  live: LiveState;
  price: PriceState;
  sessions: SessionStore;
  close(): Promise<void>;
}

/** A bucket, a Redis key prefix and the collector's writers for one test file. */
export async function createTestStack(label: string): Promise<TestStack> {
  const { influx, redis } = servers();
  const bucket = await createTestBucket(label);
  const keyPrefix = uniqueKeyPrefix(label);
  const spoolDir = mkdtempSync(join(tmpdir(), 'twc-api-spool-'));
  const logger = silentLogger();
  const writer: InfluxWriter = createInfluxWriter({
    url: influx.url,
    token: influx.token,
    org: influx.org,
    spool: createSpool({ dir: spoolDir, maxBytes: 50e6, logger }),
    logger,
  });
  const live = createRedisLiveState({ url: redis.url, keyPrefix, logger });
  const price = createRedisPriceState({ url: redis.url, keyPrefix, logger });
  const sessions = createRedisSessionStore({ url: redis.url, keyPrefix, logger });
  // The adapters drop commands until connected (Redis is optional for the services); seeding must not.
  await Promise.all([live.ready(5000), price.ready(5000), sessions.ready(5000)]);
  async function write(points: PointData[]): Promise<void> {
    writer.write(bucket, 'durable', points);
    await writer.flush();
    const stats = writer.stats();
    if (stats.spooledLines > 0 || stats.rejectedLines > 0)
      throw new Error(`seed write failed: ${JSON.stringify(stats)}`);
  }
  return {
    bucket,
    keyPrefix,
    config(env = {}) {
      return loadApiConfig({
        INFLUXDB_URL: influx.url,
        INFLUXDB_TOKEN: influx.token,
        INFLUXDB_ORG: influx.org,
        INFLUXDB_BUCKET_RAW: bucket,
        INFLUXDB_BUCKET_SESSIONS: bucket,
        INFLUXDB_BUCKET_PRICES: bucket,
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: keyPrefix,
        RATE_LIMIT_ENABLED: 'false',
        REPORTS_ENABLED: 'false',
        LOG_LEVEL: 'silent',
        ...env,
      });
    },
    write,
    async prices(list, nowMs) {
      const points = pricePoints(list, nowMs);
      const last = list.at(-1);
      if (last) {
        const hour = list.filter((p) => hourEndingOf(p.timeMs) === hourEndingOf(last.timeMs));
        const average = {
          timeMs: last.timeMs,
          priceCentsPerKwh: hour.reduce((sum, p) => sum + p.priceCentsPerKwh, 0) / hour.length,
        };
        points.push(runningAveragePoint(average));
      }
      await write(points);
    },
    live,
    price,
    sessions,
    async close() {
      await writer.close();
      await Promise.all([live.stop(), price.stop(), sessions.stop()]);
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}

export { currentPrice, runningAverageOf };

/** Retries an assertion until it passes or `timeoutMs` runs out (for fire-and-forget publishes). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** A ComEd-like price for the hour ending `hourEndingMs`: dear from 17:00 to 21:00, cheapest from 02:00 to 05:00 Chicago time. */
export function forecastPriceOf(hourEndingMs: number): number {
  const { hour } = wallClockAt(hourEndingMs - 3_600_000, CHICAGO_TIME_ZONE);
  if (hour >= 2 && hour < 5) return 1 + (hour - 2) * 0.1;
  if (hour >= 17 && hour < 21) return 7;
  return 3 + (hour % 3) * 0.5;
}

/**
 * A forecast as the comed-poller publishes it, computed at `computedAtMs`:
 * 48 hours from the current one (running, then day-ahead for 30 hours, then
 * forecast), bands 1 cent below and 1.5 above.
 */
export function forecastFixture(computedAtMs: number): PriceForecast {
  const iso = (timeMs: number) => new Date(timeMs).toISOString();
  const currentHourEnding = hourEndingOf(computedAtMs);
  return priceForecastSchema.parse({
    computed_at: iso(computedAtMs),
    feed_time: iso(computedAtMs - 5 * 60_000),
    hours: Array.from({ length: 48 }, (_, i) => {
      const hourEndingMs = currentHourEnding + i * 3_600_000;
      const price = forecastPriceOf(hourEndingMs);
      return {
        hour_ending: iso(hourEndingMs),
        price_cents_kwh: price,
        source: i === 0 ? 'running' : i < 31 ? 'day_ahead' : 'forecast',
        low_cents_kwh: price - 1,
        high_cents_kwh: price + 1.5,
        ...(i < 31 ? { day_ahead_cents_kwh: price } : {}),
      };
    }),
    errors: { day_ahead: { low: -1, high: 1.5 }, forecast: { low: -2, high: 3 }, measured_days: 28 },
    tonight: {
      from: iso(computedAtMs),
      until: iso(computedAtMs + 12 * 3_600_000),
      avg_price_cents_kwh: 3,
      window: null,
    },
  });
}
