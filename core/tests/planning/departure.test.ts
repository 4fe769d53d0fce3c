import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEDULE, nextDeparture } from '../../src/planning/departure.js';

const CHICAGO = 'America/Chicago';

describe('nextDeparture', () => {
  it('is the next scheduled local time, skipping days without one', () => {
    // Friday Dec 4, 2026, 18:00 CST: next is Monday 07:00 CST.
    expect(nextDeparture(DEFAULT_SCHEDULE, null, Date.UTC(2026, 11, 5, 0), CHICAGO)).toBe(Date.UTC(2026, 11, 7, 13));
    // Thursday 06:59: today's 07:00.
    expect(nextDeparture(DEFAULT_SCHEDULE, null, Date.UTC(2026, 11, 3, 12, 59), CHICAGO)).toBe(
      Date.UTC(2026, 11, 3, 13),
    );
  });

  it('stays 07:00 local across both DST changes', () => {
    // Sat Mar 7, 2026 evening CST: Monday Mar 9 07:00 is CDT (12:00 UTC).
    expect(nextDeparture(DEFAULT_SCHEDULE, null, Date.UTC(2026, 2, 8, 0), CHICAGO)).toBe(Date.UTC(2026, 2, 9, 12));
    // Sat Oct 31 evening CDT: Monday Nov 2 07:00 is CST (13:00 UTC).
    expect(nextDeparture(DEFAULT_SCHEDULE, null, Date.UTC(2026, 10, 1, 0), CHICAGO)).toBe(Date.UTC(2026, 10, 2, 13));
  });

  it('takes a one-off override while it is ahead, and a time the spring change skips an hour on', () => {
    const now = Date.UTC(2026, 11, 4, 0);
    expect(nextDeparture(DEFAULT_SCHEDULE, now + 3_600_000, now, CHICAGO)).toBe(now + 3_600_000);
    expect(nextDeparture(DEFAULT_SCHEDULE, now - 1, now, CHICAGO)).toBe(Date.UTC(2026, 11, 4, 13));
    const twoThirty = [{ hour: 2, minute: 30 }, null, null, null, null, null, null];
    // Sunday Mar 8, 2026 has no 02:30 in Chicago: 03:30 CDT, where the clocks land.
    expect(nextDeparture(twoThirty, null, Date.UTC(2026, 2, 8, 0), CHICAGO)).toBe(Date.UTC(2026, 2, 8, 8, 30));
    expect(nextDeparture([null, null, null, null, null, null, null], null, now, CHICAGO)).toBeUndefined();
  });
});
