import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { kwh, money } from '../../src/reports/monthly-report.js';
import { type ChargeResult, createTestStack, pricesBetween, simulateCharge, type TestStack } from '../seed.js';
import { type Receiver, startReceiver } from './channels.js';
import { type SmtpReceiver, startSmtpReceiver } from './smtp-receiver.js';

const HOUR = 3_600_000;
// Wednesday 2026-03-11, 08:00 in Chicago (CDT, UTC-5).
const NOW = Date.UTC(2026, 2, 11, 13);
let stack: TestStack;
let smtp: SmtpReceiver;
let webhook: Receiver;
let charge: ChargeResult;
let app: FastifyInstance;
const dir = mkdtempSync(join(tmpdir(), 'twc-email-summary-'));

beforeAll(async () => {
  stack = await createTestStack('api-email-summary');
  smtp = await startSmtpReceiver();
  webhook = await startReceiver();
  const prices = pricesBetween(Date.UTC(2026, 2, 9), NOW);
  await stack.prices(prices, NOW);
  // Tuesday 2026-03-10, 04:00 to 06:00 in Chicago: yesterday.
  charge = simulateCharge({ startMs: Date.UTC(2026, 2, 10, 9), chargeMs: 2 * HOUR, prices });
  await stack.write(charge.sessionPoints);
  app = await buildApp({
    config: stack.config({
      REPORTS_DIR: dir,
      NOTIFY_WEEKLY: 'false',
      ALERT_WEBHOOK_URL: webhook.url,
      ALERT_EMAIL_TO: 'owner@example.com,partner@example.org',
      GRAFANA_SMTP_ENABLED: 'true',
      GRAFANA_SMTP_HOST: `127.0.0.1:${smtp.port}`,
      GRAFANA_SMTP_FROM_ADDRESS: 'twc@example.com',
    }),
    now: () => NOW,
  });
});
afterAll(async () => {
  await app?.close();
  await smtp?.close();
  await webhook?.close();
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('daily summary by e-mail', () => {
  it("mails yesterday's summary, with the figures every other channel gets, once", async () => {
    expect(await app.scheduler.tick()).toContain('daily:2026-03-10');
    expect(smtp.messages).toHaveLength(1);
    const [mail] = smtp.messages;
    const [posted] = webhook.bodies as { title: string; text: string }[];
    expect(mail?.rcptTo).toEqual(['owner@example.com', 'partner@example.org']);
    expect(mail?.mailFrom).toBe('twc@example.com');
    expect(mail?.headers.get('subject')).toBe('Wall Connector charging cost, 2026-03-10');
    expect(mail?.headers.get('subject')).toBe(posted?.title);
    expect(mail?.text.replace(/\r\n/g, '\n')).toBe(posted?.text);
    const figures = [
      `${kwh(charge.session.energyWh)} in 1 session, ${money(charge.cost.totalCostUsd)} in total`,
      `${money(charge.whatIf.savingVsFlatUsd ?? Number.NaN)} saved against the flat rate`,
    ];
    for (const figure of figures) {
      expect(mail?.text).toContain(figure);
      expect(mail?.html).toContain(figure);
    }
    expect(await app.scheduler.tick()).toEqual([]);
    expect(smtp.messages).toHaveLength(1);
  });
});
