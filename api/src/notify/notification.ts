/**
 * What a notification is and where it may go: the settings the API's config
 * produces and the notifiers consume. Types and constants only, so loading
 * the configuration loads no mail or HTTP client.
 */
import type { SmtpSettings } from './smtp-settings.js';

export interface Notification {
  title: string;
  text: string;
  /** Structured figures for the generic webhook. */
  data?: unknown;
}

export const PUSHOVER_API_URL = 'https://api.pushover.net/1/messages.json';

/** The channels the ALERT_* settings turn on (the same ones Grafana's contact points use). */
export interface NotifySettings {
  slackWebhookUrl: string | undefined;
  discordWebhookUrl: string | undefined;
  pushover: { token: string; user: string } | undefined;
  webhookUrl: string | undefined;
  pushoverApiUrl: string;
  email: SmtpSettings | undefined;
}
