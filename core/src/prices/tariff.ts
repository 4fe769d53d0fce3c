/**
 * The tariff: what a kWh costs beyond ComEd's supply price (provider.ts), and
 * optionally a time-of-use schedule. Built from env-style values
 * (TARIFF_DELIVERY_CENTS_KWH, ...) or a small YAML/JSON file (TARIFF_FILE).
 * Nothing here reads process.env: the service config passes values in.
 *
 * Tariff file (YAML or JSON; every field optional):
 *
 *   deliveryCentsPerKwh: 7.9
 *   otherCentsPerKwh: 2.0
 *   taxPercent: 0
 *   monthlyFixedUsd: 19
 *   flatRateCentsPerKwh: 17
 *   tou:                         # a time-of-use schedule, see TouSchedule
 *     timeZone: America/Chicago
 *     defaultCentsPerKwh: 9
 *     periods:
 *       - { name: summer-peak, months: { from: 6, to: 9 }, weekdays: [mon, tue, wed, thu, fri],
 *           hours: { from: 13, to: 19 }, centsPerKwh: 14 }
 */
import { z } from 'zod';
import { isValidTimeZone } from '../time/wall-clock.js';
import type { Tariff } from './pricing.js';

/**
 * Rough figures for a single-family ComEd residential customer without
 * electric space heat, around 2025: distribution plus transmission for
 * delivery; riders and the per-kWh Illinois and Chicago electricity taxes in
 * `otherCentsPerKwh` (those taxes are charged per kWh, not as a percentage,
 * hence taxPercent 0); customer and metering charges as the fixed monthly
 * amount; the all-in price of ComEd's fixed-price supply as the flat rate.
 * They are estimates for a first look, not ComEd's rates: every user must
 * check them against their own bill and set their own values.
 */
export const TARIFF_DEFAULTS: Readonly<Tariff> = Object.freeze({
  deliveryCentsPerKwh: 7.9,
  otherCentsPerKwh: 2.0,
  taxPercent: 0,
  monthlyFixedUsd: 19,
  flatRateCentsPerKwh: 17,
});

/** A tariff setting or file that does not validate; the message names every bad field. */
export class TariffError extends Error {
  override readonly name = 'TariffError';
}

/** One line per problem, each naming the field: `taxPercent: Too big: expected number to be <=100`. */
function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `${prefix}${path}: ${issue.message}` : `${prefix}${issue.message}`;
    })
    .join('; ');
}

// Bounds are sanity limits that catch a misplaced decimal point or a value in
// dollars instead of cents, not statements about what ComEd charges.
const tariffFields = {
  deliveryCentsPerKwh: z.number().min(0).max(100),
  /** Riders can be credits, so this may be negative. */
  otherCentsPerKwh: z.number().min(-100).max(100),
  taxPercent: z.number().min(0).max(100),
  monthlyFixedUsd: z.number().min(0).max(1000),
  flatRateCentsPerKwh: z.number().gt(0).max(500),
};

const tariffSchema = z.strictObject({
  deliveryCentsPerKwh: tariffFields.deliveryCentsPerKwh.default(TARIFF_DEFAULTS.deliveryCentsPerKwh),
  otherCentsPerKwh: tariffFields.otherCentsPerKwh.default(TARIFF_DEFAULTS.otherCentsPerKwh),
  taxPercent: tariffFields.taxPercent.default(TARIFF_DEFAULTS.taxPercent),
  monthlyFixedUsd: tariffFields.monthlyFixedUsd.default(TARIFF_DEFAULTS.monthlyFixedUsd),
  flatRateCentsPerKwh: tariffFields.flatRateCentsPerKwh.default(TARIFF_DEFAULTS.flatRateCentsPerKwh),
});

export const WEEKDAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type WeekdayName = (typeof WEEKDAY_NAMES)[number];

const touPeriodSchema = z.strictObject({
  name: z.string().min(1),
  centsPerKwh: z.number().min(-1000).max(1000),
  /** Season: months `from`..`to` inclusive, 1-12; `from` > `to` wraps over the new year (e.g. 10..5). */
  months: z.strictObject({ from: z.int().min(1).max(12), to: z.int().min(1).max(12) }).optional(),
  /** Days of the week it applies to; all days when absent. */
  weekdays: z.array(z.enum(WEEKDAY_NAMES)).min(1).optional(),
  /** Local hours `from` (inclusive, 0-23) to `to` (exclusive, 1-24); `from` > `to` wraps over midnight. */
  hours: z
    .strictObject({ from: z.int().min(0).max(23), to: z.int().min(1).max(24) })
    .refine((hours) => hours.from !== hours.to, { message: 'hours.from and hours.to must differ' })
    .optional(),
});

const touScheduleSchema = z.strictObject({
  /** IANA zone the periods are written in; the provider's caller may override it. */
  timeZone: z.string().refine(isValidTimeZone, { message: 'unknown time zone' }).optional(),
  /** The price outside every period. */
  defaultCentsPerKwh: z.number().min(-1000).max(1000),
  /** Checked in order; the first period that matches wins. */
  periods: z.array(touPeriodSchema),
});

