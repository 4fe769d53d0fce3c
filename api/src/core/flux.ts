import { toFluxValue } from '@influxdata/influxdb-client';

/** A Flux string literal, escaped (ids and names come from requests). */
export function fluxStr(value: string): string {
  return toFluxValue(value);
}

/**
 * InfluxDB stores times as int64 nanoseconds since 1970: 1677-09-21 to
 * 2262-04-11. These are the whole milliseconds inside that range.
 */
export const INFLUX_MIN_TIME_MS = -9_223_372_036_854;
export const INFLUX_MAX_TIME_MS = 9_223_372_036_854;

/** True when InfluxDB can hold (and be asked about) the instant. */
export function isInfluxTime(timeMs: number): boolean {
  return Number.isFinite(timeMs) && timeMs >= INFLUX_MIN_TIME_MS && timeMs <= INFLUX_MAX_TIME_MS;
}

/**
 * A Flux time literal for an instant, clamped to InfluxDB's range: a bound
 * computed past it (the end of a range plus an hour) means "all there is",
 * and beyond it InfluxDB answers an internal error.
 */
export function fluxTime(timeMs: number): string {
  return new Date(Math.min(Math.max(timeMs, INFLUX_MIN_TIME_MS), INFLUX_MAX_TIME_MS)).toISOString();
}

export function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** Rounds a dollar amount to whole micro-dollars, the precision the cost engine works in. */
export function usd(value: number): number {
  return Math.round(value * 1_000_000) / 1_000_000;
}
