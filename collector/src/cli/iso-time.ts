/** Times given on the command line: ISO-8601 with a zone, checked strictly. */

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

/** The instant an ISO-8601 option names, or a message saying what is wrong with it. */
export function parseTimeOption(option: string, value: string | undefined): number | string {
  if (value === undefined) return `--${option} is required`;
  const timeMs = parseIsoWithZone(value);
  if (!Number.isFinite(timeMs)) {
    return `--${option} must be an ISO-8601 time with a zone, e.g. 2026-03-08T06:00:00Z or 2026-03-08T00:00-06:00; got "${value}"`;
  }
  return timeMs;
}

/** `--from` and `--to`: both required, valid, and in order; or a message saying what is wrong. */
export function parseTimeRange(values: {
  from?: string | undefined;
  to?: string | undefined;
}): { fromMs: number; toMs: number } | string {
  const fromMs = parseTimeOption('from', values.from);
  if (typeof fromMs === 'string') return fromMs;
  const toMs = parseTimeOption('to', values.to);
  if (typeof toMs === 'string') return toMs;
  if (fromMs >= toMs) return `--from (${values.from}) must be before --to (${values.to})`;
  return { fromMs, toMs };
}
