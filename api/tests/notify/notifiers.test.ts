import { freePort } from '@twc/testenv';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createNotifier } from '../../src/notify/notifiers.js';
import { type Receiver, startReceiver } from './channels.js';

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

async function receiver(): Promise<Receiver> {
  const started = await startReceiver();
  receivers.push(started);
  return started;
}

function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('notifiers', () => {
  it('posts each channel its own format', async () => {
    const [slack, discord, pushover, webhook] = [
      await receiver(),
      await receiver(),
      await receiver(),
      await receiver(),
    ];
    const notifier = createNotifier(
      {
        slackWebhookUrl: slack.url,
        discordWebhookUrl: discord.url,
        pushover: { token: 'app-token', user: 'user-key' },
        webhookUrl: webhook.url,
        pushoverApiUrl: pushover.url,
        email: undefined,
      },
      recordingLogger().logger,
    );
    expect(notifier.channels).toEqual(['slack', 'discord', 'pushover', 'webhook']);
    const failed = await notifier.send({
      title: 'Cost, 2026-03-01',
      text: '12.00 kWh, $1.50',
      data: { energy_wh: 12000 },
    });
    expect(failed).toEqual([]);
    expect(slack.bodies).toEqual([{ text: '*Cost, 2026-03-01*\n12.00 kWh, $1.50' }]);
    expect(discord.bodies).toEqual([{ content: '**Cost, 2026-03-01**\n12.00 kWh, $1.50' }]);
    expect(pushover.bodies).toEqual([
      { token: 'app-token', user: 'user-key', title: 'Cost, 2026-03-01', message: '12.00 kWh, $1.50' },
    ]);
    expect(webhook.bodies).toEqual([
      { event: 'cost_summary', title: 'Cost, 2026-03-01', text: '12.00 kWh, $1.50', data: { energy_wh: 12000 } },
    ]);
    expect(notifier.stats()).toEqual({ sent: 4, failed: 0 });
  });

  it('logs a failing channel once, counts every failure, and logs its recovery', async () => {
    const webhook = await receiver();
    webhook.status = 500;
    const unreachable = `http://127.0.0.1:${await freePort()}/hook`;
    const { logger, lines } = recordingLogger();
    const notifier = createNotifier(
      {
        webhookUrl: webhook.url,
        slackWebhookUrl: unreachable,
        discordWebhookUrl: undefined,
        pushover: undefined,
        pushoverApiUrl: 'https://api.pushover.net/1/messages.json',
        email: undefined,
      },
      logger,
    );
    for (let i = 0; i < 3; i++) expect(await notifier.send({ title: 't', text: 'x' })).toEqual(['slack', 'webhook']);
    expect(notifier.stats()).toEqual({ sent: 0, failed: 6 });
    const warnings = lines.filter((line) => line.msg === 'notification failed');
    expect(warnings.map((line) => [line.channel, line.reason])).toEqual([
      ['slack', 'ECONNREFUSED'],
      ['webhook', 'HTTP 500'],
    ]);
    webhook.status = 200;
    expect(await notifier.send({ title: 't', text: 'x' })).toEqual(['slack']);
    expect(lines.filter((line) => line.msg === 'notification channel works again').map((l) => l.channel)).toEqual([
      'webhook',
    ]);
  });
});
