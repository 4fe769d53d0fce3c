import { toFluxValue } from '@influxdata/influxdb-client';

/** A Flux string literal, escaped (ids and names come from requests). */
export function fluxStr(value: string): string {
  return toFluxValue(value);
}

/** A Flux time literal for an instant. */
export function fluxTime(timeMs: number): string {
  return new Date(timeMs).toISOString();
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
