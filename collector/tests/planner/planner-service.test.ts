import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from '@influxdata/influxdb-client';
import {
  type LiveVitals,
  liveKeys,
  type PlanSettings,
  type PlanState,
  type PriceForecast,
  parseRedisPayload,
  planKeys,
  planSettingsSchema,
  planStateSchema,
  priceKeys,
} from '@twc/core/contracts/redis';
import { defaultPlanSettings } from '@twc/core/planning/plan-settings';
import { HOUR_MS, hourEndingOf } from '@twc/core/prices/comed-clock';
import { TARIFF_DEFAULTS } from '@twc/core/prices/tariff';
import { wallClockAt } from '@twc/core/time/wall-clock';
import { createInfluxWriter } from '@twc/runtime/influx-writer';
import { silentLogger } from '@twc/runtime/logger';
import { createSpool } from '@twc/runtime/spool';
import { createTestBucket, servers, uniqueKeyPrefix } from '@twc/testenv/vitest';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { estimatesOf } from '../../src/planner/charger-loop.js';
import { loadPlannerConfig, type PlannerConfig } from '../../src/planner/config.js';
import type { CarChargeState, ChargeController, ControlOutcome } from '../../src/planner/controller.js';
import { createPlanStore } from '../../src/planner/plan-store.js';
import { createPlannerService, type PlannerService } from '../../src/planner/service.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const CHARGER = 'PGT0000001';
const ZONE = 'America/Chicago';
/** Monday 2026-01-12 18:00 Chicago (CST, UTC-6). */
const PLUG_IN_MS = Date.UTC(2026, 0, 13, 0, 0);

/**
 * The car behind the charger as the controller reaches it: it obeys start
 * and stop, and the test writes what the Wall Connector then shows.
 */
function car(options: { batteryPct: number; limitPct: number }) {
  const log: string[] = [];
  let failing = false;
  const state = { charging: true, calls: 0 };
  const outcome = (command: ControlOutcome['command'], ok: boolean): ControlOutcome => ({
    command,
    ok,
    failure: ok ? null : 'unreachable',
    detail: ok ? '' : 'connect ECONNREFUSED',
    calls: 1,
    woke: false,
    durationMs: 5,
  });
  const controller: ChargeController = {
    kind: 'tessie',
    commandsCar: true,
    async readChargeState() {
      state.calls += 1;
      log.push('read');
      if (failing) return { state: undefined, outcome: outcome('read_state', false) };
      const read: CarChargeState = {
        atMs: Date.now(),
        batteryLevelPct: options.batteryPct,
        chargeLimitPct: options.limitPct,
        usableCapacityKwh: 75,
        chargingState: state.charging ? 'charging' : 'stopped',
        chargeAmps: 48,
        maxAmps: 48,
      };
      return { state: read, outcome: outcome('read_state', true) };
    },
    async startCharging() {
      state.calls += 1;
      log.push('start');
      if (failing) return outcome('charge_start', false);
      state.charging = true;
      return outcome('charge_start', true);
    },
    async stopCharging() {
      state.calls += 1;
      log.push('stop');
      if (failing) return outcome('charge_stop', false);
      state.charging = false;
      return outcome('charge_stop', true);
    },
    async setChargingAmps() {
      return outcome('set_charging_amps', true);
    },
    usage: () => ({ calls: { all: state.calls }, failures: 0, lastFailure: null }),
    async close() {},
  };
  return {
    controller,
    log,
    state,
    fail(on: boolean) {
      failing = on;
    },
  };
}

