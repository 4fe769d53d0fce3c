import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadHomeAssistantConfig } from '../../src/homeassistant/config.js';

describe('home assistant bridge configuration', () => {
  it('requires MQTT_URL: publishing to a broker is all the service does', () => {
    expect(() => loadHomeAssistantConfig({})).toThrow(/invalid home assistant bridge configuration:[\s\S]*MQTT_URL/);
    expect(() => loadHomeAssistantConfig({ MQTT_URL: '' })).toThrow(/is required[\s\S]*at MQTT_URL/);
  });

  it('has documented defaults', () => {
    expect(loadHomeAssistantConfig({ MQTT_URL: 'mqtt://mosquitto:1883' })).toEqual({
      mqtt: {
        url: 'mqtt://mosquitto:1883',
        username: undefined,
        password: undefined,
        ca: undefined,
        rejectUnauthorized: true,
      },
      discovery: true,
      discoveryPrefix: 'homeassistant',
      stateMinIntervalMs: 10_000,
      topicRoot: 'twc',
      redis: { url: 'redis://redis:6379', keyPrefix: 'twc:' },
      influx: undefined,
      readingsRefreshMs: 60_000,
      tariff: {
        TARIFF_DELIVERY_CENTS_KWH: undefined,
        TARIFF_OTHER_CENTS_KWH: undefined,
        TARIFF_TAX_PERCENT: undefined,
        TARIFF_MONTHLY_FIXED_USD: undefined,
        TARIFF_FLAT_RATE_CENTS_KWH: undefined,
        TARIFF_FILE: undefined,
      },
      healthPort: 8083,
      logLevel: 'info',
    });
  });

  it('reads secrets and the CA from files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twc-ha-config-'));
    writeFileSync(join(dir, 'password'), 's3cret\n');
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n');
    writeFileSync(join(dir, 'token'), 'influx-token\n');
    const config = loadHomeAssistantConfig({
      MQTT_URL: 'mqtts://broker.lan:8883',
      MQTT_USERNAME: 'twc',
      MQTT_PASSWORD_FILE: join(dir, 'password'),
      MQTT_TLS_CA_FILE: join(dir, 'ca.pem'),
      MQTT_TLS_REJECT_UNAUTHORIZED: 'false',
      INFLUXDB_TOKEN_FILE: join(dir, 'token'),
      HA_DISCOVERY: 'false',
      HA_DISCOVERY_PREFIX: 'ha/',
      HA_STATE_MIN_INTERVAL_S: '2.5',
    });
    expect(config?.mqtt).toEqual({
      url: 'mqtts://broker.lan:8883',
      username: 'twc',
      password: 's3cret',
      ca: '-----BEGIN CERTIFICATE-----\n',
      rejectUnauthorized: false,
    });
    expect(config?.influx).toEqual({
      url: 'http://influxdb:8086',
      token: 'influx-token',
      org: 'twc',
      rawBucket: 'twc_raw',
    });
    expect(config?.discovery).toBe(false);
    expect(config?.discoveryPrefix).toBe('ha');
    expect(config?.stateMinIntervalMs).toBe(2500);
    expect(loadHomeAssistantConfig({ MQTT_URL: 'mqtt://b', HEALTH_PORT: '0', LOG_LEVEL: 'warn' })).toMatchObject({
      healthPort: 0,
      logLevel: 'warn',
    });
  });

  it.each([
    [{ MQTT_URL: 'http://broker:1883' }, /MQTT_URL: expected mqtt:\/\//],
    [{ MQTT_URL: 'not a url' }, /MQTT_URL: "not a url" is not a URL/],
    [{ MQTT_URL: 'mqtt://b', HA_DISCOVERY: 'maybe' }, /HA_DISCOVERY/],
    [{ MQTT_URL: 'mqtt://b', HA_TOPIC_ROOT: 'twc/#' }, /HA_TOPIC_ROOT/],
    [{ MQTT_URL: 'mqtt://b', HA_STATE_MIN_INTERVAL_S: '-1' }, /HA_STATE_MIN_INTERVAL_S/],
    [{ MQTT_URL: 'mqtt://b', MQTT_TLS_CA_FILE: '/nonexistent/ca.pem' }, /MQTT_TLS_CA_FILE: cannot read/],
    [{ MQTT_URL: 'mqtt://b', HEALTH_PORT: '70000' }, /HEALTH_PORT/],
    [{ MQTT_URL: 'mqtt://b', LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
  ])('rejects %o with a message naming the setting', (env, message) => {
    expect(() => loadHomeAssistantConfig(env)).toThrow(message);
  });
});
