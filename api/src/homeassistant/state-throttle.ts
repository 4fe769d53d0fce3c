/**
 * Per-entity rate limiting of state updates, pure: at most one publish per
 * entity per interval, and the latest value always gets out (a value held
 * back is sent when the interval ends, replaced by any newer one meanwhile).
 */

export interface ThrottleSlot {
  /** When the last payload went out; undefined before the first. */
  lastSentMs: number | undefined;
  /** The last payload sent: an unchanged value is not sent again. */
  sentPayload: string | undefined;
  /** The latest payload held back, waiting for the interval to end. */
  pending: string | undefined;
}

export const EMPTY_SLOT: ThrottleSlot = { lastSentMs: undefined, sentPayload: undefined, pending: undefined };

export interface ThrottleStep {
  slot: ThrottleSlot;
  /** The payload to publish now, if any. */
  send: string | undefined;
  /** When to call `flushDue` for this slot, if a payload is held back. */
  wakeAtMs: number | undefined;
}

/** A new value for an entity. */
export function offerState(slot: ThrottleSlot, payload: string, nowMs: number, minIntervalMs: number): ThrottleStep {
  if (payload === slot.sentPayload) {
    // Home Assistant already shows this value; anything held back is outdated.
    return { slot: { ...slot, pending: undefined }, send: undefined, wakeAtMs: undefined };
  }
  if (slot.lastSentMs === undefined || nowMs - slot.lastSentMs >= minIntervalMs) {
    return {
      slot: { lastSentMs: nowMs, sentPayload: payload, pending: undefined },
      send: payload,
      wakeAtMs: undefined,
    };
  }
  return { slot: { ...slot, pending: payload }, send: undefined, wakeAtMs: slot.lastSentMs + minIntervalMs };
}

/** The interval of a slot with a held-back value may have ended: send it if so. */
export function flushDue(slot: ThrottleSlot, nowMs: number, minIntervalMs: number): ThrottleStep {
  if (slot.pending === undefined) return { slot, send: undefined, wakeAtMs: undefined };
  const dueMs = (slot.lastSentMs ?? nowMs) + minIntervalMs;
  if (nowMs < dueMs) return { slot, send: undefined, wakeAtMs: dueMs };
  return {
    slot: { lastSentMs: nowMs, sentPayload: slot.pending, pending: undefined },
    send: slot.pending,
    wakeAtMs: undefined,
  };
}

/** A value sent regardless of the interval (re-publishing after a reconnect or a Home Assistant restart). */
export function forceState(payload: string, nowMs: number): ThrottleSlot {
  return { lastSentMs: nowMs, sentPayload: payload, pending: undefined };
}
