import type { ChargerIdentity, ChargerState, FirmwareGeneration } from './charger-model.js';

/**
 * The JSON bodies of the Wall Connector's /api/1 endpoints, field for field
 * and in the order the real device sends them (reference samples in
 * wall-connector-api.md). Two firmware generations differ in vitals (relay
 * fields, evse_not_ready_reasons) and version (git_branch, web_service).
 */

interface VitalsCommon {
  contactor_closed: boolean;
  vehicle_connected: boolean;
  session_s: number;
  grid_v: number;
  grid_hz: number;
  vehicle_current_a: number;
  currentA_a: number;
  currentB_a: number;
  currentC_a: number;
  currentN_a: number;
  voltageA_v: number;
  voltageB_v: number;
  voltageC_v: number;
  pcba_temp_c: number;
  handle_temp_c: number;
  mcu_temp_c: number;
  uptime_s: number;
  input_thermopile_uv: number;
  prox_v: number;
  pilot_high_v: number;
  pilot_low_v: number;
  session_energy_wh: number;
  config_status: number;
  evse_state: number;
}

export interface OldFirmwareVitals extends VitalsCommon {
  relay_coil_v: number;
  /** Strings on older firmware. */
  current_alerts: string[];
}

export interface NewFirmwareVitals extends VitalsCommon {
  relay_k1_v: number;
  relay_k2_v: number;
  /** Integers on newer firmware. */
  current_alerts: number[];
  evse_not_ready_reasons: number[];
}

export type VitalsPayload = OldFirmwareVitals | NewFirmwareVitals;

export interface LifetimePayload {
  contactor_cycles: number;
  contactor_cycles_loaded: number;
  alert_count: number;
  thermal_foldbacks: number;
  avg_startup_temp: number;
  charge_starts: number;
  energy_wh: number;
  connector_cycles: number;
  uptime_s: number;
  charging_time_s: number;
}

export interface VersionPayload {
  firmware_version: string;
  git_branch?: string;
  part_number: string;
  serial_number: string;
  web_service?: string;
}

export interface WifiStatusPayload {
  wifi_ssid: string;
  wifi_signal_strength: number;
  wifi_rssi: number;
  wifi_snr: number;
  wifi_connected: boolean;
  wifi_infra_ip: string;
  internet: boolean;
  wifi_mac: string;
}

const round = (value: number, decimals: number) => {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
};

export function buildVitals(state: ChargerState, firmware: FirmwareGeneration): VitalsPayload {
  const common = {
    contactor_closed: state.contactorClosed,
    vehicle_connected: state.vehicleConnected,
    session_s: state.sessionS,
    grid_v: round(state.gridV, 1),
    grid_hz: round(state.gridHz, 3),
    vehicle_current_a: round(state.vehicleCurrentA, 1),
    currentA_a: round(state.currentAA, 1),
    currentB_a: round(state.currentBA, 1),
    currentC_a: round(state.currentCA, 1),
    currentN_a: round(state.currentNA, 1),
    voltageA_v: round(state.voltageAV, 1),
    voltageB_v: round(state.voltageBV, 1),
    voltageC_v: round(state.voltageCV, 1),
  };
  const thermal = {
    pcba_temp_c: round(state.pcbaTempC, 1),
    handle_temp_c: round(state.handleTempC, 1),
    mcu_temp_c: round(state.mcuTempC, 1),
    uptime_s: state.uptimeS,
    input_thermopile_uv: state.inputThermopileUv,
    prox_v: round(state.proxV, 2),
    pilot_high_v: round(state.pilotHighV, 2),
    pilot_low_v: round(state.pilotLowV, 2),
    session_energy_wh: round(state.sessionEnergyWh, 3),
    config_status: 5,
    evse_state: state.evseState,
  };
  if (firmware === 'old') {
    // The coil drops to its hold voltage once the relay has pulled in.
    return { ...common, relay_coil_v: state.contactorClosed ? 6.1 : 11.9, ...thermal, current_alerts: [] };
  }
  return {
    ...common,
    relay_k1_v: state.contactorClosed ? 6.1 : 12.0,
    relay_k2_v: state.contactorClosed ? 6.0 : 0.0,
    ...thermal,
    current_alerts: [],
    // Codes are undocumented; [4, 8] is what a connected, idle unit has been seen to report.
    evse_not_ready_reasons: state.vehicleConnected && !state.contactorClosed && !state.booting ? [4, 8] : [],
  };
}

export function buildLifetime(state: ChargerState): LifetimePayload {
  const lifetime = state.lifetime;
  return {
    contactor_cycles: lifetime.contactorCycles,
    contactor_cycles_loaded: lifetime.contactorCyclesLoaded,
    alert_count: lifetime.alertCount,
    thermal_foldbacks: lifetime.thermalFoldbacks,
    avg_startup_temp: round(lifetime.avgStartupTempC, 1),
    charge_starts: lifetime.chargeStarts,
    energy_wh: Math.floor(lifetime.energyWh),
    connector_cycles: lifetime.connectorCycles,
    uptime_s: lifetime.uptimeS,
    charging_time_s: lifetime.chargingTimeS,
  };
}

export function buildVersion(identity: ChargerIdentity, firmware: FirmwareGeneration): VersionPayload {
  if (firmware === 'old') {
    return {
      firmware_version: identity.firmwareVersion,
      git_branch: 'HEAD',
      part_number: identity.partNumber,
      serial_number: identity.serialNumber,
      web_service: 'h3-hermes-prd.sn.tesla.services',
    };
  }
  return {
    firmware_version: identity.firmwareVersion,
    part_number: identity.partNumber,
    serial_number: identity.serialNumber,
  };
}

export function buildWifiStatus(
  identity: ChargerIdentity,
  wifi: { signalStrength: number; rssiDbm: number; snrDb: number },
): WifiStatusPayload {
  return {
    wifi_ssid: Buffer.from(identity.wifiSsidName, 'utf8').toString('base64'),
    wifi_signal_strength: wifi.signalStrength,
    wifi_rssi: wifi.rssiDbm,
    wifi_snr: wifi.snrDb,
    wifi_connected: true,
    wifi_infra_ip: identity.wifiIp,
    internet: true,
    wifi_mac: identity.wifiMac,
  };
}
