/**
 * The baseline the downsampling tasks are measured and checked against: the
 * tasks as they were before their field filters were spelt as == comparisons,
 * selecting fields with `contains(value: r._measurement + "." + r._field,
 * set: [...])` over one shared range(). InfluxDB cannot filter that in storage.
 * Kept only here, word for word but for the tier's settings, so that a test
 * can show the rewritten tasks write the same points, and bench/downsampling-bench.ts
 * can time both on the same data.
 */

export type Tier = '1m' | '5m' | '1h';

/** Each tier's window and look-back, as in influxdb/tasks/downsample-<tier>.flux. */
export const TIER_SETTINGS: Record<Tier, { window: string; lookback: string; windowMs: number; lookbackMs: number }> = {
  '1m': { window: '1m', lookback: '30m', windowMs: 60_000, lookbackMs: 30 * 60_000 },
  '5m': { window: '5m', lookback: '2h', windowMs: 300_000, lookbackMs: 2 * 3_600_000 },
  '1h': { window: '1h', lookback: '6h', windowMs: 3_600_000, lookbackMs: 6 * 3_600_000 },
};

/** The baseline task of a tier, ready to run as a query (no `option task`): reads `rawBucket`, writes `destination`. */
export function containsBaselineFlux(name: Tier, rawBucket: string, destination: string, org: string): string {
  const tier = TIER_SETTINGS[name];
  return `import "date"
import "math"

window = ${tier.window}
lookback = ${tier.lookback}
destination = "${destination}"

// --- aggregate rules: the same in every tier ---
// Gauges: the mean over the window.
meanFields = [
    "twc_vitals.vehicle_current_a",
    "twc_vitals.grid_v",
    "twc_vitals.grid_hz",
    "twc_vitals.voltageA_v",
    "twc_vitals.voltageB_v",
    "twc_vitals.voltageC_v",
    "twc_vitals.currentA_a",
    "twc_vitals.currentB_a",
    "twc_vitals.currentC_a",
    "twc_vitals.pcba_temp_c",
    "twc_vitals.handle_temp_c",
    "twc_vitals.mcu_temp_c",
    "twc_vitals.power_w",
    "twc_health.poll_ms",
]

// Integer gauges: the mean rounded back to an integer, so that a field has the
// same type in every bucket (Flux refuses to union int and float columns).
meanIntFields = [
    "twc_wifi.wifi_signal_strength",
    "twc_wifi.wifi_rssi",
    "twc_wifi.wifi_snr",
    "collector_spool.bytes",
    "collector_spool.files",
]

// Counters, states, booleans and strings: the last value in the window. A mean
// of a counter is meaningless, and session_energy_wh restarts from 0 with a
// new session, so its maximum could belong to the previous one.
lastFields = [
    "twc_vitals.vehicle_connected",
    "twc_vitals.contactor_closed",
    "twc_vitals.session_energy_wh",
    "twc_vitals.session_s",
    "twc_vitals.evse_state",
    "twc_vitals.uptime_s",
    "twc_lifetime.energy_wh",
    "twc_lifetime.charge_starts",
    "twc_lifetime.charging_time_s",
    "twc_lifetime.contactor_cycles",
    "twc_lifetime.contactor_cycles_loaded",
    "twc_lifetime.uptime_s",
    "twc_lifetime.connector_cycles",
    "twc_lifetime.alert_count",
    "twc_lifetime.thermal_foldbacks",
    "twc_lifetime.avg_startup_temp",
    "twc_version.firmware_version",
    "twc_version.part_number",
    "twc_version.serial_number",
    "twc_wifi.wifi_ssid",
    "twc_wifi.wifi_connected",
    "twc_wifi.internet",
    "twc_wifi.wifi_infra_ip",
    "twc_health.online",
    "twc_health.repairs_total",
    "twc_health.failures_total",
    "twc_health.last_error",
    "collector_spool.dropped_points_total",
]

// States whose worst value in the window matters more than the last one: a
// burst of failed polls must stay visible after the charger answered again.
maxFields = ["twc_health.consecutive_failures"]
// --- end of aggregate rules ---

stop = date.truncate(t: now(), unit: window)
start = date.truncate(t: date.sub(d: lookback, from: now()), unit: window)
raw = from(bucket: "${rawBucket}") |> range(start: start, stop: stop)
downsample = (fields, fn) =>
    raw
        |> filter(fn: (r) => contains(value: r._measurement + "." + r._field, set: fields))
        |> aggregateWindow(every: window, fn: fn, createEmpty: false)

union(
    tables: [
        downsample(fields: meanFields, fn: mean),
        downsample(fields: meanIntFields, fn: mean)
            |> map(fn: (r) => ({r with _value: int(v: math.round(x: r._value))})),
        downsample(fields: lastFields, fn: last),
        downsample(fields: maxFields, fn: max),
    ],
)
    |> to(bucket: destination, org: "${org}")
`;
}
