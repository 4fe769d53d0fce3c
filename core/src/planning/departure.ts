/**
 * When the car leaves: a weekly schedule of local departure times (none on
 * days it stays home) and a one-off override. Pure; wall-clock times in the
 * user's zone, so a 07:00 departure stays 07:00 across DST.
 */
import { utcInstantsForWallClock, wallClockAt } from '../time/wall-clock.js';

export interface LocalTime {
  hour: number;
  minute: number;
}

/** By weekday, 0 = Sunday: the departure time that day, or null. */
export type WeeklySchedule = readonly (LocalTime | null)[];

/** Weekdays at 07:00, weekends none: the commuter's week. */
export const DEFAULT_SCHEDULE: WeeklySchedule = [
  null,
  { hour: 7, minute: 0 },
  { hour: 7, minute: 0 },
  { hour: 7, minute: 0 },
  { hour: 7, minute: 0 },
  { hour: 7, minute: 0 },
  null,
];

/** The instant of a local time on a local date; the later one where the fall-back hour repeats, the next real one where spring skips it. */
export function instantOf(
  date: { year: number; month: number; day: number },
  time: LocalTime,
  timeZone: string,
): number {
  const instants = utcInstantsForWallClock({ ...date, ...time }, timeZone);
  if (instants.length > 0) return instants.at(-1) as number;
  // A time the spring change skips: the same time an hour on, which is where clocks land.
  return utcInstantsForWallClock({ ...date, hour: time.hour + 1, minute: time.minute }, timeZone)[0] as number;
}

/**
 * The next departure after `nowMs`: the override when it is set and ahead,
 * else the next scheduled time within a week; undefined when the schedule
 * has none (then the plan needs a one-off departure).
 */
export function nextDeparture(
  schedule: WeeklySchedule,
  overrideMs: number | null,
  nowMs: number,
  timeZone: string,
): number | undefined {
  if (overrideMs !== null && overrideMs > nowMs) return overrideMs;
  const today = wallClockAt(nowMs, timeZone);
  for (let days = 0; days <= 7; days++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + days));
    const time = schedule[date.getUTCDay()];
    if (!time) continue;
    const atMs = instantOf(
      { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() },
      time,
      timeZone,
    );
    if (atMs > nowMs) return atMs;
  }
  return undefined;
}
