/**
 * Our hourly prices against ComEd's own published ones (`type=day`), hour by
 * hour. Pure: the published hours and our stored averages in, the verdict and
 * the points to store out.
 *
 * ComEd publishes each hour to 0.1 cent from its unrounded 5-minute prices,
 * while ours average the 5-minute prices as published (also to 0.1 cent). So
 * a correct average can differ from the published figure by up to about 0.1
 * cent: on the real recordings of both 2025 DST days (comed-clock.ts) 3 of 41
 * hours differ by more than 0.05 cent under the right clock, and 24 of 41
 * under the wrong one. Every hour off by more than 0.05 cent is counted and
 * shown; what signals that ComEd changed its clock (or ours broke) is the
 * share of such hours in a day (PUBLISHED_MISMATCH_ALERT_SHARE).
 */

import type { PointData } from '../contracts/influx-schema.js';
import { PRICES_PER_HOUR } from './comed-clock.js';
import type { PublishedHour } from './comed-parse.js';

/** An hour whose published and computed prices differ by more than this is counted as a mismatch. */
export const PUBLISHED_TOLERANCE_CENTS = 0.05;
/** A day with more than this share of its compared hours mismatched raises the alert (7 % right, 59 % wrong on real data). */
export const PUBLISHED_MISMATCH_ALERT_SHARE = 0.25;
/** Fewer compared hours than this make no share (a day whose prices are still mostly missing). */
const MIN_HOURS_FOR_SHARE = 6;

export type HourVerdict = 'match' | 'mismatch' | 'incomplete' | 'ambiguous' | 'no_such_hour';

export interface HourCheck {
  /** The hour ending; undefined when the label names no hour or two. */
  hourEndingMs: number | undefined;
  label: PublishedHour['label'];
  publishedCents: number;
  oursCents: number | null;
  /** Ours minus ComEd's, cents per kWh. */
  diffCents: number | null;
  verdict: HourVerdict;
}

export interface DayCheck {
  hours: HourCheck[];
  published: number;
  compared: number;
  mismatched: number;
  /** Labels that could not be compared: the fall-back day's repeated label, hours short of prices. */
  unverifiable: number;
  maxAbsDiffCents: number | null;
  /** Mismatched over compared; null when too few hours were compared to say. */
  mismatchShare: number | null;
}

export interface StoredHour {
  avgPrice: number;
  count: number;
}

/**
 * Compares each published hour with the stored average of the same hour.
 * Only hours with all twelve 5-minute prices are compared: an incomplete
 * hour's average is not what ComEd published. A label that names two hours
 * (the fall-back day's label 1) or none is reported and left out.
 */
export function checkPublishedHours(
  published: readonly PublishedHour[],
  ours: (hourEndingMs: number) => StoredHour | undefined,
): DayCheck {
  const hours: HourCheck[] = published.map((hour) => {
    const base = { label: hour.label, publishedCents: hour.priceCentsPerKwh };
    if (hour.hourEndingsMs.length !== 1) {
      const verdict: HourVerdict = hour.hourEndingsMs.length === 0 ? 'no_such_hour' : 'ambiguous';
      return { ...base, hourEndingMs: undefined, oursCents: null, diffCents: null, verdict };
    }
    const hourEndingMs = hour.hourEndingsMs[0] as number;
    const stored = ours(hourEndingMs);
    if (!stored || stored.count < PRICES_PER_HOUR) {
      return { ...base, hourEndingMs, oursCents: stored?.avgPrice ?? null, diffCents: null, verdict: 'incomplete' };
    }
    // Rounded to a billionth so float noise never decides a verdict at the tolerance.
    const diffCents = Math.round((stored.avgPrice - hour.priceCentsPerKwh) * 1e9) / 1e9;
    const verdict = Math.abs(diffCents) > PUBLISHED_TOLERANCE_CENTS ? 'mismatch' : 'match';
    return { ...base, hourEndingMs, oursCents: stored.avgPrice, diffCents, verdict };
  });
  const compared = hours.filter((hour) => hour.verdict === 'match' || hour.verdict === 'mismatch');
  const mismatched = compared.filter((hour) => hour.verdict === 'mismatch').length;
  const diffs = compared.map((hour) => Math.abs(hour.diffCents as number));
  return {
    hours,
    published: hours.length,
    compared: compared.length,
    mismatched,
    unverifiable: hours.length - compared.length,
    maxAbsDiffCents: diffs.length === 0 ? null : Math.max(...diffs),
    mismatchShare: compared.length >= MIN_HOURS_FOR_SHARE ? mismatched / compared.length : null,
  };
}

/**
 * `comed_price_published`, one point per published hour that names one hour,
 * stamped with its hour ending beside `comed_price_hourly`; and
 * `comed_price_check`, the day's summary, stamped with the local day's start.
 */
export function publishedCheckPoints(check: DayCheck, dayStartMs: number): PointData[] {
  const points: PointData[] = [];
  for (const hour of check.hours) {
    if (hour.hourEndingMs === undefined) continue;
    points.push({
      measurement: 'comed_price_published',
      tags: {},
      fields: {
        price_cents_kwh: hour.publishedCents,
        ours_cents_kwh: hour.oursCents,
        diff_cents: hour.diffCents,
        mismatch: hour.verdict === 'mismatch',
      },
      timeMs: hour.hourEndingMs,
    });
  }
  points.push({
    measurement: 'comed_price_check',
    tags: {},
    fields: {
      hours_published: check.published,
      hours_compared: check.compared,
      hours_mismatched: check.mismatched,
      hours_unverifiable: check.unverifiable,
      max_abs_diff_cents: check.maxAbsDiffCents,
      mismatch_share: check.mismatchShare,
    },
    timeMs: dayStartMs,
  });
  return points;
}