export type TouPeriod = z.infer<typeof touPeriodSchema>;
export type TouSchedule = z.infer<typeof touScheduleSchema>;

const tariffFileSchema = tariffSchema.extend({ tou: touScheduleSchema.optional() });

export interface TariffFile {
  tariff: Tariff;
  tou?: TouSchedule;
}

/** Validates a tariff object in the file's shape (camelCase fields, all optional: defaults fill in). */
export function parseTariff(input: unknown): Tariff {
  const result = tariffSchema.safeParse(input ?? {});
  if (!result.success) throw new TariffError(`invalid tariff: ${describeIssues(result.error)}`);
  return result.data;
}

/** Validates a time-of-use schedule (the `tou` section of a tariff file). */
export function parseTouSchedule(input: unknown): TouSchedule {
  const result = touScheduleSchema.safeParse(input);
  if (!result.success) throw new TariffError(`invalid time-of-use schedule: ${describeIssues(result.error, 'tou.')}`);
  return result.data;
}

/** Validates a whole tariff file's content: the tariff and an optional `tou` schedule. */
export function parseTariffFile(input: unknown): TariffFile {
  const result = tariffFileSchema.safeParse(input ?? {});
  if (!result.success) throw new TariffError(`invalid tariff file: ${describeIssues(result.error)}`);
  const { tou, ...tariff } = result.data;
  return tou ? { tariff, tou } : { tariff };
}

/** The TARIFF_* settings as a service's zod env schema takes them (all optional strings). */
export const tariffEnvSettings = {
  TARIFF_DELIVERY_CENTS_KWH: z.string().optional(),
  TARIFF_OTHER_CENTS_KWH: z.string().optional(),
  TARIFF_TAX_PERCENT: z.string().optional(),
  TARIFF_MONTHLY_FIXED_USD: z.string().optional(),
  TARIFF_FLAT_RATE_CENTS_KWH: z.string().optional(),
  TARIFF_FILE: z.string().optional(),
};

/** Picks the TARIFF_* settings out of a parsed env, for loadTariff. */
export function tariffSettingsOf(raw: TariffSettings): TariffSettings {
  return {
    TARIFF_DELIVERY_CENTS_KWH: raw.TARIFF_DELIVERY_CENTS_KWH,
    TARIFF_OTHER_CENTS_KWH: raw.TARIFF_OTHER_CENTS_KWH,
    TARIFF_TAX_PERCENT: raw.TARIFF_TAX_PERCENT,
    TARIFF_MONTHLY_FIXED_USD: raw.TARIFF_MONTHLY_FIXED_USD,
    TARIFF_FLAT_RATE_CENTS_KWH: raw.TARIFF_FLAT_RATE_CENTS_KWH,
    TARIFF_FILE: raw.TARIFF_FILE,
  };
}

/** The env-style settings (strings, as in .env); an empty string counts as unset. */
export interface TariffSettings {
  TARIFF_DELIVERY_CENTS_KWH?: string | undefined;
  TARIFF_OTHER_CENTS_KWH?: string | undefined;
  TARIFF_TAX_PERCENT?: string | undefined;
  TARIFF_MONTHLY_FIXED_USD?: string | undefined;
  TARIFF_FLAT_RATE_CENTS_KWH?: string | undefined;
  TARIFF_FILE?: string | undefined;
}

const ENV_FIELDS = {
  TARIFF_DELIVERY_CENTS_KWH: 'deliveryCentsPerKwh',
  TARIFF_OTHER_CENTS_KWH: 'otherCentsPerKwh',
  TARIFF_TAX_PERCENT: 'taxPercent',
  TARIFF_MONTHLY_FIXED_USD: 'monthlyFixedUsd',
  TARIFF_FLAT_RATE_CENTS_KWH: 'flatRateCentsPerKwh',
} as const satisfies Record<string, keyof Tariff>;

const decimalText = /^[-+]?(\d+\.?\d*|\.\d+)$/;

/**
 * Applies env-style values over `base` (the defaults, or a tariff file's
 * values): a variable that is set overrides that one field. Errors name the
 * variable.
 */
export function parseTariffEnv(values: TariffSettings, base: Tariff = TARIFF_DEFAULTS): Tariff {
  const tariff: Tariff = { ...base };
  const problems: string[] = [];
  for (const [variable, field] of Object.entries(ENV_FIELDS) as [keyof typeof ENV_FIELDS, keyof Tariff][]) {
    const raw = values[variable]?.trim();
    if (raw === undefined || raw === '') continue;
    if (!decimalText.test(raw)) {
      problems.push(`${variable}: expected a number, got "${raw}"`);
      continue;
    }
    const result = tariffFields[field].safeParse(Number(raw));
    if (!result.success) {
      problems.push(`${variable}: ${result.error.issues.map((issue) => issue.message).join(', ')}`);
      continue;
    }
    tariff[field] = result.data;
  }
  if (problems.length > 0) throw new TariffError(`invalid tariff settings: ${problems.join('; ')}`);
  return tariff;
}
