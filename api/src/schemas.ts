/**
 * Response and parameter schemas shared by the routes. The OpenAPI document
 * is generated from these, so the documentation cannot drift from the code.
 */
import { z } from 'zod';
import { isInfluxTime } from './core/flux.js';

export const isoTime = z.iso.datetime({ offset: true });

/** An instant a client asks about: ISO 8601, inside the range InfluxDB stores. */
export const instantParam = isoTime.refine((text) => isInfluxTime(Date.parse(text)), {
  message: 'must be between 1677-09-22 and 2262-04-11, the range of stored times',
});

export const errorSchema = z
  .object({
    statusCode: z.number().int(),
    error: z.string(),
    message: z.string().meta({ example: 'from: Invalid ISO datetime' }),
  })
  .meta({ id: 'Error' });

export const chargerIdParams = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .meta({ description: 'Charger id (its serial number), or the name it has in CHARGERS', example: 'ACB12345678901' }),
});

export const chargerSchema = z
  .object({
    id: z.string().meta({ example: 'ACB12345678901' }),
    name: z.string().meta({ example: 'garage' }),
    serial_number: z.string().nullable(),
    firmware_version: z.string().nullable().meta({ example: '24.44.1+g1ee2ee3c4a2d6a' }),
    online: z.boolean().nullable().meta({ description: 'null when unknown (Redis down and no recent sample)' }),
    last_seen: isoTime.nullable().meta({ example: '2026-01-15T18:00:05.000Z' }),
    source: z.enum(['live', 'influxdb']),
  })
  .meta({ id: 'Charger' });

export const vitalsSchema = z
  .object({
    vehicle_connected: z.boolean().nullable(),
    contactor_closed: z.boolean().nullable(),
    charging: z.boolean().nullable(),
    power_w: z.number().nullable().meta({ example: 11520 }),
    session_energy_wh: z.number().nullable().meta({ example: 8450.5 }),
    session_s: z.number().nullable(),
    vehicle_current_a: z.number().nullable(),
    grid_v: z.number().nullable(),
    grid_hz: z.number().nullable(),
    voltageA_v: z.number().nullable(),
    voltageB_v: z.number().nullable(),
    voltageC_v: z.number().nullable(),
    currentA_a: z.number().nullable(),
    currentB_a: z.number().nullable(),
    currentC_a: z.number().nullable(),
    pcba_temp_c: z.number().nullable(),
    handle_temp_c: z.number().nullable(),
    mcu_temp_c: z.number().nullable(),
    uptime_s: z.number().nullable(),
    evse_state: z.number().nullable().meta({ example: 11 }),
    evse_state_name: z.string().meta({ example: 'charging' }),
  })
  .meta({ id: 'Vitals' });

export const sessionSchema = z
  .object({
    id: z.string().meta({ example: 'ACB12345678901-1768500000000' }),
    charger_id: z.string(),
    charger_name: z.string(),
    open: z.boolean(),
    start_time: isoTime,
    end_time: isoTime.nullable(),
    duration_s: z.number(),
    charging_s: z.number(),
    energy_wh: z.number().meta({ example: 24500 }),
    avg_power_w: z.number().nullable(),
    peak_power_w: z.number().nullable(),
    supply_cost_usd: z.number().nullable(),
    adders_cost_usd: z.number().nullable(),
    tax_cost_usd: z.number().nullable(),
    total_cost_usd: z.number().nullable().meta({ example: 2.734 }),
    avg_price_cents_kwh: z.number().nullable().meta({ description: 'energy-weighted', example: 3.1 }),
    provisional: z.boolean().meta({ description: 'some energy has no price yet' }),
    flat_rate_cost_usd: z.number().nullable(),
    cheapest_window_cost_usd: z.number().nullable(),
    saving_vs_flat_usd: z.number().nullable(),
    saving_vs_cheapest_usd: z.number().nullable(),
    plug_in_cost_usd: z.number().nullable().meta({ description: 'the same charge started at plug-in' }),
    saving_vs_plug_in_usd: z
      .number()
      .nullable()
      .meta({ description: 'what waiting for cheaper hours saved against charging at plug-in (smart charging)' }),
    end_reason: z.string().nullable(),
  })
  .meta({ id: 'Session' });

export const statusSchema = z
  .object({
    charger_id: z.string(),
    charger_name: z.string(),
    source: z.enum(['live', 'influxdb']),
    time: isoTime.meta({ description: 'when the vitals were read' }),
    age_s: z.number().meta({ description: 'seconds since the vitals were read' }),
    online: z.boolean().nullable(),
    vitals: vitalsSchema,
    session: sessionSchema.nullable().meta({ description: 'the open session, if any' }),
  })
  .meta({ id: 'ChargerStatus' });

