/**
 * Wall-clock time in any named time zone, with Intl only (no time zone
 * library): calendar days and weeks in the user's zone, ComEd's Chicago
 * wall-clock labels, time-of-use hours, all need UTC <-> local conversions
 * that stay right across DST.
 */

export const CHICAGO_TIME_ZONE = 'America/Chicago';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** A local wall-clock reading. `month` is 1-12, `weekday` 0 (Sunday) to 6 (Saturday). */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/**
 * Formatters by canonical zone name. Intl accepts any casing of a name and
 * every alias, so a cache keyed by the name as given would grow with each
 * spelling a client sends (`tz=aMerica/cHicago`); keyed by the name Intl
 * resolves it to, it holds at most one formatter per zone, and the bound
 * caps even that (each formatter holds ICU zone data).
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
const MAX_FORMATTERS = 32;
/** Spellings already resolved (`us/central` -> `America/Chicago`): strings only, bounded too. */
const resolvedNames = new Map<string, string>();
const MAX_RESOLVED_NAMES = 512;

let canonicalTimeZones: ReadonlyMap<string, string> | undefined;

/** IANA's canonical names, by their lower-case spelling. */
function canonicalNames(): ReadonlyMap<string, string> {
  canonicalTimeZones ??= new Map(Intl.supportedValuesOf('timeZone').map((name) => [name.toLowerCase(), name]));
  return canonicalTimeZones;
}

function createFormatter(timeZone: string): Intl.DateTimeFormat {
  // hourCycle h23, not hour12: false: the latter prints midnight as "24" in some ICU versions.
  return new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    weekday: 'short',
  });
}

/** The name Intl knows the zone by, whatever the casing or alias; throws a RangeError for an unknown zone. */
function canonicalTimeZone(timeZone: string): string {
  const listed = canonicalNames().get(timeZone.toLowerCase());
  if (listed !== undefined) return listed;
  let resolved = resolvedNames.get(timeZone);
  if (resolved === undefined) {
    // Aliases (US/Central, Etc/UTC...) are not in the list: Intl resolves them.
    resolved = new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
    if (resolvedNames.size >= MAX_RESOLVED_NAMES) resolvedNames.clear();
    resolvedNames.set(timeZone, resolved);
  }
  return resolved;
}

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  const name = canonicalTimeZone(timeZone);
  let formatter = formatters.get(name);
  if (formatter) {
    // Least recently used goes first: a Map iterates in insertion order.
    formatters.delete(name);
  } else {
    formatter = createFormatter(name);
    if (formatters.size >= MAX_FORMATTERS) formatters.delete(formatters.keys().next().value as string);
  }
  formatters.set(name, formatter);
  return formatter;
}

/** How many zone formatters are cached (bounded; for tests and diagnostics). */
export function cachedTimeZoneFormatters(): number {
  return formatters.size;
}

/** True when Intl knows the IANA time zone name (e.g. `America/Chicago`), in any casing, or an alias of one. */
export function isValidTimeZone(timeZone: string): boolean {
  // Resolving the name answers without a formatter of the zone: one loads ICU's calendar and zone
  // data, about 8 MiB resident, which a service that never converts to local time (the collector
  // pricing at ComEd's hourly prices) would otherwise carry only to check its settings.
  try {
    canonicalTimeZone(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall clock in `timeZone` at the instant `timeMs`. */
export function wallClockAt(timeMs: number, timeZone: string): WallClock {
  const wall: WallClock = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, weekday: 0 };
  for (const part of formatterFor(timeZone).formatToParts(timeMs)) {
    switch (part.type) {
      case 'year':
        wall.year = Number(part.value);
        break;
      case 'month':
        wall.month = Number(part.value);
        break;
      case 'day':
        wall.day = Number(part.value);
        break;
      case 'hour':
        wall.hour = Number(part.value);
        break;
      case 'minute':
        wall.minute = Number(part.value);
        break;
      case 'second':
        wall.second = Number(part.value);
        break;
      case 'weekday':
        wall.weekday = WEEKDAYS[part.value] ?? 0;
        break;
    }
  }
  return wall;
}

/** The wall-clock reading as if it were UTC: a number that orders local times and allows minute arithmetic. */
function wallAsUtcMs(wall: Pick<WallClock, 'year' | 'month' | 'day' | 'hour' | 'minute'>): number {
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);
}

/** How far `timeZone` is ahead of UTC at `timeMs` (negative west of Greenwich), whole minutes. */
function offsetMsAt(timeMs: number, timeZone: string): number {
  const wholeMinuteMs = Math.floor(timeMs / MINUTE_MS) * MINUTE_MS;
  return wallAsUtcMs(wallClockAt(wholeMinuteMs, timeZone)) - wholeMinuteMs;
}

/**
 * Every UTC instant at which the clock in `timeZone` reads the given local
 * time, earliest first: one normally, two in the hour that repeats when DST
 * ends, none in the hour that is skipped when DST starts.
 */
export function utcInstantsForWallClock(
  wall: Pick<WallClock, 'year' | 'month' | 'day' | 'hour' | 'minute'>,
  timeZone: string,
): number[] {
  const asUtc = wallAsUtcMs(wall);
  // No zone changes its offset twice within two days, so the offsets a day
  // either side are the only ones that can apply.
  const offsets = new Set([offsetMsAt(asUtc - DAY_MS, timeZone), offsetMsAt(asUtc + DAY_MS, timeZone)]);
  const instants: number[] = [];
  for (const offsetMs of offsets) {
    const candidate = asUtc - offsetMs;
    if (offsetMsAt(candidate, timeZone) === offsetMs) instants.push(candidate);
  }
  return instants.sort((a, b) => a - b);
}

/** The instant local midnight starts the first day of `month` (1-12) in `timeZone`. */
export function monthStartMs(year: number, month: number, timeZone: string): number {
  const normalized = new Date(Date.UTC(year, month - 1, 1));
  const [start] = utcInstantsForWallClock(
    { year: normalized.getUTCFullYear(), month: normalized.getUTCMonth() + 1, day: 1, hour: 0, minute: 0 },
    timeZone,
  );
  if (start === undefined) throw new RangeError(`midnight does not exist on ${year}-${month}-01 in ${timeZone}`);
  return start;
}
