/**
 * `twc prices --from <ISO> --to <ISO> [--api-url <url>]`: ComEd's 5-minute
 * prices whose interval starts inside [from, to) (each `time` is ComEd's
 * stamp, the interval's start), and the averages of the hours they fall in,
 * by hour ending, as JSON on stdout.
 */
import { parseArgs } from 'node:util';
import { hourlyAggregates } from '@twc/core/prices/hourly';
import { createLogger, type Logger } from '@twc/runtime/logger';
import { ComedRequestError, createComedClient, DEFAULT_COMED_API_URL } from '../../comed-poller/comed-client.js';
import { type Command, processIo, usageError } from '../command.js';
import { parseTimeRange } from '../iso-time.js';

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
  const refuse = (message: string): number => usageError(io.stderr, 'prices', USAGE, message);

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
    return refuse((error as Error).message);
  }

  const range = parseTimeRange(values);
  if (typeof range === 'string') return refuse(range);
  const { fromMs, toMs } = range;

  const apiUrlSource = values['api-url'] !== undefined ? '--api-url' : 'COMED_API_URL';
  const apiUrlText = values['api-url'] ?? (io.env.COMED_API_URL?.trim() || DEFAULT_COMED_API_URL);
  const apiUrl = parseApiUrl(apiUrlText);
  if (typeof apiUrl === 'string') return refuse(`${apiUrlSource} ${apiUrl}`);

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
  summary: 'ComEd 5-minute and hourly prices for a time range (intervals starting inside it), as JSON',
  usage: USAGE,
  run: (argv) => runPricesCommand(argv, processIo()),
};
