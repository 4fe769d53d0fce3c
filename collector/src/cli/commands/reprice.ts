/**
 * `twc reprice --from <ISO> --to <ISO> [--prices] [--sessions]`: what the
 * upgrade after the price-clock correction does by itself, by hand and for
 * any range: the stored hourly prices of the hours starting in [from, to)
 * re-derived from the stored 5-minute prices, and the sessions that started
 * in [from, to) re-priced from their stored interval energy with the current
 * pricing settings. Both rewrite in place, so running it again changes
 * nothing. Prints what it did as JSON.
 *
 * Least privilege decides where it runs: the hourly prices need the
 * comed-poller's token (it writes the prices bucket), the sessions the
 * collector's (and its pricing settings). Neither flag means both, which
 * needs a token that may write both buckets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { InfluxDB } from '@influxdata/influxdb-client';
import { HOUR_MS, hourEndingOf } from '@twc/core/prices/comed-clock';
import { createInfluxDelete } from '@twc/runtime/influx-delete';
import { createInfluxWriter, type InfluxWriter } from '@twc/runtime/influx-writer';
import { createLogger, type Logger } from '@twc/runtime/logger';
import { createSpool } from '@twc/runtime/spool';
import { loadPricingSettings } from '@twc/runtime/tariff-file';
import { loadCollectorConfig } from '../../collector/config.js';
import { createInfluxPriceSource } from '../../collector/price-source.js';
import { createInfluxSessionQueries } from '../../collector/session-queries.js';
import { createStoredSessionPricer } from '../../collector/stored-session-pricer.js';
import { loadPricePollerConfig } from '../../comed-poller/config.js';
import { rederiveHourlyPrices } from '../../comed-poller/hourly-rederive.js';
import { createInfluxPriceStore } from '../../comed-poller/influx-price-store.js';
import { type Command, processIo, usageError } from '../command.js';
import { parseTimeRange } from '../iso-time.js';

const USAGE = [
  'twc reprice --from <ISO-8601> --to <ISO-8601> [--prices] [--sessions]',
  '',
  '  --prices    re-derive the stored hourly prices of the hours starting in [from, to)',
  '              (comed-poller settings: INFLUXDB_*, run it where the comed-poller runs)',
  '  --sessions  re-price the sessions that started in [from, to) with the current pricing settings',
  '              (collector settings: INFLUXDB_*, PRICING, PRICE_BASIS, TARIFF_*, run it where the collector runs)',
  '  neither     both',
].join('\n');

export interface RepriceCommandIo {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  logger?: Logger;
  /** The current time (the simulator's clock in the demo); Date.now by default. */
  now?: () => number;
}

export interface RepriceOutput {
  from: string;
  to: string;
  prices?: { hours: number };
  sessions?: { found: number; repriced: number; kept: number };
}

/** A writer whose spool is a scratch folder: the command fails rather than leaves points behind it. */
function scratchWriter(influx: { url: string; token: string; org: string }, logger: Logger) {
  const dir = mkdtempSync(join(tmpdir(), 'twc-reprice-'));
  const writer = createInfluxWriter({
    ...influx,
    spool: createSpool({ dir, maxBytes: 512 * 1024 * 1024, logger }),
    logger,
  });
  return {
    writer,
    /** Closes the writer; false when InfluxDB did not take every point. */
    async close(): Promise<boolean> {
      await writer.close();
      const complete = writer.stats().spooledLines === 0 && writer.stats().rejectedLines === 0;
      rmSync(dir, { recursive: true, force: true });
      return complete;
    },
  };
}

async function withWriter<T>(
  influx: { url: string; token: string; org: string },
  logger: Logger,
  work: (writer: InfluxWriter) => Promise<T>,
): Promise<T> {
  const scratch = scratchWriter(influx, logger);
  let result: T | undefined;
  let failure: unknown;
  try {
    result = await work(scratch.writer);
  } catch (error) {
    failure = error;
  }
  const complete = await scratch.close();
  if (failure !== undefined) throw failure;
  if (!complete)
    throw new Error('InfluxDB did not take every rewritten point (nothing changed for good: run it again)');
  return result as T;
}

export async function runRepriceCommand(argv: string[], io: RepriceCommandIo): Promise<number> {
  const refuse = (message: string): number => usageError(io.stderr, 'reprice', USAGE, message);
  let values: { from?: string; to?: string; prices?: boolean; sessions?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        prices: { type: 'boolean' },
        sessions: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return refuse((error as Error).message);
  }
  const range = parseTimeRange(values);
  if (typeof range === 'string') return refuse(range);
  const { fromMs, toMs } = range;
  const both = !values.prices && !values.sessions;
  const now = io.now ?? Date.now;
  const logger = io.logger ?? createLogger({ name: 'twc', level: 'info' });
  const output: RepriceOutput = { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() };

  try {
    if (both || values.prices) {
      const config = loadPricePollerConfig(io.env);
      const { influx } = config;
      const queryApi = new InfluxDB({ url: influx.url, token: influx.token, timeout: 60_000 }).getQueryApi(influx.org);
      const store = createInfluxPriceStore({ queryApi, bucket: influx.bucket });
      // Whole hours that are over: the running one is rewritten by every poll.
      const firstMs = Math.floor(fromMs / HOUR_MS) * HOUR_MS;
      const lastMs = Math.min(Math.ceil(toMs / HOUR_MS) * HOUR_MS, hourEndingOf(now()) - HOUR_MS);
      const hours = await withWriter(influx, logger, (writer) =>
        rederiveHourlyPrices(
          {
            bucket: influx.bucket,
            writer,
            deletePoints: createInfluxDelete(influx),
            storedPrices: store.fiveMinutePrices,
          },
          firstMs,
          Math.max(firstMs, lastMs),
          (piece) =>
            logger.info({ from: new Date(piece.fromMs).toISOString(), hours: piece.hours }, 'hourly prices re-derived'),
        ),
      );
      output.prices = { hours };
    }
    if (both || values.sessions) {
      const config = loadCollectorConfig(io.env);
      const { influx } = config;
      const queryApi = new InfluxDB({ url: influx.url, token: influx.token, timeout: 60_000 }).getQueryApi(influx.org);
      const pricing = await loadPricingSettings(config.pricing);
      const queries = createInfluxSessionQueries({
        queryApi,
        rawBucket: influx.rawBucket,
        sessionsBucket: influx.sessionsBucket,
        now,
      });
      const sessions = await queries.sessionsBetween(fromMs, toMs);
      const result = await withWriter(influx, logger, (writer) =>
        createStoredSessionPricer({
          prices: createInfluxPriceSource({ queryApi, bucket: influx.pricesBucket, now }),
          pricing,
          writer,
          sessionsBucket: influx.sessionsBucket,
          logger,
          now,
        }).reprice(sessions),
      );
      output.sessions = { found: sessions.length, ...result };
    }
  } catch (error) {
    io.stderr(`twc reprice: ${(error as Error).message}\n`);
    return 1;
  }
  io.stdout(`${JSON.stringify(output, null, 2)}\n`);
  return 0;
}

export const repriceCommand: Command = {
  summary: 'stored hourly prices re-derived and sessions re-priced in place, for a time range',
  usage: USAGE,
  run: (argv) => runRepriceCommand(argv, processIo()),
};
