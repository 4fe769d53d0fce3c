import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueKeyPrefix } from '@twc/testenv/vitest';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { money } from '../../src/reports/monthly-report.js';
import { type Receiver, startReceiver } from '../notify/channels.js';
import {
  CHARGER_ID,
  CHARGER_NAME,
  type ChargeResult,
  createTestStack,
  pricesBetween,
  simulateCharge,
  type TestStack,
} from '../seed.js';

const HOUR = 3_600_000;
// Monday 2026-03-02, 08:00 in Chicago.
const NOW = Date.UTC(2026, 2, 2, 14);
let stack: TestStack;
let webhook: Receiver;
let charges: ChargeResult[];
const dir = mkdtempSync(join(tmpdir(), 'twc-reports-'));
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  stack = await createTestStack('api-scheduler');
  webhook = await startReceiver();
  const prices = pricesBetween(Date.UTC(2026, 1, 20), NOW);
  await stack.prices(prices, NOW);
  charges = [
    simulateCharge({ startMs: Date.UTC(2026, 1, 25, 7), chargeMs: 2 * HOUR, prices }), // Wed of last week
    simulateCharge({ startMs: Date.UTC(2026, 2, 1, 8), chargeMs: HOUR, prices }), // Sunday: yesterday
  ];
  await stack.write(charges.flatMap((charge) => charge.sessionPoints));
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await webhook.close();
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

async function app(env: Record<string, string> = {}): Promise<FastifyInstance> {
  const built = await buildApp({
    config: stack.config({ REPORTS_DIR: dir, ALERT_WEBHOOK_URL: webhook.url, ...env }),
    now: () => NOW,
  });
  apps.push(built);
  return built;
}

describe('scheduled reports and summaries', () => {
  it("writes last month's PDF and sends the daily and weekly summaries once, across replicas", async () => {
    const [replicaA, replicaB] = [await app(), await app()];
    const [doneA, doneB] = await Promise.all([replicaA.scheduler.tick(), replicaB.scheduler.tick()]);
    expect([...doneA, ...doneB].sort()).toEqual(['daily:2026-03-01', 'report:2026-02', 'weekly:2026-02-23']);
    expect(readdirSync(dir).filter((name) => name.endsWith('.pdf'))).toEqual(['twc-report-2026-02.pdf']);
    expect(webhook.bodies).toHaveLength(2);
    const daily = webhook.bodies.find((body) => (body as { title: string }).title.endsWith('2026-03-01')) as {
      text: string;
      data: { totals: { sessions: number; total_cost_usd: number } };
    };
    expect(daily.data.totals.sessions).toBe(1);
    expect(daily.data.totals.total_cost_usd).toBeCloseTo(charges[1]?.cost.totalCostUsd as number, 6);
    expect(daily.text).toContain(money(charges[1]?.cost.totalCostUsd as number));
    const weekly = webhook.bodies.find((body) => (body as { title: string }).title.includes('week of 2026-02-23')) as {
      data: { totals: { sessions: number } };
    };
    expect(weekly.data.totals.sessions).toBe(2);
    expect(await (await app()).scheduler.tick()).toEqual([]);
    expect(webhook.bodies).toHaveLength(2);
  });

  it('lists the reports and serves them; refuses names outside the pattern', async () => {
    const api = await app();
    const list = await api.inject({ method: 'GET', url: '/api/v1/reports' });
    expect(list.json().reports).toMatchObject([
      { name: 'twc-report-2026-02.pdf', month: '2026-02', url: '/api/v1/reports/twc-report-2026-02.pdf' },
    ]);
    const pdf = await api.inject({ method: 'GET', url: '/api/v1/reports/twc-report-2026-02.pdf' });
    expect(pdf.statusCode).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
    const missing = await api.inject({ method: 'GET', url: '/api/v1/reports/twc-report-2025-01.pdf' });
    expect(missing.statusCode).toBe(404);
    const sneaky = await api.inject({ method: 'GET', url: '/api/v1/reports/..%2F..%2Fetc%2Fpasswd' });
    expect(sneaky.statusCode).toBe(400);
    expect(sneaky.json().message).toMatch(/^name: must be a report name/);
  });

  it('waits for sessions on the old price clock, and writes once more the reports made before the correction', async () => {
    const reports = mkdtempSync(join(tmpdir(), 'twc-reports-old-'));
    // A report an earlier version wrote, and a January and a February session it stored on the old clock.
    writeFileSync(join(reports, 'twc-report-2026-01.pdf'), 'made on the old price clock');
    const legacy = (startMs: number, energy: string) => ({
      measurement: 'twc_session' as const,
      tags: { charger_id: CHARGER_ID, charger_name: CHARGER_NAME },
      fields: {
        session_id: `${CHARGER_ID}-${startMs}`,
        end_time: new Date(startMs + HOUR).toISOString(),
        energy_by_interval: energy,
      },
      timeMs: startMs,
    });
    const january = Date.UTC(2026, 0, 15, 8);
    const february = Date.UTC(2026, 1, 10, 8) + 1;
    await stack.write([legacy(january, '[[1768464300000,500]]'), legacy(february, '[[1770710700000,500]]')]);
    // Its own Redis claims: the first test's replicas claimed February's report in this Redis.
    const api = await app({
      REPORTS_DIR: reports,
      ALERT_WEBHOOK_URL: '',
      REDIS_KEY_PREFIX: uniqueKeyPrefix('old-clock'),
    });

    await api.scheduler.tick();
    expect(readFileSync(join(reports, 'twc-report-2026-01.pdf'), 'utf8')).toBe('made on the old price clock');
    expect(existsSync(join(reports, 'twc-report-2026-02.pdf'))).toBe(false);
    expect(JSON.parse(readFileSync(join(reports, 'price-clock.json'), 'utf8'))).toEqual({ pending: ['2026-01'] });

    // The collector re-prices them: their energy is rewritten in the new form.
    await stack.write([
      legacy(january, '{"start":[[1768464000000,500]]}'),
      legacy(february, '{"start":[[1770710400000,500]]}'),
    ]);
    await api.scheduler.tick();
    expect(readFileSync(join(reports, 'twc-report-2026-01.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
    expect(readFileSync(join(reports, 'twc-report-2026-02.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
    expect(JSON.parse(readFileSync(join(reports, 'price-clock.json'), 'utf8'))).toEqual({ pending: [] });
    rmSync(reports, { recursive: true, force: true });
  });
});
