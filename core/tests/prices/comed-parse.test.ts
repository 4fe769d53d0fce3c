import { describe, expect, it } from 'vitest';
import { ComedFeedError, mergePrices, parseComedFeed, parseHourlyFeed } from '../../src/prices/comed-parse.js';

const T = 1434686700000; // a real ComEd stamp, on the 5-minute grid
const MIN5 = 300_000;

function feedError(text: string): ComedFeedError {
  try {
    parseComedFeed(text);
  } catch (error) {
    if (error instanceof ComedFeedError) return error;
    throw error;
  }
  throw new Error('expected a ComedFeedError');
}

describe('parseComedFeed', () => {
  it('reads the documented sample (strings, newest first) and returns it oldest first', () => {
    const parsed = parseComedFeed(
      '[{"millisUTC":"1434686700000","price":"2.0"},{"millisUTC":"1434686100000","price":"2.5"}]',
    );
    expect(parsed).toEqual({
      prices: [
        { timeMs: 1434686100000, priceCentsPerKwh: 2.5 },
        { timeMs: 1434686700000, priceCentsPerKwh: 2.0 },
      ],
      skipped: 0,
      skippedExamples: [],
    });
  });

  it.each([
    ['strings', `[{"millisUTC":"${T}","price":"3.4"}]`],
    ['numbers', `[{"millisUTC":${T},"price":3.4}]`],
    ['mixed', `[{"millisUTC":${T},"price":"3.4"}]`],
    ['padded string', `[{"millisUTC":" ${T} ","price":" 3.4 "}]`],
  ])('accepts values as %s', (_label, text) => {
    expect(parseComedFeed(text).prices).toEqual([{ timeMs: T, priceCentsPerKwh: 3.4 }]);
  });

  it('keeps negative and zero prices', () => {
    const text = JSON.stringify([
      { millisUTC: String(T + MIN5), price: '-1.3' },
      { millisUTC: String(T), price: '0.0' },
    ]);
    expect(parseComedFeed(text).prices).toEqual([
      { timeMs: T, priceCentsPerKwh: 0 },
      { timeMs: T + MIN5, priceCentsPerKwh: -1.3 },
    ]);
  });

  it('keeps one price per stamp, the last in the answer', () => {
    const text = JSON.stringify([
      { millisUTC: String(T + MIN5), price: '2.0' },
      { millisUTC: String(T), price: '1.0' },
      { millisUTC: String(T + MIN5), price: '2.2' },
    ]);
    expect(parseComedFeed(text).prices).toEqual([
      { timeMs: T, priceCentsPerKwh: 1.0 },
      { timeMs: T + MIN5, priceCentsPerKwh: 2.2 },
    ]);
  });

  it.each([
    ['non-numeric price', { millisUTC: String(T), price: 'N/A' }],
    ['empty price', { millisUTC: String(T), price: '' }],
    ['hex price', { millisUTC: String(T), price: '0x10' }],
    ['missing price', { millisUTC: String(T) }],
    ['missing stamp', { price: '2.0' }],
    ['null price', { millisUTC: String(T), price: null }],
    ['stamp off the 5-minute grid', { millisUTC: String(T + 1000), price: '2.0' }],
    ['fractional stamp', { millisUTC: `${T}.5`, price: '2.0' }],
    ['not an object', 'price'],
    ['an array', [T, 2.0]],
  ])('skips and counts an entry with %s, keeping the rest', (_label, bad) => {
    const text = JSON.stringify([{ millisUTC: String(T + MIN5), price: '2.1' }, bad]);
    const parsed = parseComedFeed(text);
    expect(parsed.prices).toEqual([{ timeMs: T + MIN5, priceCentsPerKwh: 2.1 }]);
    expect(parsed.skipped).toBe(1);
    expect(parsed.skippedExamples).toEqual([JSON.stringify(bad)]);
  });

  it('keeps at most three examples of malformed entries but counts them all', () => {
    const text = JSON.stringify(Array.from({ length: 5 }, (_, i) => ({ millisUTC: String(T), price: `bad${i}` })));
    const parsed = parseComedFeed(text);
    expect(parsed.prices).toEqual([]);
    expect(parsed.skipped).toBe(5);
    expect(parsed.skippedExamples).toHaveLength(3);
  });

  it('accepts an off-grid stamp when the grid is not required (the running hour average)', () => {
    const text = JSON.stringify([{ millisUTC: String(T + 1000), price: '2.0' }]);
    expect(parseComedFeed(text, { requireFiveMinuteGrid: false }).prices).toEqual([
      { timeMs: T + 1000, priceCentsPerKwh: 2 },
    ]);
  });

  it.each([
    ['an HTML error page', '<!DOCTYPE html><html><body>Service Unavailable</body></html>', 'not_json'],
    ['an empty body', '', 'not_json'],
    ['truncated JSON', '[{"millisUTC":"1434686700000","pri', 'not_json'],
    ['a JSON object', '{"error":"maintenance"}', 'not_array'],
    ['a JSON string', '"maintenance"', 'not_array'],
    ['null', 'null', 'not_array'],
    ['an empty array', '[]', 'empty'],
  ] as const)('rejects %s with kind %s', (_label, text, kind) => {
    const error = feedError(text);
    expect(error.kind).toBe(kind);
    expect(error.message.length).toBeGreaterThan(0);
  });

  it('says when the answer was an HTML page', () => {
    expect(feedError('<html><body>Error</body></html>').message).toContain('HTML page');
  });

  it('accepts an empty array when asked to (ranged history with no data)', () => {
    expect(parseComedFeed('[]', { allowEmpty: true })).toEqual({ prices: [], skipped: 0, skippedExamples: [] });
  });
});

