/**
 * `twc prices --from <ISO> --to <ISO> [--api-url <url>]`: ComEd's 5-minute
 * prices whose interval ends inside the range, and their hourly averages, as
 * JSON on stdout.
 */
import { parseArgs } from 'node:util';
import { createLogger, type Logger } from '../../logger.js';
import { ComedRequestError, createComedClient, DEFAULT_COMED_API_URL } from '../../prices/comed-client.js';
import { hourlyAggregates } from '../../prices/hourly.js';
import type { Command } from '../main.js';

const USAGE = 'twc prices --from <ISO-8601> --to <ISO-8601> [--api-url <url>]';

export interface PricesCommandIo {
  /** Environment values; the command reads COMED_API_URL. */
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  logger?: Logger;
  /** Pause between monthly requests of a long range; the client's polite default when absent. */
  pieceSpacingMs?: number;
}

export interface PricesOutput {
  five_minute: { time: string; price_cents_kwh: number }[];
  hourly: { hour_ending: string; avg_price: number; min_price: number; max_price: number; count: number }[];
}

// A time without a zone would be read in the machine's zone, which is rarely
// Chicago on a server: the zone (Z or an offset) is required.
const ISO_WITH_ZONE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** The instant, or NaN; Date.parse alone rolls impossible dates over (Feb 30 becomes Mar 2). */
function parseIsoWithZone(value: string): number {
  const match = ISO_WITH_ZONE.exec(value);
  if (!match) return Number.NaN;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((field) => Number(field ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fields = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const exists =
    fields.getUTCFullYear() === year &&
    fields.getUTCMonth() === month - 1 &&
    fields.getUTCDate() === day &&
    fields.getUTCHours() === hour &&
    fields.getUTCMinutes() === minute &&
    fields.getUTCSeconds() === second;
  return exists ? Date.parse(value) : Number.NaN;
}

function parseTime(option: string, value: string | undefined): number | string {
  if (value === undefined) return `--${option} is required`;
  const timeMs = parseIsoWithZone(value);
  if (!Number.isFinite(timeMs)) {
    return `--${option} must be an ISO-8601 time with a zone, e.g. 2026-03-08T06:00:00Z or 2026-03-08T00:00-06:00; got "${value}"`;
  }
  return timeMs;
}

function parseApiUrl(value: string): URL | string {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // reported below
  }
  return `must be an http(s) URL, got "${value}"`;
}

export async function runPricesCommand(argv: string[], io: PricesCommandIo): Promise<number> {
  const usageError = (message: string): number => {
    io.stderr(`twc prices: ${message}\n\nusage: ${USAGE}\n`);
    return 2;
  };

  let values: { from?: string | undefined; to?: string | undefined; 'api-url'?: string | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { from: { type: 'string' }, to: { type: 'string' }, 'api-url': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    // parseArgs names the offending option in its message.
    return usageError((error as Error).message);
  }

  const fromMs = parseTime('from', values.from);
  if (typeof fromMs === 'string') return usageError(fromMs);
  const toMs = parseTime('to', values.to);
  if (typeof toMs === 'string') return usageError(toMs);
  if (fromMs >= toMs) return usageError(`--from (${values.from}) must be before --to (${values.to})`);

  const apiUrlSource = values['api-url'] !== undefined ? '--api-url' : 'COMED_API_URL';
  const apiUrlText = values['api-url'] ?? (io.env.COMED_API_URL?.trim() || DEFAULT_COMED_API_URL);
  const apiUrl = parseApiUrl(apiUrlText);
  if (typeof apiUrl === 'string') return usageError(`${apiUrlSource} ${apiUrl}`);

  const client = createComedClient({
    baseUrl: apiUrl.toString(),
    logger: io.logger ?? createLogger({ name: 'twc', level: 'warn' }),
    ...(io.pieceSpacingMs !== undefined ? { pieceSpacingMs: io.pieceSpacingMs } : {}),
  });
  try {
    const { prices } = await client.fiveMinuteRange(fromMs, toMs);
    const output: PricesOutput = {
      five_minute: prices.map((point) => ({
        time: new Date(point.timeMs).toISOString(),
        price_cents_kwh: point.priceCentsPerKwh,
      })),
      hourly: hourlyAggregates(prices).map((hour) => ({
        hour_ending: new Date(hour.hourEndingMs).toISOString(),
        avg_price: hour.avgPrice,
        min_price: hour.minPrice,
        max_price: hour.maxPrice,
        count: hour.count,
      })),
    };
    io.stdout(`${JSON.stringify(output, null, 2)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof ComedRequestError) {
      io.stderr(`twc prices: could not get prices from ComEd (${error.kind}): ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await client.close();
  }
}

export const pricesCommand: Command = {
  summary: 'ComEd 5-minute and hourly prices for a time range (intervals ending inside it), as JSON',
  usage: USAGE,
  run: (argv) =>
    runPricesCommand(argv, {
      env: process.env,
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
    }),
};
