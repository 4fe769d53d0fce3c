/**
 * The Wall Connector Gen 3 local API payloads (see the reference payloads in
 * the project's Wall Connector API notes). Tesla does not document this API
 * and firmware versions differ, so the schemas accept unknown fields and
 * require only the fields without which a payload says nothing useful.
 * Numbers are nullable because a bare `nan` from the device is repaired to null.
 */
import { z } from 'zod';

const reading = z.number().nullable();
const optionalReading = reading.optional();

export const vitalsSchema = z.looseObject({
  contactor_closed: z.boolean(),
  vehicle_connected: z.boolean(),
  session_s: reading,
  session_energy_wh: reading,
  grid_v: reading,
  grid_hz: optionalReading,
  vehicle_current_a: reading,
  currentA_a: optionalReading,
  currentB_a: optionalReading,
  currentC_a: optionalReading,
  currentN_a: optionalReading,
  voltageA_v: optionalReading,
  voltageB_v: optionalReading,
  voltageC_v: optionalReading,
  // Older firmware reports one relay coil voltage, newer firmware one per relay.
  relay_coil_v: optionalReading,
  relay_k1_v: optionalReading,
  relay_k2_v: optionalReading,
  pcba_temp_c: optionalReading,
  handle_temp_c: optionalReading,
  mcu_temp_c: optionalReading,
  uptime_s: reading,
  input_thermopile_uv: optionalReading,
  prox_v: optionalReading,
  pilot_high_v: optionalReading,
  pilot_low_v: optionalReading,
  config_status: optionalReading,
  evse_state: reading,
  // Strings on some firmware, integer codes on others.
  current_alerts: z.array(z.union([z.string(), z.number()])).optional(),
  // Newer firmware only; the codes are undocumented.
  evse_not_ready_reasons: z.array(z.number().int()).optional(),
});

export const lifetimeSchema = z.looseObject({
  contactor_cycles: optionalReading,
  contactor_cycles_loaded: optionalReading,
  alert_count: optionalReading,
  thermal_foldbacks: optionalReading,
  avg_startup_temp: optionalReading,
  charge_starts: reading,
  energy_wh: reading,
  connector_cycles: optionalReading,
  uptime_s: reading,
  charging_time_s: reading,
});

export const versionSchema = z.looseObject({
  firmware_version: z.string(),
  part_number: z.string(),
  serial_number: z.string().min(1),
  // Present only on some firmware.
  git_branch: z.string().optional(),
  web_service: z.string().optional(),
});

export const wifiStatusSchema = z.looseObject({
  // Base64 on most firmware, plain text on some: read it through decodeSsid().
  wifi_ssid: z.string().optional(),
  wifi_signal_strength: reading,
  wifi_rssi: reading,
  wifi_snr: reading,
  wifi_connected: z.boolean(),
  wifi_infra_ip: z.string().optional(),
  internet: z.boolean().optional(),
  wifi_mac: z.string().optional(),
});

export type Vitals = z.infer<typeof vitalsSchema>;
export type Lifetime = z.infer<typeof lifetimeSchema>;
export type Version = z.infer<typeof versionSchema>;
export type WifiStatus = z.infer<typeof wifiStatusSchema>;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const CONTROL_OR_REPLACEMENT = /[\p{Cc}\uFFFD]/u;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The SSID as a person would read it. Most firmware sends it base64-encoded,
 * some as plain text, with no flag saying which: the text is decoded when it
 * is well-formed base64 whose bytes are printable UTF-8, and taken as is
 * otherwise (a plain SSID rarely passes both tests).
 */
export function decodeSsid(raw: string): string {
  if (raw === '' || !BASE64.test(raw)) return raw;
  let decoded: string;
  try {
    decoded = strictUtf8.decode(Buffer.from(raw, 'base64'));
  } catch {
    return raw;
  }
  if (decoded === '' || CONTROL_OR_REPLACEMENT.test(decoded)) return raw;
  return decoded;
}
