// The 5-minute tier: the raw 5-second data aggregated per 5 minutes, with
// the same measurements, tags and field names as the raw bucket. It reads the
// raw bucket, not the 1-minute tier, so that a mean weighs every sample alike.
// A point stamped T sums up the samples taken in [T - 5m, T): stamped by
// its end, as ComEd labels its hours ("hour ending"), so the 1-hour tier
// lines up with comed_price_hourly. (A ComEd 5-minute price is stamped by its
// start: the 5-minute tier's point T covers the price stamped T - 5m.)
//
// Each run recomputes every complete window of the last `lookback`: points
// the collector spooled while InfluxDB was unreachable arrive late and still
// land in their window, and rewriting a point of the same series and time
// overwrites it, so recomputing changes nothing else. A longer gap is refilled
// by forcing runs at past times (POST /api/v2/tasks/{id}/runs with
// scheduledFor): a run's now() is the time it was scheduled for.
//
// The three downsampling tasks share the aggregate rules below word for word
// (a test checks it, and that every field of core/src/contracts/influx-schema.ts
// in the raw bucket has exactly one rule). Sessions and prices are not
// downsampled: their buckets keep them forever at full resolution.
import "date"
import "math"

option task = {name: "twc-downsample-5m", every: 5m, offset: 40s}

window = 5m
lookback = 2h
destination = "@BUCKET_5M@"

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
raw = from(bucket: "@BUCKET_RAW@") |> range(start: start, stop: stop)
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
    |> to(bucket: destination, org: "@ORG@")
