/**
 * Parsing of ComEd's price answers. Pure: text in, prices out.
 *
 * The 5-minute API answers `[{"millisUTC":"1434686700000","price":"2.0"}, ...]`,
 * newest first, values usually strings, with content type text/html; errors
 * can come back as an HTML page with status 200, and single entries can be
 * broken. The hourly feeds (`rrtp/ServletFeed`) answer a JavaScript-like
 * array, parsed here without evaluating anything (parseHourlyFeed).
 */
import { type HourLabel, isOnFiveMinuteGrid } from './comed-clock.js';

/** One ComEd price: `timeMs` is ComEd's millisUTC, the START of its 5-minute interval (see comed-clock.ts). */
export interface PricePoint {
  timeMs: number;
  priceCentsPerKwh: number;
}

export interface ParsedComedFeed {
  /** Valid prices, oldest first, one per timestamp. */
  prices: PricePoint[];
  /** How many entries were malformed and left out. */
  skipped: number;
  /** Up to three of the malformed entries, as JSON, for a log line. */
  skippedExamples: string[];
}

export type ComedFeedErrorKind = 'not_json' | 'not_array' | 'empty';

export class ComedFeedError extends Error {
  override readonly name = 'ComedFeedError';
  constructor(
    readonly kind: ComedFeedErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface ParseComedFeedOptions {
  /**
   * Treat an empty array as valid (no prices) instead of an error: right for
   * ranged history, where a range can hold no data; wrong for the live feed,
   * which always holds the last 24 hours.
   */
  allowEmpty?: boolean;
  /** Skip entries whose stamp is off the 5-minute grid (default true: 5-minute prices always are on it). */
  requireFiveMinuteGrid?: boolean;
}

const MAX_EXAMPLES = 3;
const MAX_EXAMPLE_CHARS = 200;

/** A number from a JSON number or a numeric string; undefined for anything else. */
function numberFrom(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  // Number('') is 0 and Number('0x10') is 16: accept plain decimal notation only.
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(trimmed)) return undefined;
  const parsed = Number(trimmed);
  return Number.isFinite(parsed) ? parsed : undefined;
}

function entryToPoint(entry: unknown, requireGrid: boolean): PricePoint | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return undefined;
  const record = entry as Record<string, unknown>;
  const timeMs = numberFrom(record.millisUTC);
  const priceCentsPerKwh = numberFrom(record.price);
  if (timeMs === undefined || priceCentsPerKwh === undefined) return undefined;
  if (!Number.isSafeInteger(timeMs) || timeMs <= 0) return undefined;
  if (requireGrid && !isOnFiveMinuteGrid(timeMs)) return undefined;
  return { timeMs, priceCentsPerKwh };
}

function excerpt(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 80 ? `${oneLine.slice(0, 80)}...` : oneLine;
}

/**
 * Parses a ComEd answer body. Malformed entries are skipped and counted;
 * an answer that is not a JSON array (an HTML error page, even with status
 * 200) or, unless allowed, an empty array throws a ComedFeedError.
 */
export function parseComedFeed(text: string, options: ParseComedFeedOptions = {}): ParsedComedFeed {
  const requireGrid = options.requireFiveMinuteGrid ?? true;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    const looksLikeHtml = /^\s*</.test(text);
    throw new ComedFeedError(
      'not_json',
      `ComEd answered ${looksLikeHtml ? 'an HTML page' : 'something'} instead of JSON: "${excerpt(text)}"`,
    );
  }
  if (!Array.isArray(data)) {
    throw new ComedFeedError('not_array', `ComEd answered JSON that is not an array: "${excerpt(text)}"`);
  }
  if (data.length === 0 && !options.allowEmpty) {
    throw new ComedFeedError('empty', 'ComEd answered an empty list of prices');
  }

  const byTime = new Map<number, PricePoint>();
  let skipped = 0;
  const skippedExamples: string[] = [];
  for (const entry of data) {
    const point = entryToPoint(entry, requireGrid);
    if (point) {
      // ComEd documents nothing about a repeated stamp; the last one in the
      // answer wins, so the result never depends on Map or sort details.
      byTime.set(point.timeMs, point);
      continue;
    }
    skipped++;
    if (skippedExamples.length < MAX_EXAMPLES) {
      skippedExamples.push((JSON.stringify(entry) ?? String(entry)).slice(0, MAX_EXAMPLE_CHARS));
    }
  }
  const prices = [...byTime.values()].sort((a, b) => a.timeMs - b.timeMs);
  return { prices, skipped, skippedExamples };
}

