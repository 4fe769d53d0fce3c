import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type PlanState, parseRedisPayload, planKeys, planSettingsSchema } from '@twc/core/contracts/redis';
import { servers } from '@twc/testenv/vitest';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import {
  CHARGER_ID,
  chargerStatus,
  createTestStack,
  currentPrice,
  forecastFixture,
  liveSessionOf,
  pricesBetween,
  simulateCharge,
  type TestStack,
} from '../seed.js';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = resolve(import.meta.dirname, '../../../.test-output');
const START = Date.UTC(2026, 6, 1, 4, 0, 0);
let stack: TestStack;
const apps: FastifyInstance[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  stack = await createTestStack('api-page');
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await Promise.all(apps.map((app) => app.close()));
  await stack.close();
});

async function listen(env: Record<string, string> = {}): Promise<string> {
  const app = await buildApp({ config: stack.config({ GRAFANA_URL: 'http://grafana.local:3000/d/twc', ...env }) });
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function browser() {
  // A missing browser must fail the test, not skip it: scripts/test.sh installs it.
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`).toBe(true);
  // A fresh profile each time; playwright passes it to Chromium as --user-data-dir.
  const profile = mkdtempSync(join(tmpdir(), 'twc-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    // Times on the page are formatted in the browser's locale.
    locale: 'en-US',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  cleanups.push(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return context;
}

describe('status page', () => {
  it('is served without auth, with a Grafana link and a strict content security policy', async () => {
    const base = await listen({ AUTH_MODE: 'apikey', API_KEYS: 'page-key-0123456789' });
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toMatch(/script-src 'sha256-/);
    const html = await response.text();
    expect(html).toContain('href="http://grafana.local:3000/d/twc"');
    expect((await fetch(`${base}/api/v1/chargers`)).status).toBe(401);
  });

  it('shows live values in Chromium and updates them when the collector publishes', async () => {
    const prices = pricesBetween(START - 3_600_000, START + 3_600_000);
    const open = simulateCharge({ startMs: START, chargeMs: 900_000, close: false, prices });
    stack.live.publishStatus(chargerStatus());
    stack.live.publishVitals(open.lastLive);
    await stack.sessions.publish(liveSessionOf(open));
    await stack.price.save(currentPrice({ timeMs: Date.now(), priceCentsPerKwh: 4.25 }, undefined, Date.now()), true);
    const forecast = forecastFixture(Date.now());
    const tonight = { start: forecast.hours[9]?.hour_ending as string, end: forecast.hours[12]?.hour_ending as string };
    forecast.tonight.window = { ...tonight, hours: 3, avg_price_cents_kwh: 1.1, sources: ['day_ahead'] };
    await stack.price.saveForecast(forecast);

    const base = await listen();
    const context = await browser();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(`${base}/`);
    const card = page.locator(`[data-charger="${CHARGER_ID}"]`);
    await card.locator('[data-field="power"]').filter({ hasText: '9.60 kW' }).waitFor({ timeout: 10_000 });
    await expect(card.locator('[data-field="name"]').textContent()).resolves.toBe('garage');
    await expect(card.locator('[data-field="state"]').textContent()).resolves.toBe('charging');
    await expect(card.locator('[data-field="energy"]').textContent()).resolves.toBe(
      `${(open.session.energyWh / 1000).toFixed(2)} kWh`,
    );
    await expect(page.locator('[data-field="price"]').textContent()).resolves.toBe('4.3 ¢/kWh');
    await page.locator('#connection').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });

    // The next 24 hours: a bar per hour in the colour of its source, tonight's window in the page's zone.
    const bars = page.locator('#forecast-chart rect');
    await expect(bars.count()).resolves.toBe(24);
    await expect(page.locator('#forecast-chart rect.running').count()).resolves.toBe(1);
    await expect(page.locator('#forecast-chart rect.day_ahead').count()).resolves.toBe(23);
    const time = (iso: string) =>
      new Date(iso).toLocaleTimeString('en-US', { hour: '2-digit', minute: '2-digit', timeZone: 'America/Chicago' });
    await expect(page.locator('[data-field="tonight"]').textContent()).resolves.toBe(
      `${time(tonight.start)}–${time(tonight.end)}, 1.1 ¢/kWh`,
    );
    await expect(page.locator('#forecast').getAttribute('class')).resolves.toBe('');
    // The comed-poller recomputes: the page follows without a reload; an old one is shown stale.
    await stack.price.saveForecast(forecastFixture(Date.now() - 20 * 60_000));
    await page.locator('[data-field="forecast-state"]').filter({ hasText: 'stale' }).waitFor({ timeout: 10_000 });
    await expect(page.locator('#forecast').getAttribute('class')).resolves.toBe('stale');

    // The charger slows to 16 A: the page must change without a reload.
    const slower = simulateCharge({ startMs: START, chargeMs: 905_000, amps: 16, close: false, prices });
    stack.live.publishVitals(slower.lastLive);
    await card.locator('[data-field="power"]').filter({ hasText: '3.84 kW' }).waitFor({ timeout: 10_000 });

    mkdirSync(OUTPUT, { recursive: true });
    const screenshot = join(OUTPUT, 'status-page.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(statSync(screenshot).size).toBeGreaterThan(1000);
    expect(errors).toEqual([]);
  });

  it("shows tonight's plan, follows the planner, and charges now on a click", async () => {
    const nowMs = Date.now();
    const hour = (h: number) => new Date(nowMs + h * 3_600_000).toISOString();
    const state: PlanState = {
      charger_id: CHARGER_ID,
      charger_name: 'garage',
      controller: 'tesla-fleet',
      status: 'planned',
      charging_allowed: false,
      reason: 'in_step',
      need: { energy_kwh: 30, from: 'car', battery_level_pct: 40, charge_limit_pct: 80 },
      power_kw: 11.5,
      departure: hour(12),
      deadline: hour(11.5),
      plan: {
        computed_at: new Date(nowMs).toISOString(),
        mode: 'planned',
        runs: [{ start: hour(6), end: hour(8.6) }],
        slots: [],
        expected: { energy_kwh: 30, total_usd: 1.23, avg_price_cents_kwh: 2 },
        at_once: { energy_kwh: 30, total_usd: 3.5, avg_price_cents_kwh: 8 },
        saving_usd: 2.27,
        shortfall_kwh: 0,
      },
      control: { last_command: null, failures: 0, stopped_by_us: true, user_override: false, fail_safe: false },
      usage: { calls: { vehicle_data: 2, charge_stop: 1 }, failures: 0 },
      last_event: {
        charger_id: CHARGER_ID,
        time: new Date(nowMs - 60_000).toISOString(),
        command: 'charge_stop',
        ok: false,
        failure: 'asleep',
        detail: 'vehicle unavailable',
        reason: 'plan_stop',
        calls: 1,
        woke: false,
        duration_ms: 900,
      },
      updated: new Date(nowMs).toISOString(),
    };
    stack.live.publishStatus(chargerStatus());
    const redis = new Redis(servers().redis.url);
    cleanups.push(() => {
      redis.disconnect();
    });
    await redis.set(planKeys.state(stack.keyPrefix, CHARGER_ID), JSON.stringify(state));
    const base = await listen({ CONTROL_WITHOUT_AUTH: 'true' });
    const context = await browser();
    const page = await context.newPage();
    await page.goto(`${base}/`);
    const card = page.locator(`[data-charger="${CHARGER_ID}"]`);
    const time = (iso: string) =>
      new Date(iso).toLocaleTimeString('en-US', { hour: '2-digit', minute: '2-digit', timeZone: 'America/Chicago' });
    await card
      .locator('[data-field="plan"]')
      .filter({ hasText: `${time(hour(6))}–${time(hour(8.6))}, $1.23 (saves $2.27)` })
      .waitFor({ timeout: 10_000 });
    await expect(card.locator('[data-field="plan-status"]').textContent()).resolves.toBe('following the plan');
    // What the planner last told the car, and how many calls the car service has been billed for.
    await expect(card.locator('[data-field="car-command"]').textContent()).resolves.toBe(
      `${time(new Date(nowMs - 60_000).toISOString())} stop: failed (asleep)`,
    );
    await expect(card.locator('[data-field="car-calls"]').textContent()).resolves.toBe('3 (tesla-fleet)');
    await page.locator('#connection').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });

    await card.locator('[data-action="charge-now"]').click();
    await card
      .locator('[data-field="control-message"]')
      .filter({ hasText: 'charging now' })
      .waitFor({ timeout: 10_000 });
    const saved = parseRedisPayload(
      planSettingsSchema,
      await redis.get(planKeys.settings(stack.keyPrefix, CHARGER_ID)),
    );
    expect(saved?.charge_now).toBe(true);

    // The planner follows and publishes: the page changes without a reload.
    await redis.publish(
      planKeys.stateChannel(stack.keyPrefix, CHARGER_ID),
      JSON.stringify({ ...state, status: 'charge_now' }),
    );
    await card
      .locator('[data-field="plan-status"]')
      .filter({ hasText: 'charging now (your choice)' })
      .waitFor({ timeout: 10_000 });
  });

  it('says why "charge now" is refused with auth off', async () => {
    stack.live.publishStatus(chargerStatus());
    const base = await listen();
    const response = await fetch(`${base}/api/v1/chargers/${CHARGER_ID}/charge-now`, { method: 'POST' });
    expect(response.status).toBe(403);
  });

  it('asks for a token when auth is on, then shows the data', async () => {
    stack.live.publishStatus(chargerStatus());
    const base = await listen({ AUTH_MODE: 'apikey', API_KEYS: 'page-key-0123456789' });
    const context = await browser();
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.locator('#login').waitFor({ state: 'visible', timeout: 10_000 });
    await page.fill('#token', 'page-key-0123456789');
    await page.click('#login button');
    await page
      .locator(`[data-charger="${CHARGER_ID}"] [data-field="name"]`)
      .filter({ hasText: 'garage' })
      .waitFor({ timeout: 10_000 });
    await page.locator('#connection').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
  });
});
