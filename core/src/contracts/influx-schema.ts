/**
 * The InfluxDB measurement schema, in one place. InfluxDB rejects a write
 * whose field type differs from what the shard already holds, so every field
 * has one declared type and values are coerced to it; nulls are left out,
 * never written as 0.
 */

export type FieldType = 'float' | 'int' | 'bool' | 'string';

export interface MeasurementSchema {
  tags: readonly string[];
  fields: Readonly<Record<string, FieldType>>;
}

export const SCHEMA = {
  twc_vitals: {
    tags: ['charger_id', 'charger_name'],
    fields: {
      vehicle_connected: 'bool',
      contactor_closed: 'bool',
      session_energy_wh: 'float',
      vehicle_current_a: 'float',
      grid_v: 'float',
      grid_hz: 'float',
      voltageA_v: 'float',
      voltageB_v: 'float',
      voltageC_v: 'float',
      currentA_a: 'float',
      currentB_a: 'float',
      currentC_a: 'float',
      pcba_temp_c: 'float',
      handle_temp_c: 'float',
      mcu_temp_c: 'float',
      session_s: 'int',
      evse_state: 'int',
      power_w: 'float',
      uptime_s: 'int',
    },
  },
  twc_lifetime: {
    tags: ['charger_id', 'charger_name'],
    fields: {
      energy_wh: 'float',
      charge_starts: 'int',
      charging_time_s: 'int',
      contactor_cycles: 'int',
      contactor_cycles_loaded: 'int',
      uptime_s: 'int',
      connector_cycles: 'int',
      alert_count: 'int',
      thermal_foldbacks: 'int',
      avg_startup_temp: 'float',
    },
  },
  twc_version: {
    tags: ['charger_id', 'charger_name'],
    fields: {
      firmware_version: 'string',
      part_number: 'string',
      serial_number: 'string',
    },
  },
  twc_wifi: {
    tags: ['charger_id', 'charger_name'],
    fields: {
      wifi_ssid: 'string',
      wifi_signal_strength: 'int',
      wifi_rssi: 'int',
      wifi_snr: 'int',
      wifi_connected: 'bool',
      internet: 'bool',
      wifi_infra_ip: 'string',
    },
  },
  twc_health: {
    tags: ['charger_id', 'charger_name'],
    fields: {
      online: 'bool',
      consecutive_failures: 'int',
      repairs_total: 'int',
      failures_total: 'int',
      last_error: 'string',
      poll_ms: 'float',
    },
  },
  twc_session: {
    tags: ['charger_id', 'charger_name'],
    fields: {
      session_id: 'string',
      start_time: 'string',
      end_time: 'string',
      duration_s: 'int',
      charging_s: 'int',
      energy_wh: 'float',
      avg_power_w: 'float',
      peak_power_w: 'float',
      max_handle_temp_c: 'float',
      supply_cost: 'float',
      adders_cost: 'float',
      tax_cost: 'float',
      total_cost: 'float',
      avg_price: 'float',
      provisional: 'bool',
      gaps: 'int',
      gap_s: 'int',
      segments: 'int',
      end_reason: 'string',
      flat_rate_cost: 'float',
      cheapest_window_cost: 'float',
      saving_vs_flat: 'float',
      saving_vs_cheapest: 'float',
      /** The same charge started at plug-in, and what waiting saved against it (smart charging's saving). */
      plug_in_cost: 'float',
      saving_vs_plug_in: 'float',
      unpriced_energy_wh: 'float',
      /** JSON {"start": [[stampMs, Wh], ...]} (sessions/session-points.ts): what the cost is computed from, so it can be recomputed later. */
      energy_by_interval: 'string',
    },
  },
  /** A session's energy and cost within one hour (ComEd bills by the hour). */
  twc_session_hour: {
    tags: ['charger_id', 'charger_name'],
    fields: {
      session_id: 'string',
      hour_ending: 'string',
      energy_wh: 'float',
      avg_price: 'float',
      supply_cost: 'float',
      adders_cost: 'float',
      tax_cost: 'float',
      total_cost: 'float',
      provisional: 'bool',
    },
  },
  comed_price: {
    tags: ['price_type'],
    fields: { price_cents_kwh: 'float' },
  },
  comed_price_hourly: {
    tags: [],
    fields: { avg_price: 'float', min_price: 'float', max_price: 'float', count: 'int' },
  },
  /** ComEd's own published price of an hour (`type=day`), beside ours (prices/published-check.ts). */
  comed_price_published: {
    tags: [],
    fields: { price_cents_kwh: 'float', ours_cents_kwh: 'float', diff_cents: 'float', mismatch: 'bool' },
  },
  /** ComEd's day-ahead price of an hour, stamped with its hour ending (comed-clock.ts, DAY_AHEAD_LABELS). */
  comed_price_dayahead: {
    tags: [],
    fields: { price_cents_kwh: 'float' },
  },
  /**
   * The daily check of how day-ahead labels are read (prices/day-ahead.ts):
   * the correlation of day-ahead with real-time prices one hour either way.
   */
  comed_dayahead_check: {
    tags: [],
    fields: { best_offset_h: 'int', r_minus1: 'float', r_0: 'float', r_plus1: 'float', pairs: 'int' },
  },
  /**
   * The latest estimate of an hour ahead (prices/forecast.ts), stamped with its
   * hour ending and rewritten at every refresh, so each hour keeps the last
   * estimate made before it began; `source` is day_ahead or forecast.
   */
  comed_price_forecast: {
    tags: [],
    fields: { price_cents_kwh: 'float', low_cents_kwh: 'float', high_cents_kwh: 'float', source: 'string' },
  },
  /** A night's cheapest run of hours as last planned, stamped with the night's start (forecast-snapshot.ts). */
  comed_tonight_window: {
    tags: [],
    fields: {
      start_ms: 'int',
      end_ms: 'int',
      hours: 'int',
      avg_price_cents_kwh: 'float',
      night_avg_cents_kwh: 'float',
    },
  },
  /**
   * The day's backtest of the forward prices over the four weeks before it
   * (forecast-backtest.ts), stamped with the local day's start.
   */
  comed_forecast_accuracy: {
    tags: [],
    fields: {
      days: 'int',
      dayahead_mae_cents: 'float',
      forecast_mae_cents: 'float',
      flat_mae_cents: 'float',
      dayahead_p10_cents: 'float',
      dayahead_p90_cents: 'float',
      forecast_p10_cents: 'float',
      forecast_p90_cents: 'float',
      overnight_captured_share: 'float',
      overnight_regret_cents: 'float',
    },
  },
  /** A day's comparison of ComEd's published hours with ours, stamped with the local day's start. */
  comed_price_check: {
    tags: [],
    fields: {
      hours_published: 'int',
      hours_compared: 'int',
      hours_mismatched: 'int',
      hours_unverifiable: 'int',
      max_abs_diff_cents: 'float',
      mismatch_share: 'float',
    },
  },
  /**
   * Each hour's part of a charger's charge plan as last planned (planner),
   * stamped with the start of the price hour and rewritten at every re-plan
   * (an hour a new plan no longer uses gets 0 kWh), so an hour keeps what was
   * planned for it last before it began: the dashboards' "plan against what
   * happened". `start_ms`/`end_ms`: the charging inside the hour.
   */
  charge_plan: {
    tags: ['charger_id', 'charger_name'],
    fields: {
      energy_kwh: 'float',
      price_cents_kwh: 'float',
      start_ms: 'int',
      end_ms: 'int',
      source: 'string',
      reason: 'string',
    },
  },
  /** One command to a car and its answer (planner): what the status page and the alerts show. */
  charge_control: {
    tags: ['charger_id', 'charger_name', 'command', 'controller'],
    fields: {
      ok: 'bool',
      failure: 'string',
      detail: 'string',
      reason: 'string',
      calls: 'int',
      woke: 'bool',
      duration_ms: 'int',
    },
  },
  collector_spool: {
    tags: ['service'],
    fields: { bytes: 'int', files: 'int', dropped_points_total: 'int' },
  },
} as const satisfies Record<string, MeasurementSchema>;

/**
 * Fields only the downsampled tiers hold: beside a gauge's mean, the tasks
 * (influxdb/tasks/) keep its highest or lowest value in the window where an
 * extreme matters more than the mean: a hot handle, a slow poll, a voltage
 * sag. A mean over an hour hides them (44.1 °C at the handle read 41.7 °C).
 */
export const TIER_EXTREMES = {
  twc_vitals: {
    handle_temp_c_max: 'float',
    pcba_temp_c_max: 'float',
    mcu_temp_c_max: 'float',
    power_w_max: 'float',
    grid_v_min: 'float',
    grid_v_max: 'float',
  },
  twc_health: { poll_ms_max: 'float' },
} as const satisfies Partial<Record<keyof typeof SCHEMA, Record<string, FieldType>>>;

export type Measurement = keyof typeof SCHEMA;
export type FieldValue = number | boolean | string | null | undefined;

export interface PointData {
  measurement: Measurement;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  timeMs: number;
}
