/** Payloads as the Wall Connector Gen 3 sends them (from the project's reference notes), as raw text. */

export const VITALS_THREE_PHASE_IDLE = `{"contactor_closed":false,"vehicle_connected":true,"session_s":0,"grid_v":228.8,"grid_hz":50.003,
 "vehicle_current_a":0.5,"currentA_a":0.4,"currentB_a":0.35,"currentC_a":0.3,"currentN_a":0.6,
 "voltageA_v":230.1,"voltageB_v":230.2,"voltageC_v":230.3,"relay_coil_v":11.9,"pcba_temp_c":13.8,
 "handle_temp_c":9.9,"mcu_temp_c":20.8,"uptime_s":35779,"input_thermopile_uv":-151,"prox_v":0.01,
 "pilot_high_v":11.9,"pilot_low_v":11.99,"session_energy_wh":22128.301,"config_status":5,"evse_state":1,
 "current_alerts":["alert1","alert2"]}`;

export const VITALS_SPLIT_PHASE_CHARGING = `{"contactor_closed":true,"vehicle_connected":true,"session_s":74868,"grid_v":238.5,"grid_hz":59.918,
 "vehicle_current_a":30.8,"currentA_a":11.4,"currentB_a":13.1,"currentC_a":12.7,"currentN_a":11.8,
 "voltageA_v":242.6,"voltageB_v":242.7,"voltageC_v":119.2,"relay_coil_v":6.1,"pcba_temp_c":17.9,
 "handle_temp_c":15.5,"mcu_temp_c":22.8,"uptime_s":1292309,"input_thermopile_uv":-258,"prox_v":1.5,
 "pilot_high_v":0,"pilot_low_v":-0,"session_energy_wh":683.8,"config_status":5,"evse_state":11,"current_alerts":[]}`;

/** Newer firmware: two relay voltages instead of relay_coil_v, not-ready reasons, alerts as integers. */
export const VITALS_NEW_FIRMWARE = `{"contactor_closed":false,"vehicle_connected":true,"session_s":120,"grid_v":240.1,"grid_hz":60.01,
 "vehicle_current_a":0.1,"currentA_a":0.1,"currentB_a":0.1,"currentC_a":0,"currentN_a":0.1,
 "voltageA_v":241.2,"voltageB_v":241.0,"voltageC_v":120.4,"relay_k1_v":12.0,"relay_k2_v":0.0,"pcba_temp_c":21.3,
 "handle_temp_c":19.8,"mcu_temp_c":27.1,"uptime_s":5012,"input_thermopile_uv":-120,"prox_v":1.5,
 "pilot_high_v":8.9,"pilot_low_v":-12,"session_energy_wh":0,"config_status":5,"evse_state":9,
 "current_alerts":[18,42],"evse_not_ready_reasons":[4,8]}`;

export const LIFETIME = `{"contactor_cycles":175,"contactor_cycles_loaded":3,"alert_count":1603,"thermal_foldbacks":0,"avg_startup_temp":27.8,
 "charge_starts":175,"energy_wh":386204,"connector_cycles":23,"uptime_s":1945056,"charging_time_s":183022}`;

export const VERSION = `{"firmware_version":"21.29.1+g4152353e50f744","git_branch":"HEAD","part_number":"1529455-02-D",
 "serial_number":"ACB12345678901","web_service":"h3-hermes-prd.sn.tesla.services"}`;

export const VERSION_NEW_FIRMWARE = `{"firmware_version":"25.34.1+ge48cc9be91ebc7","part_number":"1529455-02-D","serial_number":"ACB12345678901"}`;

export const WIFI_BASE64 = `{"wifi_ssid":"VGVzdE5ldHdvcms=","wifi_signal_strength":44,"wifi_rssi":-68,"wifi_snr":18,"wifi_connected":true,
 "wifi_infra_ip":"192.168.1.50","internet":true,"wifi_mac":"AA:BB:CC:DD:EE:FF"}`;

export const WIFI_PLAIN = `{"wifi_ssid":"TestNetwork","wifi_signal_strength":44,"wifi_rssi":-68,"wifi_snr":18,"wifi_connected":true,
 "wifi_infra_ip":"192.168.1.50","internet":true,"wifi_mac":"AA:BB:CC:DD:EE:FF"}`;

export const HTML_PAGE = '<!DOCTYPE html><html><head><title>Router login</title></head><body>Login</body></html>';

/** Parses one of the payloads above, for building variants in tests. */
export function payload(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}
