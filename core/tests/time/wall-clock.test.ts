import { describe, expect, it, vi } from 'vitest';
import { comedLocalNumber, formatComedLocal, parseComedLocal } from '../../src/prices/comed-clock.js';
import {
  CHICAGO_TIME_ZONE,
  cachedTimeZoneFormatters,
  isValidTimeZone,
  monthStartMs,
  utcInstantsForWallClock,
  wallClockAt,
} from '../../src/time/wall-clock.js';

describe('formatComedLocal', () => {
  it.each([
    ['winter (CST, UTC-6)', Date.UTC(2026, 0, 15, 18, 5), '202601151205'],
    ['summer (CDT, UTC-5)', Date.UTC(2026, 6, 4, 17, 30), '202607041230'],
    ['UTC midnight is the previous local evening', Date.UTC(2026, 0, 1, 0, 0), '202512311800'],
    ['last CST minute before spring forward', Date.UTC(2026, 2, 8, 7, 59), '202603080159'],
    ['first CDT minute after spring forward', Date.UTC(2026, 2, 8, 8, 0), '202603080300'],
    ['first 01:30 in November (CDT)', Date.UTC(2026, 10, 1, 6, 30), '202611010130'],
    ['second 01:30 in November (CST)', Date.UTC(2026, 10, 1, 7, 30), '202611010130'],
    ['local midnight', Date.UTC(2026, 10, 2, 6, 0), '202611020000'],
  ])('%s', (_label, timeMs, expected) => {
    expect(formatComedLocal(timeMs)).toBe(expected);
    expect(comedLocalNumber(timeMs)).toBe(Number(expected));
  });
});

describe('parseComedLocal', () => {
  it.each([
    ['202603080159', 202603080159],
    ['202612312355', 202612312355],
    ['202602290000', undefined], // 2026 is not a leap year
    ['202613010000', undefined],
    ['202601012400', undefined],
    ['202601011260', undefined],
    ['2026010100', undefined],
    ['2026-01-01T00:00', undefined],
    ['', undefined],
  ])('%s -> %s', (text, expected) => {
    expect(parseComedLocal(text)).toBe(expected);
  });
});

describe('wallClockAt', () => {
  it('reads local fields and the weekday', () => {
    // 2026-11-01 is a Sunday; 00:30 CDT is 05:30 UTC.
    expect(wallClockAt(Date.UTC(2026, 10, 1, 5, 30, 15), CHICAGO_TIME_ZONE)).toEqual({
      year: 2026,
      month: 11,
      day: 1,
      hour: 0,
      minute: 30,
      second: 15,
      weekday: 0,
    });
  });

  it('reports midnight as hour 0, not 24', () => {
    expect(wallClockAt(Date.UTC(2026, 0, 6, 6, 0), CHICAGO_TIME_ZONE).hour).toBe(0);
  });

  it('works for other zones', () => {
    expect(wallClockAt(Date.UTC(2026, 6, 1, 12, 0), 'Europe/Berlin')).toMatchObject({ hour: 14, weekday: 3 });
  });
});

describe('utcInstantsForWallClock', () => {
  it('finds one instant on an ordinary day', () => {
    expect(utcInstantsForWallClock({ year: 2026, month: 1, day: 15, hour: 12, minute: 5 }, CHICAGO_TIME_ZONE)).toEqual([
      Date.UTC(2026, 0, 15, 18, 5),
    ]);
  });

  it('finds both instants of the repeated November hour, earliest first', () => {
    expect(utcInstantsForWallClock({ year: 2026, month: 11, day: 1, hour: 1, minute: 30 }, CHICAGO_TIME_ZONE)).toEqual([
      Date.UTC(2026, 10, 1, 6, 30),
      Date.UTC(2026, 10, 1, 7, 30),
    ]);
  });

  it('finds none in the skipped March hour', () => {
    expect(utcInstantsForWallClock({ year: 2026, month: 3, day: 8, hour: 2, minute: 30 }, CHICAGO_TIME_ZONE)).toEqual(
      [],
    );
  });
});

describe('monthStartMs', () => {
  it.each([
    [2026, 1, Date.UTC(2026, 0, 1, 6)],
    [2026, 4, Date.UTC(2026, 3, 1, 5)],
    [2026, 13, Date.UTC(2027, 0, 1, 6)],
  ])('local midnight of %i-%i', (year, month, expected) => {
    expect(monthStartMs(year, month, CHICAGO_TIME_ZONE)).toBe(expected);
  });
});

describe('isValidTimeZone', () => {
  it('knows IANA zones and rejects made-up ones', () => {
    expect(isValidTimeZone('America/Chicago')).toBe(true);
    expect(isValidTimeZone('America/Springfield')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
  });

  it('accepts the aliases Intl accepts, which are not in its list of canonical names', () => {
    for (const alias of ['US/Central', 'Etc/UTC', 'UTC']) expect(isValidTimeZone(alias), alias).toBe(true);
  });

  it('checks a canonical name without building a formatter (which loads ICU data for good)', () => {
    // Passes construction through, so the formatter built is a real one (a bare spy's instance lacks its methods).
    const Original = Intl.DateTimeFormat;
    const formatter = vi
      .spyOn(Intl, 'DateTimeFormat')
      // biome-ignore lint/complexity/useArrowFunction: the spy is called with new, which an arrow cannot be
      .mockImplementation(function (...args: ConstructorParameters<typeof Intl.DateTimeFormat>) {
        return new Original(...args);
      });
    try {
      expect(isValidTimeZone('Europe/Paris')).toBe(true);
      expect(formatter).not.toHaveBeenCalled();
      expect(isValidTimeZone('US/Hawaii')).toBe(true);
      expect(formatter).toHaveBeenCalled();
    } finally {
      formatter.mockRestore();
    }
  });
});

/** Every casing of a name, varied letter by letter from a seed. */
function spellings(name: string, count: number): string[] {
  const result: string[] = [];
  for (let i = 0; i < count; i++) {
    result.push([...name].map((c, at) => ((i >> (at % 16)) & 1 ? c.toUpperCase() : c.toLowerCase())).join(''));
  }
  return result;
}

describe('zone formatters', () => {
  it('are cached by the zone, not by how a caller spells it', () => {
    const instant = Date.UTC(2026, 0, 15, 18, 5);
    const expected = wallClockAt(instant, 'America/Argentina/ComodRivadavia');
    const before = cachedTimeZoneFormatters();
    for (const name of spellings('america/argentina/comodrivadavia', 2000)) {
      expect(isValidTimeZone(name)).toBe(true);
      expect(wallClockAt(instant, name)).toEqual(expected);
    }
    for (const name of spellings('us/central', 500)) expect(wallClockAt(instant, name).hour).toBe(12);
    // America/Argentina/ComodRivadavia is an alias of America/Catamarca, US/Central of America/Chicago.
    expect(cachedTimeZoneFormatters() - before).toBeLessThanOrEqual(2);
  });

  it('stay bounded however many zones are asked for', () => {
    const zones = Intl.supportedValuesOf('timeZone');
    expect(zones.length).toBeGreaterThan(100);
    for (const zone of zones) wallClockAt(0, zone);
    expect(cachedTimeZoneFormatters()).toBeLessThanOrEqual(32);
    // An evicted zone is built again and still right.
    expect(wallClockAt(Date.UTC(2026, 6, 4, 17, 30), CHICAGO_TIME_ZONE)).toMatchObject({ hour: 12, minute: 30 });
  });

  it('rejects a misspelled zone in every casing', () => {
    for (const name of spellings('america/chicagoo', 20)) expect(isValidTimeZone(name)).toBe(false);
  });
});
