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
// Each rule is a predicate on _measurement and _field, spelt as == comparisons
// joined by `and` and `or`: InfluxDB evaluates such a filter in storage, which
// then reads only those series. A filter it cannot translate (contains() over
// a list, a concatenated "measurement.field" key) makes storage hand every
// series of the range to Flux to be tested row by row: at 10 chargers that
// took the hourly task 36 s a run instead of 0.07 s.
// Gauges: the mean over the window.
meanFields = (r) =>
    (r._measurement == "twc_vitals"
        and (
            r._field == "vehicle_current_a"
            or r._field == "grid_v"
            or r._field == "grid_hz"
            or r._field == "voltageA_v"
            or r._field == "voltageB_v"
            or r._field == "voltageC_v"
            or r._field == "currentA_a"
            or r._field == "currentB_a"
            or r._field == "currentC_a"
            or r._field == "pcba_temp_c"
            or r._field == "handle_temp_c"
            or r._field == "mcu_temp_c"
            or r._field == "power_w"
        ))
    or (r._measurement == "twc_health" and r._field == "poll_ms")

// Integer gauges: the mean rounded back to an integer, so that a field has the
// same type in every bucket (Flux refuses to union int and float columns).
meanIntFields = (r) =>
    (r._measurement == "twc_wifi"
        and (
            r._field == "wifi_signal_strength"
            or r._field == "wifi_rssi"
            or r._field == "wifi_snr"
        ))
    or (r._measurement == "collector_spool"
        and (
            r._field == "bytes"
            or r._field == "files"
        ))

// Counters, states, booleans and strings: the last value in the window. A mean
// of a counter is meaningless, and session_energy_wh restarts from 0 with a
// new session, so its maximum could belong to the previous one.
lastFields = (r) =>
    (r._measurement == "twc_vitals"
        and (
            r._field == "vehicle_connected"
            or r._field == "contactor_closed"
            or r._field == "session_energy_wh"
            or r._field == "session_s"
            or r._field == "evse_state"
            or r._field == "uptime_s"
        ))
    or (r._measurement == "twc_lifetime"
        and (
            r._field == "energy_wh"
            or r._field == "charge_starts"
            or r._field == "charging_time_s"
            or r._field == "contactor_cycles"
            or r._field == "contactor_cycles_loaded"
            or r._field == "uptime_s"
            or r._field == "connector_cycles"
            or r._field == "alert_count"
            or r._field == "thermal_foldbacks"
            or r._field == "avg_startup_temp"
        ))
    or (r._measurement == "twc_version"
        and (
            r._field == "firmware_version"
            or r._field == "part_number"
            or r._field == "serial_number"
        ))
    or (r._measurement == "twc_wifi"
        and (
            r._field == "wifi_ssid"
            or r._field == "wifi_connected"
            or r._field == "internet"
            or r._field == "wifi_infra_ip"
        ))
    or (r._measurement == "twc_health"
        and (
            r._field == "online"
            or r._field == "repairs_total"
            or r._field == "failures_total"
            or r._field == "last_error"
        ))
    or (r._measurement == "collector_spool" and r._field == "dropped_points_total")

// States whose worst value in the window matters more than the last one: a
// burst of failed polls must stay visible after the charger answered again.
maxFields = (r) =>
    (r._measurement == "twc_health" and r._field == "consecutive_failures")

// Gauges whose extremes matter more than their mean (a hot handle, a slow poll,
// a voltage sag): also their highest value in the window, as <field>_max, and
// for the grid voltage its lowest, as <field>_min, beside the mean.
peakFields = (r) =>
    (r._measurement == "twc_vitals"
        and (
            r._field == "handle_temp_c"
            or r._field == "pcba_temp_c"
            or r._field == "mcu_temp_c"
            or r._field == "power_w"
            or r._field == "grid_v"
        ))
    or (r._measurement == "twc_health" and r._field == "poll_ms")

lowFields = (r) =>
    (r._measurement == "twc_vitals" and r._field == "grid_v")
// --- end of aggregate rules ---

stop = date.truncate(t: now(), unit: window)
start = date.truncate(t: date.sub(d: lookback, from: now()), unit: window)
// Each aggregate reads the raw bucket itself: storage takes over a filter (and
// then the window aggregate) only when it follows range() directly, not when
// one range() feeds several filters.
downsample = (fields, fn) =>
    from(bucket: "@BUCKET_RAW@")
        |> range(start: start, stop: stop)
        |> filter(fn: fields)
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

// The extremes under their own names, written apart: union() gives all its
// streams one type, and a stream map() gave an integer _value (above) cannot
// share it with one whose _value map() passed on as a float.
union(
    tables: [
        downsample(fields: peakFields, fn: max)
            |> map(fn: (r) => ({r with _field: r._field + "_max"})),
        downsample(fields: lowFields, fn: min)
            |> map(fn: (r) => ({r with _field: r._field + "_min"})),
    ],
)
    |> to(bucket: destination, org: "@ORG@")
