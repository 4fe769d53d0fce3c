/**
 * "Log a repeated failure once, then count it": a charger offline for a
 * night, Redis restarting, a feed answering HTML must leave one line when it
 * starts and one when it ends, not thousands. The caller logs; this keeps the
 * books.
 */
export interface FailureLog<Kind extends string = string> {
  /** Counts a failure of `kind`; true when it is the first of its kind since the last recovery (log it). */
  failed(kind: Kind): boolean;
  /** Ends the streak; returns the failures counted since it began (0: nothing to say). */
  recovered(): number;
  /** True while a streak is under way. */
  failing(): boolean;
  /** Failures of each kind over the whole life. */
  totals(): Partial<Record<Kind, number>>;
}

export function createFailureLog<Kind extends string = string>(): FailureLog<Kind> {
  const logged = new Set<Kind>();
  const totals: Partial<Record<Kind, number>> = {};
  let sinceRecovery = 0;
  return {
    failed(kind) {
      totals[kind] = (totals[kind] ?? 0) + 1;
      sinceRecovery++;
      if (logged.has(kind)) return false;
      logged.add(kind);
      return true;
    },
    recovered() {
      const count = sinceRecovery;
      sinceRecovery = 0;
      logged.clear();
      return count;
    },
    failing: () => sinceRecovery > 0,
    totals: () => ({ ...totals }),
  };
}
