import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { kwh, money } from '../../src/reports/monthly-report.js';
import { type ChargeResult, createTestStack, pricesBetween, simulateCharge, type TestStack } from '../seed.js';

const HOUR = 3_600_000;
const MONTH_START = Date.UTC(2026, 1, 1, 6); // 2026-02-01 00:00 in Chicago
const OUTPUT = resolve(import.meta.dirname, '../../../.test-output');
let stack: TestStack;
let charges: ChargeResult[];
const apps: FastifyInstance[] = [];
const dir = mkdtempSync(join(tmpdir(), 'twc-report-'));

beforeAll(async () => {
  stack = await createTestStack('api-report');
  const prices = pricesBetween(MONTH_START - 86_400_000, MONTH_START + 29 * 86_400_000);
  await stack.prices(prices, MONTH_START + 29 * 86_400_000);
  // Fourteen sessions over the month: enough to run the session table onto a second page.
  charges = Array.from({ length: 14 }, (_, i) =>
    simulateCharge({
      startMs: MONTH_START + (i * 2 + 1) * 86_400_000 + 1 * HOUR,
      chargeMs: (1 + (i % 3)) * HOUR,
      prices,
    }),
  );
  await stack.write(charges.flatMap((charge) => charge.sessionPoints));
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

async function app(): Promise<FastifyInstance> {
  const built = await buildApp({ config: stack.config(), now: () => MONTH_START + 40 * 86_400_000 });
  apps.push(built);
  return built;
}

describe('GET /export/report', () => {
  it('renders a PDF that poppler draws without error and whose text holds the month totals', async () => {
    const response = await (await app()).inject({ method: 'GET', url: '/api/v1/export/report?month=2026-02' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/pdf');
    expect(response.headers['content-disposition']).toBe('attachment; filename="twc-report-2026-02.pdf"');
    const pdf = join(dir, 'report.pdf');
    writeFileSync(pdf, response.rawPayload);
    mkdirSync(OUTPUT, { recursive: true });
    writeFileSync(join(OUTPUT, 'report-2026-02.pdf'), response.rawPayload);

    expect(existsSync('/usr/bin/pdftoppm'), 'pdftoppm is missing: apt-get install poppler-utils').toBe(true);
    execFileSync('pdftoppm', ['-r', '50', '-png', pdf, join(dir, 'page')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const pages = readdirSync(dir).filter((name) => name.startsWith('page'));
    expect(pages.length).toBe(2);

    const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
    const energyWh = charges.reduce((sum, charge) => sum + charge.session.energyWh, 0);
    const totalUsd = charges.reduce((sum, charge) => sum + charge.cost.totalCostUsd, 0);
    const savedUsd = charges.reduce((sum, charge) => sum + (charge.whatIf.savingVsFlatUsd ?? Number.NaN), 0);
    expect(text).toContain('Wall Connector monthly report');
    expect(text).toContain('February 2026');
    expect(text).toContain(kwh(energyWh));
    expect(text).toContain(money(totalUsd));
    expect(text).toContain(money(savedUsd));
    const figuresRow = text.split('\n').find((line) => line.includes(kwh(energyWh)));
    expect(figuresRow?.trim().split(/\s{2,}/)).toEqual([
      kwh(energyWh),
      money(totalUsd),
      expect.stringMatching(/¢\/kWh$/),
      '14',
    ]);
    expect(text).toContain(money(charges[13]?.cost.totalCostUsd as number));
  });

  it('refuses a bad month or time zone naming the field', async () => {
    const api = await app();
    for (const [url, message] of [
      ['/api/v1/export/report?month=2026-13', 'month: must be a month, YYYY-MM'],
      ['/api/v1/export/report?month=Feb', 'month: must be a month, YYYY-MM'],
      ['/api/v1/export/report?month=2026-02&tz=Atlantis', 'tz: unknown time zone "Atlantis"'],
    ] as const) {
      const response = await api.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(400);
      expect(response.json().message).toBe(message);
    }
    const missing = await api.inject({ method: 'GET', url: '/api/v1/export/report' });
    expect(missing.json().message).toMatch(/^month: /);
  });
});
