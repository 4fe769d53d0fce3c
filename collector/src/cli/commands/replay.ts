/**
 * `twc replay --vitals FILE --prices FILE`: re-derives charging sessions and
 * their costs from a recorded vitals stream and a ComEd price answer, with
 * the collector's own session code (sessions/replay.ts), and prints them as a
 * JSON array on stdout.
 */
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ComedFeedError, type PricePoint, parseComedFeed } from '@twc/core/prices/comed-parse';
import type { ComedPriceBasis, Tariff } from '@twc/core/prices/pricing';
import { parseTariffEnv, TariffError, type TariffSettings } from '@twc/core/prices/tariff';
import {
  createSessionReplay,
  parseReplayLine,
  type ReplayedSession,
  type ReplayResult,
  replayedSession,
} from '@twc/core/sessions/replay';
import { loadTariff } from '@twc/runtime/tariff-file';
import { type Command, processIo, UsageError, usageError } from '../command.js';

const USAGE = [
  'twc replay --vitals FILE --prices FILE [--basis hourly|five-minute] [--delivery-cents-kwh N] [--charger-id ID]',
  '',
  '  --vitals FILE           JSON lines {"t": <epoch ms>, "vitals": <the /api/1/vitals body>}, one charger,',
  '                          oldest first (the API vitals JSON export writes this format)',
  '  --prices FILE           a ComEd ?type=5minutefeed answer covering the recording',
  '  --basis                 hourly: the hour average ComEd bills (default); five-minute: each interval its price',
  '  --delivery-cents-kwh N  delivery charge in cents per kWh, over TARIFF_DELIVERY_CENTS_KWH',
  '  --charger-id ID         the charger id in session ids (default "replay"; the serial gives the stored ids)',
  '',
  'The tariff comes from the collector settings TARIFF_FILE and TARIFF_* when set, else the defaults.',
  'A session whose car is still connected at the end is printed with "open": true and end_time null.',
].join('\n');

const BASES: readonly ComedPriceBasis[] = ['hourly', 'five-minute'];
const DEFAULT_CHARGER_ID = 'replay';
/** Bad lines named with their reason in the report; the rest are only counted. */
const MAX_REPORTED_LINES = 10;

export interface ReplayCommandIo {
  /** Environment values; the command reads TARIFF_FILE and TARIFF_*. */
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

interface ReplayOptions {
  vitalsPath: string;
  pricesPath: string;
  basis: ComedPriceBasis;
  deliveryCentsPerKwh: number | undefined;
  chargerId: string;
}

function parseOptions(argv: string[]): ReplayOptions {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        vitals: { type: 'string' },
        prices: { type: 'string' },
        basis: { type: 'string' },
        'delivery-cents-kwh': { type: 'string' },
        'charger-id': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    // parseArgs names the offending option in its message.
    throw new UsageError((error as Error).message);
  }
  const vitalsPath = values.vitals;
  if (vitalsPath === undefined || vitalsPath === '') throw new UsageError('--vitals FILE is required');
  const pricesPath = values.prices;
  if (pricesPath === undefined || pricesPath === '') throw new UsageError('--prices FILE is required');
  const basisText = values.basis ?? 'hourly';
  const basis = BASES.find((candidate) => candidate === basisText);
  if (basis === undefined) throw new UsageError(`--basis must be ${BASES.join(' or ')}, got "${basisText}"`);
  const chargerId = values['charger-id'] ?? DEFAULT_CHARGER_ID;
  if (chargerId.trim() === '') throw new UsageError('--charger-id must not be empty');
  return {
    vitalsPath,
    pricesPath,
    basis,
    deliveryCentsPerKwh: parseDelivery(values['delivery-cents-kwh']),
    chargerId,
  };
}

/** Validated with the tariff's own rules, so the option accepts exactly what TARIFF_DELIVERY_CENTS_KWH does. */
function parseDelivery(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  // parseTariffEnv takes an empty value as unset; an empty option is a mistake.
  if (value.trim() === '') throw new UsageError('--delivery-cents-kwh must be a number of cents per kWh');
  try {
    return parseTariffEnv({ TARIFF_DELIVERY_CENTS_KWH: value }).deliveryCentsPerKwh;
  } catch (error) {
    if (error instanceof TariffError) {
      throw new UsageError(`--delivery-cents-kwh "${value}" is not a delivery price (${error.message})`);
    }
    throw error;
  }
}

