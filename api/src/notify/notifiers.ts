/**
 * Cost summaries to the notification channels configured in env: Slack and
 * Discord incoming webhooks, Pushover, a generic JSON webhook, and e-mail
 * through Grafana's mail server; each is optional. A channel that fails is
 * logged once until it works again, and counted; send() never throws.
 */
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '@twc/runtime/logger';
import type { Notification, NotifySettings } from './notification.js';
import { createSmtpMailer } from './smtp-mailer.js';

export type { Notification } from './notification.js';

export interface Notifier {
  readonly channels: string[];
  /** Sends to every channel; resolves with the channels that failed. */
  send(notification: Notification): Promise<string[]>;
  stats(): { sent: number; failed: number };
}

interface Channel {
  name: string;
  deliver(notification: Notification): Promise<void>;
}

function failureReason(error: unknown): string {
  const { code, responseCode, cause } = error as { code?: unknown; responseCode?: unknown; cause?: { code?: string } };
  // nodemailer's errors carry their own code (EAUTH, EENVELOPE, ETIMEDOUT, ...) and the server's reply code.
  if (typeof code === 'string') return typeof responseCode === 'number' ? `${code} ${responseCode}` : code;
  if (cause?.code) return cause.code;
  if ((error as Error).name === 'TimeoutError') return 'timeout';
  return (error as Error).message;
}

function webhook(name: string, url: string, body: (n: Notification) => unknown, timeoutMs: number): Channel {
  return {
    name,
    async deliver(notification) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body(notification)),
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Always read the body, so the connection is released.
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    },
  };
}

export function createNotifier(
  settings: NotifySettings,
  logger: Logger,
  options: {
    /** Per webhook request, and per SMTP step (connect, greeting, each reply); 10 s and 30 s when unset. */
    timeoutMs?: number;
    /** TLS options for the mail server, such as a private CA that signed its certificate. */
    smtpTls?: ConnectionOptions;
  } = {},
): Notifier {
  const httpTimeoutMs = options.timeoutMs ?? 10_000;
  const channels: Channel[] = [];
  if (settings.slackWebhookUrl) {
    channels.push(
      webhook('slack', settings.slackWebhookUrl, (n) => ({ text: `*${n.title}*\n${n.text}` }), httpTimeoutMs),
    );
  }
  if (settings.discordWebhookUrl) {
    channels.push(
      webhook('discord', settings.discordWebhookUrl, (n) => ({ content: `**${n.title}**\n${n.text}` }), httpTimeoutMs),
    );
  }
  if (settings.pushover) {
    const { token, user } = settings.pushover;
    channels.push(
      webhook(
        'pushover',
        settings.pushoverApiUrl,
        (n) => ({ token, user, title: n.title, message: n.text }),
        httpTimeoutMs,
      ),
    );
  }
  if (settings.webhookUrl) {
    channels.push(
      webhook(
        'webhook',
        settings.webhookUrl,
        (n) => ({ event: 'cost_summary', title: n.title, text: n.text, data: n.data ?? null }),
        httpTimeoutMs,
      ),
    );
  }
  if (settings.email) {
    const mailer = createSmtpMailer(settings.email, {
      // Mail servers may hold back their greeting for a few seconds to catch spam bots.
      timeoutMs: options.timeoutMs ?? 30_000,
      ...(options.smtpTls ? { tls: options.smtpTls } : {}),
    });
    channels.push({ name: 'email', deliver: (notification) => mailer.send(notification) });
  }
  const failing = new Set<string>();
  const counters = { sent: 0, failed: 0 };

  async function attempt(channel: Channel, notification: Notification): Promise<boolean> {
    try {
      await channel.deliver(notification);
      counters.sent++;
      if (failing.delete(channel.name)) logger.info({ channel: channel.name }, 'notification channel works again');
      return true;
    } catch (error) {
      counters.failed++;
      if (!failing.has(channel.name)) {
        failing.add(channel.name);
        const reason = failureReason(error);
        const detail = (error as Error).message;
        logger.warn(
          { channel: channel.name, reason, ...(detail && detail !== reason ? { detail } : {}) },
          'notification failed',
        );
      }
      return false;
    }
  }

  return {
    channels: channels.map((channel) => channel.name),
    async send(notification) {
      const results = await Promise.all(channels.map((channel) => attempt(channel, notification)));
      return channels.filter((_, index) => !results[index]).map((channel) => channel.name);
    },
    stats: () => ({ ...counters }),
  };
}
