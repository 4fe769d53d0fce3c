/**
 * Cost summaries to the notification channels configured in env: Slack and
 * Discord incoming webhooks, Pushover, and a generic JSON webhook; each is
 * optional. Email would need an SMTP library the project does not carry.
 * A channel that fails is logged once until it works again, and counted.
 */
import type { Logger } from '@twc/collector/logger';
import type { ApiConfig } from '../config.js';

export interface Notification {
  title: string;
  text: string;
  /** Structured figures for the generic webhook. */
  data?: unknown;
}

export interface Notifier {
  readonly channels: string[];
  /** Sends to every channel; resolves with the channels that failed. */
  send(notification: Notification): Promise<string[]>;
  stats(): { sent: number; failed: number };
}

export const PUSHOVER_API_URL = 'https://api.pushover.net/1/messages.json';

interface Channel {
  name: string;
  url: string;
  body(notification: Notification): unknown;
}

function failureReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  if (cause?.code) return cause.code;
  if ((error as Error).name === 'TimeoutError') return 'timeout';
  return (error as Error).message;
}

export function createNotifier(
  settings: ApiConfig['notify'],
  logger: Logger,
  options: { timeoutMs?: number } = {},
): Notifier {
  const channels: Channel[] = [];
  if (settings.slackWebhookUrl) {
    channels.push({ name: 'slack', url: settings.slackWebhookUrl, body: (n) => ({ text: `*${n.title}*\n${n.text}` }) });
  }
  if (settings.discordWebhookUrl) {
    channels.push({
      name: 'discord',
      url: settings.discordWebhookUrl,
      body: (n) => ({ content: `**${n.title}**\n${n.text}` }),
    });
  }
  if (settings.pushover) {
    const { token, user } = settings.pushover;
    channels.push({
      name: 'pushover',
      url: settings.pushoverApiUrl,
      body: (n) => ({ token, user, title: n.title, message: n.text }),
    });
  }
  if (settings.webhookUrl) {
    channels.push({
      name: 'webhook',
      url: settings.webhookUrl,
      body: (n) => ({ event: 'cost_summary', title: n.title, text: n.text, data: n.data ?? null }),
    });
  }
  const failing = new Set<string>();
  const counters = { sent: 0, failed: 0 };

  async function post(channel: Channel, notification: Notification): Promise<boolean> {
    try {
      const response = await fetch(channel.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(channel.body(notification)),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      // Always read the body, so the connection is released.
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      counters.sent++;
      if (failing.delete(channel.name)) logger.info({ channel: channel.name }, 'notification channel works again');
      return true;
    } catch (error) {
      counters.failed++;
      if (!failing.has(channel.name)) {
        failing.add(channel.name);
        logger.warn({ channel: channel.name, reason: failureReason(error) }, 'notification failed');
      }
      return false;
    }
  }

  return {
    channels: channels.map((channel) => channel.name),
    async send(notification) {
      const results = await Promise.all(channels.map((channel) => post(channel, notification)));
      return channels.filter((_, index) => !results[index]).map((channel) => channel.name);
    },
    stats: () => ({ ...counters }),
  };
}