export const currentPriceSchema = z
  .object({
    five_minute: z
      .object({
        time: isoTime.meta({
          description: "ComEd's stamp: the start of the five minutes this price covers",
          example: '2026-01-15T17:55:00.000Z',
        }),
        price_cents_kwh: z.number().meta({ example: 2.9 }),
      })
      .nullable(),
    hour_average: z
      .object({
        time: isoTime.meta({
          description: 'the stamp of the newest 5-minute price in the average',
          example: '2026-01-15T17:55:00.000Z',
        }),
        hour_ending: isoTime.meta({
          description: 'the hour averaged, by its end: the hour ending H averages the prices stamped H-60 to H-5 min',
          example: '2026-01-15T18:00:00.000Z',
        }),
        price_cents_kwh: z.number().meta({ example: 3.2 }),
      })
      .nullable(),
    feed_time: isoTime
      .nullable()
      .meta({ description: 'the stamp of the latest 5-minute price', example: '2026-01-15T17:55:00.000Z' }),
    stale: z.boolean().meta({ description: 'no 5-minute price for more than 15 minutes' }),
    updated: isoTime,
    source: z.enum(['live', 'influxdb']),
  })
  .meta({ id: 'CurrentPrice' });

export const pricePointSchema = z.object({
  start: isoTime,
  end: isoTime,
  avg_price_cents_kwh: z.number().meta({ example: 3.05 }),
  min_price_cents_kwh: z.number(),
  max_price_cents_kwh: z.number(),
  count: z.number().int().meta({ description: '5-minute prices in the bucket' }),
});

export const sessionHourSchema = z.object({
  hour_ending: isoTime,
  energy_wh: z.number(),
  avg_price_cents_kwh: z.number().nullable(),
  supply_cost_usd: z.number().nullable(),
  adders_cost_usd: z.number().nullable(),
  tax_cost_usd: z.number().nullable(),
  total_cost_usd: z.number().nullable(),
  provisional: z.boolean(),
});

export const totalsSchema = z
  .object({
    energy_wh: z.number().meta({ example: 182400 }),
    supply_cost_usd: z.number(),
    adders_cost_usd: z.number(),
    tax_cost_usd: z.number(),
    total_cost_usd: z.number().meta({ example: 21.37 }),
    avg_price_cents_kwh: z.number().nullable().meta({ description: 'energy-weighted average supply price' }),
    sessions: z.number().int(),
    flat_rate_cost_usd: z.number(),
    saving_vs_flat_usd: z.number(),
    provisional: z.boolean(),
  })
  .meta({ id: 'CostTotals' });

const estimateSource = z.enum(['actual', 'running', 'day_ahead', 'forecast']).meta({
  description:
    "actual: the hour is over; running: the current hour, its 5-minute prices so far; day_ahead: ComEd's day-ahead price; forecast: beyond the day-ahead horizon, from the stored history",
});

export const forecastHourSchema = z.object({
  start: isoTime,
  hour_ending: isoTime.meta({ example: '2026-01-16T09:00:00.000Z' }),
  price_cents_kwh: z.number().meta({ example: 2.4 }),
  source: estimateSource,
  low_cents_kwh: z.number().meta({ description: 'the band about 80 % of hours fall in, from the measured errors' }),
  high_cents_kwh: z.number(),
  day_ahead_cents_kwh: z
    .number()
    .optional()
    .meta({ description: "ComEd's day-ahead price of the hour, where published (also for the running hour)" }),
});

export const priceForecastSchema = z
  .object({
    computed_at: isoTime,
    feed_time: isoTime.nullable(),
    stale: z.boolean().meta({
      description: 'not recomputed for 15 minutes, or the ComEd feed behind it has stalled',
    }),
    errors: z.object({
      day_ahead: z.object({ low: z.number(), high: z.number() }),
      forecast: z.object({ low: z.number(), high: z.number() }),
      measured_days: z
        .number()
        .int()
        .meta({ description: 'days of history the bands were measured on (0: defaults until a week is stored)' }),
    }),
    hours: z.array(forecastHourSchema),
    tonight: z.object({
      from: isoTime,
      until: isoTime,
      avg_price_cents_kwh: z.number().nullable(),
      window: z
        .object({
          start: isoTime,
          end: isoTime,
          hours: z.number().int(),
          avg_price_cents_kwh: z.number(),
          sources: z.array(estimateSource),
        })
        .nullable(),
    }),
  })
  .meta({ id: 'PriceForecast' });

export const windowHourSchema = z.object({
  hour_ending: isoTime,
  source: estimateSource,
  price_cents_kwh: z.number(),
  fraction: z.number().meta({ description: 'the part of the hour spent charging' }),
  energy_kwh: z.number(),
});

export const plannedChargeSchema = z.object({
  start: isoTime,
  end: isoTime,
  energy_kwh: z.number(),
  avg_price_cents_kwh: z.number(),
  supply_cost_usd: z
    .number()
    .meta({ description: "energy times each hour's price; delivery charges are the same whenever you charge" }),
  hours: z.array(windowHourSchema),
});
