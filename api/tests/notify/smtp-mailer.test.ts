import { createServer, type Server } from 'node:net';
import { freePort } from '@twc/testenv';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiConfig } from '../../src/config.js';
import { createNotifier } from '../../src/notify/notifiers.js';
import { renderEmail, type SmtpSettings, smtpTransportOptions } from '../../src/notify/smtp-mailer.js';
import { type SmtpReceiver, startSmtpReceiver, TEST_TLS } from './smtp-receiver.js';

const SUMMARY = {
  title: 'Wall Connector charging cost, 2026-03-01',
  text: [
    '11.52 kWh in 1 session, $1.87 in total',
    'average price 3.41 ¢/kWh',
    '+$0.42 against the day before; $0.63 saved against the flat rate',
  ].join('\n'),
  data: { period: 'day' },
};

const receivers: SmtpReceiver[] = [];
const silentServers: Server[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  await Promise.all(silentServers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function receiver(options: Parameters<typeof startSmtpReceiver>[0] = {}): Promise<SmtpReceiver> {
  const started = await startSmtpReceiver(options);
  receivers.push(started);
  return started;
}

function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines, warnings: () => lines.filter((line) => line.msg === 'notification failed') };
}

function emailOnly(email: SmtpSettings): ApiConfig['notify'] {
  return {
    slackWebhookUrl: undefined,
    discordWebhookUrl: undefined,
    pushover: undefined,
    webhookUrl: undefined,
    pushoverApiUrl: 'https://api.pushover.net/1/messages.json',
    email,
  };
}

const mailSettings = (port: number, fields: Partial<SmtpSettings> = {}): SmtpSettings => ({
  host: '127.0.0.1',
  port,
  user: undefined,
  password: undefined,
  from: 'twc@example.com',
  to: ['owner@example.com', 'partner@example.org'],
  ...fields,
});

describe('e-mail channel', () => {
  it('logs in over STARTTLS and delivers the summary to every recipient, as text and HTML', async () => {
    const server = await receiver({ tls: TEST_TLS, users: { alerts: 'correct horse' } });
    const notifier = createNotifier(
      emailOnly(mailSettings(server.port, { user: 'alerts', password: 'correct horse' })),
      recordingLogger().logger,
      { smtpTls: { ca: TEST_TLS.cert } },
    );
    expect(notifier.channels).toEqual(['email']);
    expect(await notifier.send(SUMMARY)).toEqual([]);
    expect(notifier.stats()).toEqual({ sent: 1, failed: 0 });

    expect(server.messages).toHaveLength(1);
    const [message] = server.messages;
    expect(message?.secure).toBe(true);
    expect(message?.user).toBe('alerts');
    expect(message?.mailFrom).toBe('twc@example.com');
    expect(message?.rcptTo).toEqual(['owner@example.com', 'partner@example.org']);
    expect(message?.headers.get('to')).toBe('owner@example.com, partner@example.org');
    expect(message?.headers.get('subject')).toBe(SUMMARY.title);
    expect(message?.text.replace(/\r\n/g, '\n')).toBe(SUMMARY.text);
    for (const line of SUMMARY.text.split('\n')) expect(message?.html).toContain(`>${line}</p>`);
    expect(message?.html).toContain(`>${SUMMARY.title}</h2>`);
  });

  it('sends in plain text to a server that offers no STARTTLS when there is no password to protect', async () => {
    const server = await receiver();
    const notifier = createNotifier(emailOnly(mailSettings(server.port)), recordingLogger().logger);
    expect(await notifier.send(SUMMARY)).toEqual([]);
    expect(server.messages.map((message) => [message.secure, message.headers.get('subject')])).toEqual([
      [false, SUMMARY.title],
    ]);
  });

  it('fails on a wrong password, logging it once and counting every attempt', async () => {
    const server = await receiver({ tls: TEST_TLS, users: { alerts: 'correct horse' } });
    const { logger, warnings } = recordingLogger();
    const notifier = createNotifier(
      emailOnly(mailSettings(server.port, { user: 'alerts', password: 'battery staple' })),
      logger,
      { smtpTls: { ca: TEST_TLS.cert } },
    );
    for (let i = 0; i < 3; i++) expect(await notifier.send(SUMMARY)).toEqual(['email']);
    expect(notifier.stats()).toEqual({ sent: 0, failed: 3 });
    expect(warnings().map((line) => [line.channel, line.reason])).toEqual([['email', 'EAUTH 535']]);
    expect(server.messages).toEqual([]);
  });

  it('fails rather than falling back to plain text when the STARTTLS certificate is not trusted', async () => {
    const server = await receiver({ tls: TEST_TLS, users: { alerts: 'correct horse' } });
    const { logger, warnings } = recordingLogger();
    const notifier = createNotifier(
      emailOnly(mailSettings(server.port, { user: 'alerts', password: 'correct horse' })),
      logger,
    );
    expect(await notifier.send(SUMMARY)).toEqual(['email']);
    expect(warnings()).toMatchObject([{ channel: 'email', reason: 'ESOCKET', detail: 'self-signed certificate' }]);
    expect(server.messages).toEqual([]);
  });

  it('survives a server that refuses the recipients, logs it once, and logs its recovery', async () => {
    const server = await receiver();
    server.refuseRecipients = 550;
    const { logger, lines, warnings } = recordingLogger();
    const notifier = createNotifier(emailOnly(mailSettings(server.port)), logger);
    expect(await notifier.send(SUMMARY)).toEqual(['email']);
    expect(await notifier.send(SUMMARY)).toEqual(['email']);
    expect(warnings().map((line) => [line.channel, line.reason])).toEqual([['email', 'EENVELOPE 550']]);
    server.refuseRecipients = undefined;
    expect(await notifier.send(SUMMARY)).toEqual([]);
    expect(notifier.stats()).toEqual({ sent: 1, failed: 2 });
    expect(lines.filter((line) => line.msg === 'notification channel works again').map((l) => l.channel)).toEqual([
      'email',
    ]);
    expect(server.messages).toHaveLength(1);
  });

  it('survives a server that is down or never answers, without waiting past its timeout', async () => {
    const silent = createServer(() => {});
    silentServers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as { port: number }).port;

    const down = recordingLogger();
    const downNotifier = createNotifier(emailOnly(mailSettings(await freePort())), down.logger);
    expect(await downNotifier.send(SUMMARY)).toEqual(['email']);
    expect(await downNotifier.send(SUMMARY)).toEqual(['email']);
    expect(down.warnings()).toMatchObject([{ channel: 'email', reason: 'ESOCKET' }]);
    expect(String(down.warnings()[0]?.detail)).toContain('ECONNREFUSED');
    expect(downNotifier.stats()).toEqual({ sent: 0, failed: 2 });

    const mute = recordingLogger();
    const stalled = createNotifier(emailOnly(mailSettings(silentPort)), mute.logger, { timeoutMs: 200 });
    expect(await stalled.send(SUMMARY)).toEqual(['email']);
    expect(mute.warnings()).toMatchObject([{ channel: 'email', reason: 'ETIMEDOUT' }]);
    expect(stalled.stats()).toEqual({ sent: 0, failed: 1 });
  });
});