async function loadReplayTariff(env: ReplayCommandIo['env'], deliveryCentsPerKwh: number | undefined): Promise<Tariff> {
  const settings: TariffSettings = {
    // The option replaces the setting outright: a bad setting it overrides is no error.
    TARIFF_DELIVERY_CENTS_KWH: deliveryCentsPerKwh === undefined ? env.TARIFF_DELIVERY_CENTS_KWH : undefined,
    TARIFF_OTHER_CENTS_KWH: env.TARIFF_OTHER_CENTS_KWH,
    TARIFF_TAX_PERCENT: env.TARIFF_TAX_PERCENT,
    TARIFF_MONTHLY_FIXED_USD: env.TARIFF_MONTHLY_FIXED_USD,
    TARIFF_FLAT_RATE_CENTS_KWH: env.TARIFF_FLAT_RATE_CENTS_KWH,
    TARIFF_FILE: env.TARIFF_FILE,
  };
  try {
    const { tariff } = await loadTariff(settings);
    return deliveryCentsPerKwh === undefined ? tariff : { ...tariff, deliveryCentsPerKwh };
  } catch (error) {
    if (error instanceof TariffError) throw new UsageError(error.message, false);
    throw error;
  }
}

function fileError(option: string, path: string, error: unknown): UsageError {
  const code = (error as { code?: string }).code;
  if (code === 'ENOENT') return new UsageError(`${option} ${path}: no such file`, false);
  if (code === 'EISDIR') return new UsageError(`${option} ${path} is a directory, not a file`, false);
  return new UsageError(`${option} ${path} cannot be read (${code ?? (error as Error).message})`, false);
}

async function loadPrices(path: string, stderr: ReplayCommandIo['stderr']): Promise<PricePoint[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw fileError('--prices', path, error);
  }
  try {
    const feed = parseComedFeed(text);
    if (feed.skipped > 0) {
      stderr(
        `twc replay: skipped ${feed.skipped} malformed price entries in ${path}, e.g. ${feed.skippedExamples.join(', ')}\n`,
      );
    }
    return feed.prices;
  } catch (error) {
    if (error instanceof ComedFeedError) {
      throw new UsageError(`--prices ${path} is not a ComEd 5minutefeed answer: ${error.message}`, false);
    }
    throw error;
  }
}

interface SkippedLine {
  line: number;
  reason: string;
}

/** Reads the recording line by line (a year of 5-second samples need not fit in memory). */
async function replayVitals(
  path: string,
  chargerId: string,
): Promise<{ result: ReplayResult; lines: number; skipped: SkippedLine[]; skippedCount: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw fileError('--vitals', path, error);
  }
  const replay = createSessionReplay(chargerId);
  const skipped: SkippedLine[] = [];
  let skippedCount = 0;
  let lines = 0;
  const skip = (line: number, reason: string): void => {
    skippedCount++;
    if (skipped.length < MAX_REPORTED_LINES) skipped.push({ line, reason });
  };
  try {
    for await (const text of handle.readLines({ encoding: 'utf8' })) {
      lines++;
      if (text.trim() === '') continue;
      const parsed = parseReplayLine(text);
      if (!parsed.ok) {
        skip(lines, parsed.reason);
        continue;
      }
      const added = replay.add(parsed.timeMs, parsed.vitals);
      if (!added.applied) skip(lines, added.reason);
    }
  } catch (error) {
    throw fileError('--vitals', path, error);
  } finally {
    await handle.close();
  }
  if (replay.applied() === 0) {
    throw new UsageError(`--vitals ${path} holds no vitals sample in the replay format`, false);
  }
  return { result: replay.finish(), lines, skipped, skippedCount };
}

function skippedReport(path: string, lines: number, skipped: SkippedLine[], skippedCount: number): string {
  const listed = skipped.map(({ line, reason }) => `  line ${line}: ${reason}`);
  const more = skippedCount > skipped.length ? [`  ... and ${skippedCount - skipped.length} more`] : [];
  return [`twc replay: skipped ${skippedCount} of ${lines} lines of ${path}:`, ...listed, ...more, ''].join('\n');
}

export async function runReplayCommand(argv: string[], io: ReplayCommandIo): Promise<number> {
  try {
    const options = parseOptions(argv);
    const tariff = await loadReplayTariff(io.env, options.deliveryCentsPerKwh);
    const prices = await loadPrices(options.pricesPath, io.stderr);
    const { result, lines, skipped, skippedCount } = await replayVitals(options.vitalsPath, options.chargerId);
    if (skippedCount > 0) io.stderr(skippedReport(options.vitalsPath, lines, skipped, skippedCount));

    const pricing = { basis: options.basis, tariff, prices };
    const sessions: ReplayedSession[] = result.closed.map((session) => replayedSession(session, pricing));
    if (result.open !== null) sessions.push(replayedSession(result.open, pricing));
    io.stdout(`${JSON.stringify(sessions, null, 2)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) return usageError(io.stderr, 'replay', USAGE, error);
    throw error;
  }
}

export const replayCommand: Command = {
  summary: 'charging sessions and their costs re-derived from recorded vitals and ComEd prices, as JSON',
  usage: USAGE,
  run: (argv) => runReplayCommand(argv, processIo()),
};
