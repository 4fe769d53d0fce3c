/**
 * E-mail through the mail server Grafana sends its alerts with (the
 * GRAFANA_SMTP_* settings), to ALERT_EMAIL_TO. One connection per message:
 * a summary goes out once or twice a day, so there is no pool to keep alive.
 */
import type { ConnectionOptions } from 'node:tls';
import { createTransport, type SMTPTransportOptions } from 'nodemailer';
import type { Notification } from './notification.js';
import type { SmtpSettings } from './smtp-settings.js';

export type { SmtpSettings } from './smtp-settings.js';

export interface SmtpMailer {
  /** Sends one message to every recipient; rejects with nodemailer's error (its `code`, `responseCode`). */
  send(notification: Notification): Promise<void>;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1)$/i;

export function smtpTransportOptions(
  settings: SmtpSettings,
  options: { timeoutMs: number; tls?: ConnectionOptions },
): SMTPTransportOptions {
  const credentials = settings.user !== undefined && settings.password !== undefined;
  return {
    host: settings.host,
    port: settings.port,
    // Grafana's mailer (gomail) speaks TLS from the first byte on port 465
    // and STARTTLS elsewhere; the same GF_SMTP_HOST must work for both.
    secure: settings.port === 465,
    // Go's smtp.PlainAuth, which Grafana uses, never sends a password over an
    // unencrypted connection except to localhost; neither do we. Without
    // credentials STARTTLS is still used whenever the server offers it.
    requireTLS: credentials && !LOOPBACK.test(settings.host),
    auth: credentials ? { user: settings.user as string, pass: settings.password as string } : undefined,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
    ...(options.tls ? { tls: options.tls } : {}),
  };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** The message for a notification: its title as subject, its text as is, and the same lines as HTML. */
export function renderEmail(notification: Notification): { subject: string; text: string; html: string } {
  const paragraphs = notification.text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => `<p style="margin:0 0 8px">${escapeHtml(line)}</p>`);
  const html = [
    '<!doctype html>',
    '<html><body style="font-family:sans-serif;font-size:15px;color:#222">',
    `<h2 style="font-size:18px;margin:0 0 12px">${escapeHtml(notification.title)}</h2>`,
    ...paragraphs,
    '</body></html>',
  ].join('\n');
  return { subject: notification.title, text: notification.text, html };
}

export function createSmtpMailer(
  settings: SmtpSettings,
  options: { timeoutMs: number; tls?: ConnectionOptions },
): SmtpMailer {
  const transport = createTransport(smtpTransportOptions(settings, options));
  return {
    async send(notification) {
      await transport.sendMail({ from: settings.from, to: settings.to, ...renderEmail(notification) });
    },
  };
}
