import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadApiConfig } from '../src/config.js';

describe('api configuration', () => {
  it('has documented defaults', () => {
    const config = loadApiConfig({ INFLUXDB_TOKEN: 't' });
    expect(config).toMatchObject({
      port: 8000,
      timeZone: 'America/Chicago',
      auth: { mode: 'none' },
      rateLimit: { enabled: true, max: 300, windowMs: 60_000 },
      corsOrigins: [],
      influx: { buckets: { raw: 'twc_raw', sessions: 'twc_sessions', prices: 'twc_prices' } },
      redis: { keyPrefix: 'twc:' },
      reports: { enabled: true, dir: '/var/lib/twc/reports', notifyHour: 7 },
    });
  });

  it('reads secrets from NAME_FILE and lists from commas', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twc-api-config-'));
    try {
      writeFileSync(join(dir, 'keys'), 'alpha-key-0123456789, beta-key-0123456789\n');
      writeFileSync(join(dir, 'token'), 'from-file\n');
      const config = loadApiConfig({
        INFLUXDB_TOKEN_FILE: join(dir, 'token'),
        AUTH_MODE: 'apikey',
        API_KEYS_FILE: join(dir, 'keys'),
        CORS_ORIGINS: 'https://a.example, https://b.example',
        RATE_LIMIT_ENABLED: 'false',
      });
      expect(config.influx.token).toBe('from-file');
      expect(config.auth.apiKeys).toEqual(['alpha-key-0123456789', 'beta-key-0123456789']);
      expect(config.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
      expect(config.rateLimit.enabled).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with every problem named', () => {
    expect(() => loadApiConfig({ TIMEZONE: 'Mars/Base', AUTH_MODE: 'apikey', RATE_LIMIT_ENABLED: 'maybe' })).toThrow(
      /INFLUXDB_TOKEN[\s\S]*TIMEZONE|TIMEZONE[\s\S]*INFLUXDB_TOKEN/,
    );
    expect(() => loadApiConfig({ INFLUXDB_TOKEN: 't', AUTH_MODE: 'jwt', JWT_SECRET: 'short' })).toThrow(/JWT_SECRET/);
  });
});
