import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMA } from '@twc/core/contracts/influx-schema';
import { PUBLISHED_MISMATCH_ALERT_SHARE } from '@twc/core/prices/published-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DATASOURCE_UID, GRAFANA_DIR } from './dashboards.js';
import { renderProvisioning, rulesOf } from './provisioning.js';

const ALL_CHANNELS = {
  ALERT_EMAIL_TO: 'me@example.com',
  ALERT_SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X',
  ALERT_DISCORD_WEBHOOK_URL: 'https://discord.com/api/webhooks/1/x',
  ALERT_PUSHOVER_USER_KEY: 'user',
  ALERT_PUSHOVER_APP_TOKEN: 'token',
  ALERT_WEBHOOK_URL: 'http://hooks.local/twc',
};

interface ContactPoints {
  contactPoints: { name: string; receivers: { uid: string; type: string; settings: Record<string, unknown> }[] }[];
}

describe('grafana provisioning', () => {
  it('provisions the InfluxDB data source with the fixed uid, Flux, the org and the read-only token from env', () => {
    const file = parse(readFileSync(join(GRAFANA_DIR, 'provisioning/datasources/influxdb.yaml'), 'utf8'));
    expect(file.datasources).toHaveLength(1);
    expect(file.datasources[0]).toMatchObject({
      uid: DATASOURCE_UID,
      type: 'influxdb',
      url: 'http://influxdb:8086',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own ${...} syntax, not a template literal
      jsonData: { version: 'Flux', organization: '${INFLUXDB_ORG}', defaultBucket: 'twc_raw' },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own ${...} syntax, not a template literal
      secureJsonData: { token: '${GRAFANA_INFLUXDB_TOKEN}' },
    });
  });

  it('loads the dashboards from the mounted directory into the Tesla Wall Connector folder', () => {
    const file = parse(readFileSync(join(GRAFANA_DIR, 'provisioning/dashboards/twc.yaml'), 'utf8'));
    expect(file.providers[0]).toMatchObject({
      folder: 'Tesla Wall Connector',
      type: 'file',
      options: { path: '/var/lib/grafana/dashboards' },
    });
  });

  it('renders the rules with the default thresholds and no contact point when no channel is configured', () => {
    const rendered = renderProvisioning({});
    expect(rendered.status, rendered.stderr).toBe(0);
    expect(Object.keys(rendered.files).sort()).toEqual([
      'alerting/twc-rules.yaml',
      'dashboards/twc.yaml',
      'datasources/influxdb.yaml',
    ]);
    const rules = rulesOf(rendered);
    expect(rules.map((rule) => rule.uid).sort()).toEqual([
      'twc-charger-offline',
      'twc-data-stale',
      'twc-handle-temp-high',
      'twc-price-clock',
      'twc-price-low',
      'twc-price-spike',
      'twc-price-stale',
      'twc-session-complete',
    ]);
    const threshold = (uid: string) =>
      rules.find((rule) => rule.uid === uid)?.data.find((query) => query.model.type === 'threshold')?.model
        .conditions?.[0]?.evaluator.params[0];
    expect(threshold('twc-handle-temp-high')).toBe(60);
    expect(threshold('twc-price-spike')).toBe(10);
    expect(threshold('twc-price-low')).toBe(2);
    expect(threshold('twc-data-stale')).toBe(600);
    // The share the comed-poller itself warns at.
    expect(threshold('twc-price-clock')).toBe(PUBLISHED_MISMATCH_ALERT_SHARE);
  });

  it('takes the thresholds from env', () => {
    const rendered = renderProvisioning({
      ALERT_HANDLE_TEMP_C: '55.5',
      ALERT_PRICE_HIGH_CENTS: '14',
      ALERT_PRICE_LOW_CENTS: '-1',
      ALERT_STALE_MINUTES: '3',
    });
    expect(rendered.status, rendered.stderr).toBe(0);
    const params = rulesOf(rendered).map(
      (rule) => rule.data.find((query) => query.model.type === 'threshold')?.model.conditions?.[0]?.evaluator.params[0],
    );
    expect(params).toEqual(expect.arrayContaining([55.5, 14, -1, 180]));
  });

  it.each([
    ['ALERT_PRICE_HIGH_CENTS', 'ten'],
    ['ALERT_HANDLE_TEMP_C', '60; rm -rf /'],
    ['ALERT_STALE_MINUTES', '1e3'],
  ])('refuses %s=%s with a message naming it', (name, value) => {
    const rendered = renderProvisioning({ [name]: value });
    expect(rendered.status).toBe(1);
    expect(rendered.stderr).toContain(name);
    expect(rendered.files['alerting/twc-rules.yaml']).toBeUndefined();
  });

  it('queries only the fixed data source (or Grafana expressions) in every rule, over our schema', () => {
    for (const rule of rulesOf(renderProvisioning({}))) {
      expect(rule.data.map((query) => query.refId)).toContain(rule.condition);
      for (const query of rule.data) {
        expect([DATASOURCE_UID, '__expr__'], rule.uid).toContain(query.datasourceUid);
        if (query.datasourceUid !== DATASOURCE_UID) continue;
        const flux = query.model.query ?? '';
        const measurements = [...flux.matchAll(/r\._measurement == "([^"]+)"/g)].map((match) => match[1] as string);
        expect(measurements.length, rule.uid).toBeGreaterThan(0);
        for (const measurement of measurements) expect(Object.keys(SCHEMA), rule.uid).toContain(measurement);
        for (const [, field] of flux.matchAll(/r\._field == "([^"]+)"/g)) {
          const owners = measurements.filter(
            (measurement) => field !== undefined && field in SCHEMA[measurement as keyof typeof SCHEMA].fields,
          );
          expect(owners, `${rule.uid}: ${field}`).not.toEqual([]);
        }
      }
    }
  });

  it('includes exactly the channels whose settings are present, as one contact point the policy routes to', () => {
    const none = renderProvisioning({ ALERT_SLACK_WEBHOOK_URL: '' });
    expect(none.files['alerting/twc-contact-points.yaml']).toBeUndefined();
    expect(none.files['alerting/twc-policies.yaml']).toBeUndefined();

    const two = renderProvisioning({
      ALERT_SLACK_WEBHOOK_URL: ALL_CHANNELS.ALERT_SLACK_WEBHOOK_URL,
      ALERT_WEBHOOK_URL: ALL_CHANNELS.ALERT_WEBHOOK_URL,
    });
    expect(two.status, two.stderr).toBe(0);
    const points = two.files['alerting/twc-contact-points.yaml'] as ContactPoints;
    expect(points.contactPoints).toHaveLength(1);
    expect(points.contactPoints[0]?.receivers.map((receiver) => receiver.type)).toEqual(['slack', 'webhook']);
    // Secrets stay env references for Grafana to expand; they are never written into the file.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own ${...} syntax, not a template literal
    expect(points.contactPoints[0]?.receivers[0]?.settings.url).toBe('${ALERT_SLACK_WEBHOOK_URL}');
    const policies = two.files['alerting/twc-policies.yaml'] as { policies: { receiver: string }[] };
    expect(policies.policies[0]?.receiver).toBe(points.contactPoints[0]?.name);

    const all = renderProvisioning(ALL_CHANNELS);
    const every = all.files['alerting/twc-contact-points.yaml'] as ContactPoints;
    expect(every.contactPoints[0]?.receivers.map((receiver) => receiver.type)).toEqual([
      'email',
      'slack',
      'discord',
      'pushover',
      'webhook',
    ]);
    const uids = every.contactPoints[0]?.receivers.map((receiver) => receiver.uid) ?? [];
    expect(new Set(uids).size).toBe(5);
    for (const receiver of every.contactPoints[0]?.receivers ?? []) {
      for (const value of Object.values(receiver.settings)) {
        if (typeof value === 'string' && value.startsWith('$')) expect(value).toMatch(/^\$\{ALERT_[A-Z_]+\}$/);
      }
    }
  });

  it('refuses half a Pushover configuration instead of provisioning a contact point that fails', () => {
    const rendered = renderProvisioning({ ALERT_PUSHOVER_USER_KEY: 'user' });
    expect(rendered.status).toBe(1);
    expect(rendered.stderr).toContain('ALERT_PUSHOVER_APP_TOKEN');
  });
});