/** 48 hours from the hour holding `nowMs`: 12 cents in the evening, 1.5 from 01:00, 2 from 02:00 to 05:00 local, 5 otherwise. */
function forecastAt(nowMs: number): PriceForecast {
  const first = hourEndingOf(nowMs);
  const hours = Array.from({ length: 48 }, (_, i) => {
    const hourEnding = first + i * HOUR_MS;
    const localHour = wallClockAt(hourEnding - HOUR_MS, ZONE).hour;
    const price =
      localHour === 1 ? 1.5 : localHour >= 2 && localHour < 5 ? 2 : localHour >= 17 && localHour < 22 ? 12 : 5;
    return {
      hour_ending: new Date(hourEnding).toISOString(),
      price_cents_kwh: price,
      source: i === 0 ? ('running' as const) : ('day_ahead' as const),
      low_cents_kwh: price - 1,
      high_cents_kwh: price + 1,
    };
  });
  return {
    computed_at: new Date(nowMs).toISOString(),
    feed_time: new Date(nowMs).toISOString(),
    hours,
    errors: { day_ahead: { low: -1, high: 1 }, forecast: { low: -2, high: 2 }, measured_days: 0 },
    tonight: {
      from: hours[0]?.hour_ending as string,
      until: hours[12]?.hour_ending as string,
      avg_price_cents_kwh: 5,
      window: null,
    },
  };
}