describe('smtpTransportOptions', () => {
  const options = { timeoutMs: 5000 };

  it('uses TLS from the first byte on port 465 and STARTTLS elsewhere, as Grafana does', () => {
    expect(smtpTransportOptions(mailSettings(465, { host: 'smtp.example.com' }), options).secure).toBe(true);
    expect(smtpTransportOptions(mailSettings(587, { host: 'smtp.example.com' }), options).secure).toBe(false);
  });

  it('requires STARTTLS before sending a password to anything but localhost', () => {
    const login = { user: 'alerts', password: 'secret' };
    expect(smtpTransportOptions(mailSettings(587, { host: 'smtp.example.com', ...login }), options)).toMatchObject({
      requireTLS: true,
      auth: { user: 'alerts', pass: 'secret' },
    });
    expect(smtpTransportOptions(mailSettings(25, { host: 'localhost', ...login }), options).requireTLS).toBe(false);
    expect(smtpTransportOptions(mailSettings(25, { host: '127.0.0.1', ...login }), options).requireTLS).toBe(false);
    const anonymous = smtpTransportOptions(mailSettings(25, { host: 'relay.example.com' }), options);
    expect(anonymous.requireTLS).toBe(false);
    expect(anonymous.auth).toBeUndefined();
  });

  it('applies the timeout to connecting, the greeting and every reply', () => {
    expect(smtpTransportOptions(mailSettings(587), options)).toMatchObject({
      connectionTimeout: 5000,
      greetingTimeout: 5000,
      socketTimeout: 5000,
    });
  });
});

describe('renderEmail', () => {
  it('keeps the text as is and escapes it for HTML', () => {
    const rendered = renderEmail({ title: 'Cost <today> & "more"', text: 'a < b\n\nc & d' });
    expect(rendered.subject).toBe('Cost <today> & "more"');
    expect(rendered.text).toBe('a < b\n\nc & d');
    expect(rendered.html).toContain('>Cost &#60;today&#62; &#38; &#34;more&#34;</h2>');
    expect(rendered.html).toContain('>a &#60; b</p>');
    expect(rendered.html).toContain('>c &#38; d</p>');
    expect(rendered.html).not.toMatch(/<today>|a < b/);
  });
});
