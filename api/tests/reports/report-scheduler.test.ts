import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { money } from '../../src/reports/monthly-report.js';
import { type Receiver, startReceiver } from '../notify/channels.js';
import { type ChargeResult, createTestStack, pricesBetween, simulateCharge, type TestStack } from '../seed.js';

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
});