describe('mergePrices', () => {
  it('merges, sorts and deduplicates, the later list winning', () => {
    const merged = mergePrices([
      [
        { timeMs: T + MIN5, priceCentsPerKwh: 2 },
        { timeMs: T + 2 * MIN5, priceCentsPerKwh: 3 },
      ],
      [
        { timeMs: T, priceCentsPerKwh: 1 },
        { timeMs: T + 2 * MIN5, priceCentsPerKwh: 3.5 },
      ],
    ]);
    expect(merged).toEqual([
      { timeMs: T, priceCentsPerKwh: 1 },
      { timeMs: T + MIN5, priceCentsPerKwh: 2 },
      { timeMs: T + 2 * MIN5, priceCentsPerKwh: 3.5 },
    ]);
  });
});

describe('parseHourlyFeed', () => {
  it('reads ComEd form without evaluating it: wall-clock fields, the 0-based month made 1-based', () => {
    expect(parseHourlyFeed('[[Date.UTC(2025,10,2,0,0,0), 4.3], [Date.UTC(2025,10,2,1,0,0), -0.2]]')).toEqual({
      entries: [
        { year: 2025, month: 11, day: 2, hour: 0, priceCentsPerKwh: 4.3 },
        { year: 2025, month: 11, day: 2, hour: 1, priceCentsPerKwh: -0.2 },
      ],
      skipped: 0,
      skippedExamples: [],
    });
  });

  it('accepts white space and line breaks, and an empty list', () => {
    expect(parseHourlyFeed(' [ [ Date.UTC( 2025 , 2 , 9 , 3 , 0 , 0 ) ,1.4 ]\n] ').entries).toEqual([
      { year: 2025, month: 3, day: 9, hour: 3, priceCentsPerKwh: 1.4 },
    ]);
    expect(parseHourlyFeed('[]')).toEqual({ entries: [], skipped: 0, skippedExamples: [] });
  });

  it('skips and counts entries it cannot read, keeping the rest', () => {
    const parsed = parseHourlyFeed(
      '[[Date.UTC(2025,10,2,0,0,0), 4.3], [Date.UTC(2025,10,2,1,0,0), N/A], [alert(1), 2], ' +
        '[Date.UTC(2025,1,30,5,0,0), 1], [Date.UTC(2025,10,2,24,0,0), 1], [Date.UTC(2025,10,2,5,30,0), 1], ' +
        '[Date.UTC(2025,10,2,6,0,0), 3.9]]',
    );
    expect(parsed.entries.map((entry) => entry.hour)).toEqual([0, 6]);
    expect(parsed.skipped).toBe(5);
    expect(parsed.skippedExamples).toEqual([
      '[Date.UTC(2025,10,2,1,0,0), N/A]',
      '[alert(1), 2]',
      '[Date.UTC(2025,1,30,5,0,0), 1]',
    ]);
  });

  it.each([
    ['an HTML error page', '<!DOCTYPE html><html><body>Service Unavailable</body></html>', 'not_json'],
    ['something else', 'Date.UTC(2025,10,2,0,0,0)', 'not_array'],
  ])('refuses %s', (_label, text, kind) => {
    expect(() => parseHourlyFeed(text)).toThrow(ComedFeedError);
    try {
      parseHourlyFeed(text);
    } catch (error) {
      expect((error as ComedFeedError).kind).toBe(kind);
    }
  });
});