/** Merges price lists into one, oldest first, one per timestamp; on a repeated stamp the later list wins. */
export function mergePrices(lists: readonly PricePoint[][]): PricePoint[] {
  const byTime = new Map<number, PricePoint>();
  for (const list of lists) {
    for (const point of list) byTime.set(point.timeMs, point);
  }
  return [...byTime.values()].sort((a, b) => a.timeMs - b.timeMs);
}

/**
 * One entry of an `rrtp/ServletFeed` answer, as ComEd wrote it: the fields of
 * `Date.UTC(...)` are Chicago wall-clock fields despite the name, and the
 * month is converted here from ComEd's 0-based field to 1-12. What the hour
 * field labels (the hour ending then, or beginning) is ComEd's clock, decided
 * in comed-clock.ts, not here.
 */
export interface HourlyFeedEntry {
  year: number;
  /** 1-12. */
  month: number;
  day: number;
  /** 0-23, ComEd's hour label. */
  hour: number;
  priceCentsPerKwh: number;
}

export interface ParsedHourlyFeed {
  /** Valid entries in the order ComEd sent them. */
  entries: HourlyFeedEntry[];
  skipped: number;
  skippedExamples: string[];
}

// `[Date.UTC(2025,10,2,0,0,0), 4.3]`: six integer fields and a plain decimal number.
const HOURLY_ENTRY =
  /^\[\s*Date\.UTC\(\s*(\d{4})\s*,\s*(\d{1,2})\s*,\s*(\d{1,2})\s*,\s*(\d{1,2})\s*,\s*(\d{1,2})\s*,\s*(\d{1,2})\s*\)\s*,\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\]$/;

function hourlyEntryFrom(text: string): HourlyFeedEntry | undefined {
  const match = HOURLY_ENTRY.exec(text);
  if (!match) return undefined;
  const [year, monthIndex, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const priceCentsPerKwh = Number(match[7]);
  if (!Number.isFinite(priceCentsPerKwh) || minute !== 0 || second !== 0 || hour > 23) return undefined;
  const check = new Date(Date.UTC(year, monthIndex, day));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== monthIndex || check.getUTCDate() !== day) {
    return undefined;
  }
  return { year, month: monthIndex + 1, day, hour, priceCentsPerKwh };
}

/** The top-level comma-separated pieces of a list's inside, split where no bracket or parenthesis is open. */
function topLevelPieces(inner: string): string[] {
  const pieces: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < inner.length; i++) {
    const char = inner[i];
    if (char === '[' || char === '(') depth++;
    else if (char === ']' || char === ')') depth--;
    else if (char === ',' && depth === 0) {
      pieces.push(inner.slice(from, i));
      from = i + 1;
    }
  }
  pieces.push(inner.slice(from));
  return pieces.map((piece) => piece.trim());
}

/**
 * Parses an `rrtp/ServletFeed` body, `[[Date.UTC(2025,10,2,0,0,0), 4.3], ...]`,
 * by pattern only: nothing in it is evaluated. An entry that does not have
 * exactly that shape, or has impossible fields, is skipped and counted; a
 * body that is not a bracketed list (an HTML error page) throws a
 * ComedFeedError. `[]` is a valid empty answer: the day-ahead feed answers it
 * until the next day's prices are published.
 */
export function parseHourlyFeed(text: string): ParsedHourlyFeed {
  const body = text.trim();
  if (!body.startsWith('[') || !body.endsWith(']')) {
    const looksLikeHtml = body.startsWith('<');
    throw new ComedFeedError(
      looksLikeHtml ? 'not_json' : 'not_array',
      `ComEd answered ${looksLikeHtml ? 'an HTML page' : 'something'} instead of a list of hourly prices: "${excerpt(text)}"`,
    );
  }
  const entries: HourlyFeedEntry[] = [];
  let skipped = 0;
  const skippedExamples: string[] = [];
  const inner = body.slice(1, -1);
  if (inner.trim() === '') return { entries, skipped, skippedExamples };
  for (const piece of topLevelPieces(inner)) {
    const entry = hourlyEntryFrom(piece);
    if (entry) {
      entries.push(entry);
      continue;
    }
    skipped++;
    if (skippedExamples.length < MAX_EXAMPLES) skippedExamples.push(piece.slice(0, MAX_EXAMPLE_CHARS));
  }
  return { entries, skipped, skippedExamples };
}

/** One hour of ComEd's published hourly prices, with the hour(s) its label can name (comed-clock.ts). */
export interface PublishedHour {
  label: HourLabel;
  priceCentsPerKwh: number;
  /** One hour ending normally; none for a label the spring-forward day skips; two where the fall-back day repeats it. */
  hourEndingsMs: number[];
}