async function harness(carOptions = { batteryPct: 40, limitPct: 80 }) {
  const { influx, redis: redisEndpoint } = servers();
  const prefix = uniqueKeyPrefix('planner');
  const bucket = await createTestBucket('planner');
  const dir = mkdtempSync(join(tmpdir(), 'twc-planner-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const redis = new Redis(redisEndpoint.url);
  cleanups.push(() => {
    redis.disconnect();
  });
  const clock = { now: PLUG_IN_MS };
  const theCar = car(carOptions);
  const config: PlannerConfig = loadPlannerConfig({
    INFLUXDB_URL: influx.url,
    INFLUXDB_TOKEN: influx.token,
    INFLUXDB_ORG: influx.org,
    INFLUXDB_BUCKET_SESSIONS: bucket,
    REDIS_URL: redisEndpoint.url,
    REDIS_KEY_PREFIX: prefix,
    PLANNER_STATE_DIR: join(dir, 'state'),
    // Stepped by the test; the timer never fires.
    PLANNER_STEP_S: '3600',
    HEALTH_PORT: '0',
    LOG_LEVEL: 'silent',
  });
  const writer = createInfluxWriter({
    url: influx.url,
    token: influx.token,
    org: influx.org,
    spool: createSpool({ dir: join(dir, 'spool'), maxBytes: 1_000_000, logger: silentLogger() }),
    logger: silentLogger(),
  });
  const makeService = () =>
    createPlannerService({
      config,
      tariff: TARIFF_DEFAULTS,
      store: createPlanStore({
        url: redisEndpoint.url,
        keyPrefix: prefix,
        stateDir: config.stateDir,
        logger: silentLogger(),
      }),
      writer,
      controllerFor: () => theCar.controller,
      logger: silentLogger(),
      now: () => clock.now,
    });
  let service: PlannerService = makeService();
  cleanups.push(() => service.stop());

  await redis.hset(
    liveKeys.chargers(prefix),
    CHARGER,
    JSON.stringify({
      charger_id: CHARGER,
      charger_name: 'garage',
      host: '127.0.0.1',
      serial_number: CHARGER,
      firmware_version: null,
      part_number: null,
      online: true,
      consecutive_failures: 0,
      last_error: null,
      last_seen: null,
      updated: new Date(clock.now).toISOString(),
    }),
  );

  /** What the Wall Connector shows now: connected, and charging when the car is. */
  async function vitals(connected = true) {
    const charging = connected && theCar.state.charging;
    const sample: LiveVitals = {
      charger_id: CHARGER,
      charger_name: 'garage',
      time: new Date(clock.now).toISOString(),
      vitals: {
        vehicle_connected: connected,
        contactor_closed: charging,
        session_energy_wh: 0,
        vehicle_current_a: charging ? 48 : 0,
        grid_v: 240,
        grid_hz: 60,
        voltageA_v: 240,
        voltageB_v: 240,
        voltageC_v: 120,
        currentA_a: 0,
        currentB_a: 0,
        currentC_a: 0,
        pcba_temp_c: 30,
        handle_temp_c: 25,
        mcu_temp_c: 35,
        session_s: 0,
        evse_state: charging ? 11 : connected ? 9 : 1,
        power_w: charging ? 11_520 : 0,
        uptime_s: 1000,
        charging,
        evse_state_name: charging ? 'charging' : connected ? 'connected' : 'idle',
        phase_mode: 'split',
        current_alerts: [],
        evse_not_ready_reasons: [],
      },
    };
    await redis.set(liveKeys.vitals(prefix, CHARGER), JSON.stringify(sample));
  }
  async function forecast() {
    await redis.set(priceKeys.forecast(prefix), JSON.stringify(forecastAt(clock.now)));
  }
  async function settings(change: Partial<PlanSettings>) {
    const current =
      parseRedisPayload(planSettingsSchema, await redis.get(planKeys.settings(prefix, CHARGER))) ??
      defaultPlanSettings(clock.now);
    await redis.set(
      planKeys.settings(prefix, CHARGER),
      JSON.stringify({ ...current, ...change, updated: new Date(clock.now).toISOString() }),
    );
  }
  async function plan(): Promise<PlanState> {
    const state = parseRedisPayload(planStateSchema, await redis.get(planKeys.state(prefix, CHARGER)));
    if (!state) throw new Error('no plan state in Redis');
    return state;
  }
  /** Advances the clock, writes the vitals the car now causes and the forecast, and steps. */
  async function at(ms: number, options: { connected?: boolean; forecast?: boolean } = {}) {
    clock.now = ms;
    await vitals(options.connected ?? true);
    if (options.forecast ?? true) await forecast();
    await service.stepAll();
    return plan();
  }
  async function query(flux: string) {
    await writer.flush();
    return new InfluxDB({ url: influx.url, token: influx.token })
      .getQueryApi(influx.org)
      .collectRows<Record<string, unknown>>(flux);
  }
  return {
    redis,
    prefix,
    bucket,
    config,
    clock,
    car: theCar,
    get service() {
      return service;
    },
    async start() {
      await vitals();
      await forecast();
      await service.start();
    },
    async restart() {
      await service.stop();
      service = makeService();
      await service.start();
    },
    at,
    settings,
    plan,
    query,
  };
}

const MINUTE = 60_000;

describe('the planner service', () => {
  it('stops a car plugged in at 18:00 and starts it in the cheap night hours, and says so in Redis and InfluxDB', async () => {
    const h = await harness();
    await h.start();
    let state = await h.plan();
    // 40 % to 80 % of 75 kWh through a 90 % efficient charger: 33.3 kWh, three hours of 2-cent power.
    expect(state.need).toMatchObject({ from: 'car', battery_level_pct: 40, charge_limit_pct: 80 });
    expect(state.need?.energy_kwh).toBeCloseTo(33.333, 2);
    expect(state.status).toBe('planned');
    expect(h.car.log).toEqual(['read', 'stop']);
    expect(state.charging_allowed).toBe(false);
    expect(state.control.last_command).toMatchObject({ command: 'stop', ok: true });
    const runs = state.plan?.runs ?? [];
    expect(runs.length).toBeGreaterThan(0);
    // Every planned hour is one of the cheap night hours, between 01:00 and 05:00 local, the cheapest first.
    for (const slot of state.plan?.slots ?? []) {
      if (slot.energy_kwh > 0) expect(slot.price_cents_kwh).toBeLessThanOrEqual(2);
    }
    expect(runs[0]?.start).toBe(new Date(Date.UTC(2026, 0, 13, 7, 0)).toISOString());
    expect(state.departure).toBe(new Date(Date.UTC(2026, 0, 13, 13, 0)).toISOString()); // Tuesday 07:00 CST
    expect(state.plan?.saving_usd).toBeGreaterThan(0);

    // The stop took: not charging, and nothing more is sent while the plan waits.
    state = await h.at(PLUG_IN_MS + 30 * MINUTE);
    expect(state.control.stopped_by_us).toBe(true);
    expect(h.car.log.filter((entry) => entry !== 'read')).toEqual(['stop']);

    // The first planned run begins: the car is started.
    const firstStart = Date.parse(runs[0]?.start as string);
    state = await h.at(firstStart + MINUTE);
    expect(h.car.log.filter((entry) => entry !== 'read')).toEqual(['stop', 'start']);
    expect(state.charging_allowed).toBe(true);

    const planRows = await h.query(
      `from(bucket: "${h.bucket}") |> range(start: 2026-01-12T00:00:00Z, stop: 2026-01-15T00:00:00Z) |> filter(fn: (r) => r._measurement == "charge_plan" and r._field == "energy_kwh")`,
    );
    const planned = planRows.reduce((sum, row) => sum + Number(row._value), 0);
    expect(planned).toBeCloseTo(33.333, 1);
    const events = await h.query(
      `from(bucket: "${h.bucket}") |> range(start: 2026-01-12T00:00:00Z, stop: 2026-01-15T00:00:00Z) |> filter(fn: (r) => r._measurement == "charge_control" and r._field == "reason") |> group() |> sort(columns: ["_time"])`,
    );
    expect(events.map((row) => [row.command, row._value])).toEqual([
      ['charge_stop', 'plan_stop'],
      ['charge_start', 'plan_start'],
    ]);
  });

  it('charges at once when the departure leaves no time to wait', async () => {
    const h = await harness({ batteryPct: 10, limitPct: 100 });
    // Needs 90 % of 75 kWh through a 90 % efficient charger, 75 kWh: 6.5 hours at 11.5 kW; ready by 01:00.
    await h.settings({ ready_by: [null, '01:00', '01:00', '01:00', '01:00', '01:00', null] });
    await h.start();
    const state = await h.at(PLUG_IN_MS + MINUTE);
    expect(state.status).toBe('deadline');
    expect(state.need?.energy_kwh).toBeCloseTo(75, 3);
    expect(state.charging_allowed).toBe(true);
    expect(h.car.log).not.toContain('stop');
  });

  it('falls back to charging after repeated controller failures, and a user starting the car wins', async () => {
    const h = await harness();
    await h.start();
    expect(h.car.state.charging).toBe(false);
    // Our stop shows in the vitals; then the user starts the car from the app.
    expect((await h.at(PLUG_IN_MS + MINUTE)).control.stopped_by_us).toBe(true);
    h.car.state.charging = true;
    let state = await h.at(PLUG_IN_MS + 10 * MINUTE);
    expect(state.status).toBe('user_override');
    expect(state.charging_allowed).toBe(true);
    state = await h.at(PLUG_IN_MS + 60 * MINUTE);
    expect(h.car.log.filter((entry) => entry === 'stop')).toHaveLength(1);

    // Unplugged and plugged in again: the plan holds again, until the controller fails.
    await h.at(PLUG_IN_MS + 70 * MINUTE, { connected: false });
    h.car.fail(true);
    let t = PLUG_IN_MS + 71 * MINUTE;
    for (let i = 0; i < 12 && !(await h.plan()).control.fail_safe; i++) {
      state = await h.at(t);
      t += 16 * MINUTE;
    }
    state = await h.plan();
    expect(state.control.fail_safe).toBe(true);
    expect(state.status).toBe('fail_safe');
    expect(state.charging_allowed).toBe(true);
    expect(state.control.failures).toBeGreaterThanOrEqual(4);
    expect(state.last_event).toMatchObject({ ok: false, failure: 'unreachable' });
  });

  it('charges while there is no current forecast, and starts a car it stopped', async () => {
    const h = await harness();
    await h.start();
    expect(h.car.state.charging).toBe(false);
    // The poller stopped two hours ago: its last forecast is too old to plan on.
    const state = await h.at(PLUG_IN_MS + 120 * MINUTE, { forecast: false });
    expect(state.status).toBe('no_prices');
    expect(state.charging_allowed).toBe(true);
    expect(h.car.log.at(-1)).toBe('start');
    expect(state.last_event).toMatchObject({ command: 'charge_start', ok: true, reason: 'release' });
    expect(h.car.state.charging).toBe(true);
  });

  it('"charge now" wins until the car is unplugged, then the plan is back', async () => {
    const h = await harness();
    await h.start();
    await h.settings({ charge_now: true });
    let state = await h.at(PLUG_IN_MS + 5 * MINUTE);
    expect(state.status).toBe('charge_now');
    expect(h.car.state.charging).toBe(true);
    state = await h.at(PLUG_IN_MS + 60 * MINUTE, { connected: false });
    expect(state.status).toBe('unplugged');
    const saved = parseRedisPayload(planSettingsSchema, await h.redis.get(planKeys.settings(h.prefix, CHARGER)));
    expect(saved?.charge_now).toBe(false);
    state = await h.at(PLUG_IN_MS + 61 * MINUTE);
    expect(state.status).toBe('planned');
    expect(h.car.state.charging).toBe(false);
  });

  it('starts the cars it stopped when it stops, and carries on after a restart', async () => {
    const h = await harness();
    await h.start();
    expect(h.car.state.charging).toBe(false);
    await h.restart();
    // Stopping released the car; the new planner stops it again with what it restored.
    expect(h.car.log.filter((entry) => entry !== 'read')).toEqual(['stop', 'start', 'stop']);
    expect((await h.plan()).control.stopped_by_us).toBe(false);
    await h.at(PLUG_IN_MS + 10 * MINUTE);
    expect((await h.plan()).control.stopped_by_us).toBe(true);
  });

  it('keeps the settings on disk and puts them back when Redis lost them', async () => {
    const h = await harness();
    await h.settings({ never_above_cents_kwh: 9, buffer_min: 45 });
    await h.start();
    const file = JSON.parse(readFileSync(join(h.config.stateDir, 'plan-settings.json'), 'utf8'));
    expect(file[CHARGER]).toMatchObject({ never_above_cents_kwh: 9, buffer_min: 45 });
    await h.redis.del(planKeys.settings(h.prefix, CHARGER));
    await h.at(PLUG_IN_MS + 5 * MINUTE);
    const restored = parseRedisPayload(planSettingsSchema, await h.redis.get(planKeys.settings(h.prefix, CHARGER)));
    expect(restored).toMatchObject({ never_above_cents_kwh: 9, buffer_min: 45 });
  });
});

describe('the estimates the planner takes', () => {
  it('prices the running hour at its expected bill, not at its prices so far, and leaves the others as they are', () => {
    const forecast = forecastAt(PLUG_IN_MS + 10 * MINUTE);
    const running = forecast.hours[0];
    if (!running) throw new Error('no running hour');
    // Three prices so far averaging 20 cents in an hour ComEd's day-ahead put at 4.
    running.price_cents_kwh = 20;
    running.day_ahead_cents_kwh = 4;
    forecast.feed_time = new Date(PLUG_IN_MS + 10 * MINUTE).toISOString();
    const estimates = estimatesOf(forecast);
    const first = estimates[0]?.priceCentsPerKwh as number;
    // Three twelfths are known at 20; the rest sits between the day-ahead 4 and what the prices show.
    expect(first).toBeLessThan(20);
    expect(first).toBeGreaterThan(4 + (3 / 12) * 16);
    expect(estimates.slice(1).map((e) => e.priceCentsPerKwh)).toEqual(
      forecast.hours.slice(1).map((h) => h.price_cents_kwh),
    );
  });
});
