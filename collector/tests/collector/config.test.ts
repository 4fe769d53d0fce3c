import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadCollectorConfig, parseChargers } from '../../src/collector/config.js';

describe('collector configuration', () => {
  it('parses name=host pairs in any of the separators', () => {
    expect(parseChargers('garage=192.168.1.50, barn=192.168.1.51:8080\ncarport=twc.local')).toEqual([
      { name: 'garage', host: '192.168.1.50' },
      { name: 'barn', host: '192.168.1.51:8080' },
      { name: 'carport', host: 'twc.local' },
    ]);
    expect(parseChargers('192.168.1.50')).toEqual([{ name: '192.168.1.50', host: '192.168.1.50' }]);
  });

  it('refuses duplicate names and odd characters', () => {
    expect(() => parseChargers('a=1.2.3.4,a=1.2.3.5')).toThrow(/appears twice/);
    expect(() => parseChargers('=1.2.3.4')).toThrow(/not name=host/);
    expect(() => parseChargers('a/b=1.2.3.4')).toThrow(/may only hold/);
  });

  it('fills documented defaults', () => {
    const config = loadCollectorConfig({ CHARGERS: 'garage=10.0.0.2', INFLUXDB_TOKEN: 'secret' });
    expect(config.intervals).toEqual({ vitalsMs: 5000, lifetimeMs: 60_000, versionMs: 300_000, wifiMs: 60_000 });
    expect(config.offlineAfterFailures).toBe(3);
    expect(config.connectTimeoutMs).toBe(5000);
    expect(config.responseTimeoutMs).toBe(10_000);
    expect(config.phaseMode).toBe('auto');
    expect(config.influx).toMatchObject({ url: 'http://influxdb:8086', org: 'twc', rawBucket: 'twc_raw' });
  });

  it('checks TIMEZONE without loading the ICU calendar data a formatter would keep in memory', () => {
    const formatter = vi.spyOn(Intl, 'DateTimeFormat');
    try {
      const env = { CHARGERS: 'garage=10.0.0.2', INFLUXDB_TOKEN: 'secret' };
      expect(loadCollectorConfig({ ...env, TIMEZONE: 'America/Denver' }).pricing.timeZone).toBe('America/Denver');
      expect(() => loadCollectorConfig({ ...env, TIMEZONE: 'America/Gotham' })).toThrow(/TIMEZONE/);
      // Only the unknown name needed a formatter to be told apart from an alias.
      expect(formatter).toHaveBeenCalledTimes(1);
    } finally {
      formatter.mockRestore();
    }
  });

  it('names every bad or missing setting', () => {
    let message = '';
    try {
      loadCollectorConfig({ POLL_VITALS_S: '-1', PHASE_MODE: 'four' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/CHARGERS/);
    expect(message).toMatch(/INFLUXDB_TOKEN/);
    expect(message).toMatch(/POLL_VITALS_S/);
    expect(message).toMatch(/PHASE_MODE/);
  });

  it('treats an empty value as unset and reads secrets from _FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twc-config-'));
    try {
      writeFileSync(join(dir, 'token'), 'from-file\n');
      const config = loadCollectorConfig({
        CHARGERS: 'garage=10.0.0.2',
        INFLUXDB_TOKEN_FILE: join(dir, 'token'),
        POLL_VITALS_S: '',
      });
      expect(config.influx.token).toBe('from-file');
      expect(config.intervals.vitalsMs).toBe(5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
