import { describe, expect, it } from 'vitest';
import { createChargerModel } from '../../src/simulator/charger-model.js';
import { buildLifetime, buildVersion, buildVitals, buildWifiStatus } from '../../src/simulator/payloads.js';
import { must } from './must.js';

const START_MS = Date.UTC(2025, 0, 15, 18, 0, 0);

describe('payload builders', () => {
  const model = createChargerModel({ index: 2, seed: 9, startTimeMs: START_MS, scenario: 'session' });
  const charging = model.stateAt(START_MS + 30 * 60_000);

  it('rounds readings the way the device prints them and keeps the counters whole', () => {
    const vitals = buildVitals(charging, 'new');
    expect(vitals.contactor_closed).toBe(true);
    expect(vitals.grid_v).toBe(Math.round(charging.gridV * 10) / 10);
    expect(vitals.session_energy_wh).toBe(Math.round(charging.sessionEnergyWh * 1000) / 1000);
    expect(Number.isInteger(vitals.uptime_s)).toBe(true);
    const lifetime = buildLifetime(charging);
    expect(lifetime.energy_wh).toBe(Math.floor(charging.lifetime.energyWh));
    expect(lifetime.charge_starts).toBe(charging.lifetime.chargeStarts);
  });

  it('older firmware reports one relay coil and no not-ready reasons; newer reports both relays', () => {
    const old = buildVitals(charging, 'old');
    const fresh = buildVitals(charging, 'new');
    expect(old).toHaveProperty('relay_coil_v', 6.1);
    expect(old).not.toHaveProperty('relay_k1_v');
    expect(old).not.toHaveProperty('evse_not_ready_reasons');
    expect(fresh).not.toHaveProperty('relay_coil_v');
    expect(fresh).toMatchObject({ relay_k1_v: 6.1, relay_k2_v: 6, evse_not_ready_reasons: [] });
    const idleConnected = model.stateAt(START_MS + 60_000 + 15_000);
    expect(idleConnected.vehicleConnected).toBe(true);
    expect(buildVitals(idleConnected, 'new')).toMatchObject({ relay_k1_v: 12, relay_k2_v: 0 });
    expect(buildVitals(idleConnected, 'new')).toHaveProperty('evse_not_ready_reasons', [4, 8]);
  });

  it('version: firmware and serial formats, git_branch and web_service only on older firmware', () => {
    const fresh = buildVersion(model.identity, 'new');
    expect(fresh.firmware_version).toMatch(/^2[45]\.\d{1,2}\.\d\+g[0-9a-f]{14}$/);
    expect(fresh.part_number).toBe('1529455-02-D');
    expect(fresh.serial_number).toMatch(/^PGT\d{11}$/);
    expect(fresh).not.toHaveProperty('git_branch');
    const oldModel = createChargerModel({ index: 2, seed: 9, startTimeMs: START_MS, firmware: 'old' });
    const old = buildVersion(oldModel.identity, 'old');
    expect(old.firmware_version).toMatch(/^2[12]\.\d{1,2}\.\d\+g[0-9a-f]{14}$/);
    expect(old).toMatchObject({ git_branch: 'HEAD', web_service: 'h3-hermes-prd.sn.tesla.services' });
  });

  it('serial numbers are deterministic from seed and index and differ between chargers', () => {
    const serials = Array.from(
      { length: 50 },
      (_, index) => createChargerModel({ index, seed: 9, startTimeMs: START_MS }).identity.serialNumber,
    );
    expect(new Set(serials).size).toBe(50);
    expect(serials[2]).toBe(model.identity.serialNumber);
  });

  it('wifi_status: base64 SSID, a signal that wanders, RSSI and SNR that follow it', () => {
    const samples = Array.from({ length: 48 }, (_, i) =>
      buildWifiStatus(model.identity, model.wifiAt(START_MS + i * 30 * 60_000)),
    );
    const first = must(samples[0]);
    expect(Buffer.from(first.wifi_ssid, 'base64').toString('utf8')).toBe(model.identity.wifiSsidName);
    expect(first).toMatchObject({ wifi_connected: true, internet: true, wifi_mac: model.identity.wifiMac });
    expect(new Set(samples.map((s) => s.wifi_signal_strength)).size).toBeGreaterThan(3);
    for (const sample of samples) {
      expect(sample.wifi_signal_strength).toBeGreaterThanOrEqual(0);
      expect(sample.wifi_signal_strength).toBeLessThanOrEqual(100);
      expect(sample.wifi_rssi).toBeLessThan(0);
      expect(sample.wifi_snr).toBe(Math.max(0, sample.wifi_rssi + 86));
    }
  });
});
