import { describe, expect, it } from 'vitest';
import { decodeSsid, lifetimeSchema, versionSchema, vitalsSchema, wifiStatusSchema } from '../../src/charger/models.js';
import {
  LIFETIME,
  payload,
  VERSION,
  VERSION_NEW_FIRMWARE,
  VITALS_NEW_FIRMWARE,
  VITALS_SPLIT_PHASE_CHARGING,
  VITALS_THREE_PHASE_IDLE,
  WIFI_BASE64,
  WIFI_PLAIN,
} from '../../src/charger/reference-payloads.js';

function without(text: string, field: string): Record<string, unknown> {
  const { [field]: _removed, ...rest } = payload(text);
  return rest;
}

describe('vitalsSchema', () => {
  it.each([
    ['three-phase sample, older firmware', VITALS_THREE_PHASE_IDLE],
    ['split-phase sample while charging', VITALS_SPLIT_PHASE_CHARGING],
    ['newer firmware with two relays and not-ready reasons', VITALS_NEW_FIRMWARE],
  ])('accepts the %s unchanged', (_name, text) => {
    const raw = payload(text);
    expect(vitalsSchema.parse(raw)).toEqual(raw);
  });

  it('reads relay and alert variants', () => {
    const older = vitalsSchema.parse(payload(VITALS_THREE_PHASE_IDLE));
    expect(older.relay_coil_v).toBe(11.9);
    expect(older.relay_k1_v).toBeUndefined();
    expect(older.current_alerts).toEqual(['alert1', 'alert2']);
    expect(older.evse_not_ready_reasons).toBeUndefined();
    const newer = vitalsSchema.parse(payload(VITALS_NEW_FIRMWARE));
    expect(newer.relay_k1_v).toBe(12);
    expect(newer.relay_k2_v).toBe(0);
    expect(newer.current_alerts).toEqual([18, 42]);
    expect(newer.evse_not_ready_reasons).toEqual([4, 8]);
  });

  it('keeps unknown fields', () => {
    const parsed = vitalsSchema.parse({ ...payload(VITALS_THREE_PHASE_IDLE), future_field_v: 3.3 });
    expect(parsed.future_field_v).toBe(3.3);
  });

  it('accepts null readings (a repaired nan)', () => {
    const parsed = vitalsSchema.parse({ ...payload(VITALS_SPLIT_PHASE_CHARGING), grid_v: null, pcba_temp_c: null });
    expect(parsed.grid_v).toBeNull();
    expect(parsed.pcba_temp_c).toBeNull();
  });

  it.each(['vehicle_connected', 'contactor_closed', 'session_energy_wh', 'evse_state', 'grid_v', 'vehicle_current_a'])(
    'rejects vitals without %s',
    (field) => {
      expect(vitalsSchema.safeParse(without(VITALS_SPLIT_PHASE_CHARGING, field)).success).toBe(false);
    },
  );

  it.each([
    ['a string where a number belongs', { grid_v: '238.5' }],
    ['a number where a boolean belongs', { contactor_closed: 1 }],
    ['fractional not-ready reasons', { evse_not_ready_reasons: [4.5] }],
    ['alerts that are objects', { current_alerts: [{ id: 1 }] }],
  ])('rejects %s', (_name, change) => {
    expect(vitalsSchema.safeParse({ ...payload(VITALS_NEW_FIRMWARE), ...change }).success).toBe(false);
  });
});

describe('lifetimeSchema', () => {
  it('accepts the sample unchanged', () => {
    expect(lifetimeSchema.parse(payload(LIFETIME))).toEqual(payload(LIFETIME));
  });

  it.each(['energy_wh', 'charge_starts', 'charging_time_s', 'uptime_s'])('rejects lifetime without %s', (field) => {
    expect(lifetimeSchema.safeParse(without(LIFETIME, field)).success).toBe(false);
  });
});

describe('versionSchema', () => {
  it.each([
    ['with git_branch and web_service', VERSION],
    ['newer firmware without them', VERSION_NEW_FIRMWARE],
  ])('accepts the sample %s', (_name, text) => {
    expect(versionSchema.parse(payload(text))).toEqual(payload(text));
  });

  it.each(['serial_number', 'firmware_version', 'part_number'])('rejects version without %s', (field) => {
    expect(versionSchema.safeParse(without(VERSION, field)).success).toBe(false);
  });

  it('rejects an empty serial number', () => {
    expect(versionSchema.safeParse({ ...payload(VERSION), serial_number: '' }).success).toBe(false);
  });
});

describe('wifiStatusSchema', () => {
  it.each([
    ['base64 SSID', WIFI_BASE64],
    ['plain SSID', WIFI_PLAIN],
  ])('accepts the sample with a %s', (_name, text) => {
    expect(wifiStatusSchema.parse(payload(text))).toEqual(payload(text));
  });

  it('rejects Wi-Fi status without wifi_connected', () => {
    expect(wifiStatusSchema.safeParse(without(WIFI_BASE64, 'wifi_connected')).success).toBe(false);
  });
});

describe('decodeSsid', () => {
  it.each([
    ['the base64 sample', 'VGVzdE5ldHdvcms=', 'TestNetwork'],
    ['base64 that needs no padding', Buffer.from('Garage123').toString('base64'), 'Garage123'],
    ['base64 of UTF-8 with an emoji', Buffer.from('Café ☕').toString('base64'), 'Café ☕'],
    ['plain text that is not base64', 'TestNetwork', 'TestNetwork'],
    ['plain text with spaces', 'My Home WiFi', 'My Home WiFi'],
    ['plain text that is base64-shaped but decodes to invalid UTF-8', 'Home', 'Home'],
    ['plain text whose decoding has control bytes', 'AAAA', 'AAAA'],
    ['an empty SSID', '', ''],
  ])('%s', (_name, raw, expected) => {
    expect(decodeSsid(raw)).toBe(expected);
  });
});
