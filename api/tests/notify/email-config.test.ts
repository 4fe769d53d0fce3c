import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../src/config.js';

const BASE = { INFLUXDB_TOKEN: 't' };
const COMPLETE = {
  ...BASE,
  GRAFANA_SMTP_ENABLED: 'true',
  GRAFANA_SMTP_HOST: 'smtp.example.com:587',
  GRAFANA_SMTP_FROM_ADDRESS: 'twc@example.com',
  ALERT_EMAIL_TO: 'owner@example.com',
};

/** Each problem the configuration error names, as [setting, message]; [] when the environment is accepted. */
function problems(env: Record<string, string>): [string, string][] {
  try {
    loadApiConfig(env);
    return [];
  } catch (error) {
    return [...(error as Error).message.matchAll(/✖ (.*)\n\s*→ at (\S+)/g)].map(
      (match) => [match[2] as string, match[1] as string] as [string, string],
    );
  }
}

describe('e-mail settings (Grafana SMTP and ALERT_EMAIL_TO)', () => {
  it('leaves e-mail off by default', () => {
    expect(loadApiConfig(BASE).notify.email).toBeUndefined();
    expect(loadApiConfig({ ...BASE, GRAFANA_SMTP_ENABLED: 'false' }).notify.email).toBeUndefined();
  });

  it('turns e-mail on with the server, login, sender and recipients', () => {
    const config = loadApiConfig({
      ...COMPLETE,
      GRAFANA_SMTP_USER: 'alerts',
      GRAFANA_SMTP_PASSWORD: 'secret',
      ALERT_EMAIL_TO: 'owner@example.com, partner@example.org;third@example.net',
    });
    expect(config.notify.email).toEqual({
      host: 'smtp.example.com',
      port: 587,
      user: 'alerts',
      password: 'secret',
      from: 'twc@example.com',
      to: ['owner@example.com', 'partner@example.org', 'third@example.net'],
    });
    expect(loadApiConfig({ ...COMPLETE, GRAFANA_SMTP_HOST: '[::1]:25' }).notify.email).toMatchObject({
      host: '::1',
      port: 25,
      user: undefined,
      password: undefined,
    });
  });

  it('reads the password from GRAFANA_SMTP_PASSWORD_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twc-smtp-config-'));
    try {
      writeFileSync(join(dir, 'smtp-password'), 'from-file\n');
      const config = loadApiConfig({
        ...COMPLETE,
        GRAFANA_SMTP_USER: 'alerts',
        GRAFANA_SMTP_PASSWORD_FILE: join(dir, 'smtp-password'),
      });
      expect(config.notify.email?.password).toBe('from-file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves e-mail off when SMTP is on for Grafana alone (no recipients)', () => {
    const config = loadApiConfig({ ...COMPLETE, ALERT_EMAIL_TO: '' });
    expect(config.notify.email).toBeUndefined();
  });

  it('names the missing setting of a half configuration', () => {
    expect(problems({ ...BASE, ALERT_EMAIL_TO: 'owner@example.com' })).toEqual([
      [
        'GRAFANA_SMTP_ENABLED',
        'must be true when ALERT_EMAIL_TO is set: e-mail needs the mail server settings (GRAFANA_SMTP_*)',
      ],
    ]);
    expect(problems({ ...BASE, GRAFANA_SMTP_ENABLED: 'true', ALERT_EMAIL_TO: 'owner@example.com' })).toEqual([
      ['GRAFANA_SMTP_HOST', 'is required to e-mail ALERT_EMAIL_TO (the mail server, host:port)'],
      ['GRAFANA_SMTP_FROM_ADDRESS', 'is required to e-mail ALERT_EMAIL_TO (the sender address)'],
    ]);
    for (const missing of ['GRAFANA_SMTP_HOST', 'GRAFANA_SMTP_FROM_ADDRESS']) {
      expect(
        problems({ ...COMPLETE, [missing]: '' }).map(([name]) => name),
        missing,
      ).toEqual([missing]);
    }
    expect(problems({ ...COMPLETE, GRAFANA_SMTP_USER: 'alerts' }).map(([name]) => name)).toEqual([
      'GRAFANA_SMTP_PASSWORD',
    ]);
    expect(problems({ ...COMPLETE, GRAFANA_SMTP_PASSWORD: 'secret' }).map(([name]) => name)).toEqual([
      'GRAFANA_SMTP_USER',
    ]);
  });

  it('names a malformed host, sender or recipient', () => {
    expect(problems({ ...COMPLETE, GRAFANA_SMTP_HOST: 'smtp.example.com' })).toEqual([
      ['GRAFANA_SMTP_HOST', 'must be host:port, as Grafana takes it (e.g. smtp.example.com:587)'],
    ]);
    expect(problems({ ...COMPLETE, GRAFANA_SMTP_HOST: 'smtp.example.com:70000' })).toEqual([
      ['GRAFANA_SMTP_HOST', 'has a port outside 1-65535'],
    ]);
    expect(problems({ ...COMPLETE, GRAFANA_SMTP_FROM_ADDRESS: 'twc' })).toEqual([
      ['GRAFANA_SMTP_FROM_ADDRESS', 'must be an e-mail address'],
    ]);
    expect(problems({ ...COMPLETE, ALERT_EMAIL_TO: 'owner@example.com, nobody' })).toEqual([
      ['ALERT_EMAIL_TO[1]', 'must be e-mail addresses separated by commas'],
    ]);
    expect(problems({ ...COMPLETE, GRAFANA_SMTP_ENABLED: 'yes please' }).map(([name]) => name)).toEqual([
      'GRAFANA_SMTP_ENABLED',
    ]);
  });
});
