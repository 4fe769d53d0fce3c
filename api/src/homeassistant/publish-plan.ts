/**
 * What to send to the broker, decided from what Home Assistant should see
 * and what was sent before: pure, with the time passed in, so every rule is
 * tested without a broker.
 *
 * - Discovery configs and availability go out when their payload changed;
 *   all of them when forced (a (re)connection, or Home Assistant announcing
 *   itself: a broker without persistence has lost the retained messages).
 * - States are rate limited per entity (state-throttle.ts); forced, they go
 *   out at once and restart the interval.
 * - Every retained topic is recorded in a ledger (kept in Redis) before it is
 *   first published, so a topic no longer wanted is cleared even when an
 *   earlier run published it.
 * - A recorded topic that is no longer wanted is cleared with an empty
 *   retained payload (Home Assistant removes an entity on an empty config),
 *   discovery configs first; it leaves the ledger once the broker has the
 *   empty payload (`confirmCleared`), so a clear lost with the connection is
 *   sent again at the next sync.
 */
import { type TopicMessage, topicsToClear } from './discovery.js';
import { EMPTY_SLOT, flushDue, forceState, offerState, type ThrottleSlot } from './state-throttle.js';

export type MessageKind = 'config' | 'availability' | 'state';

export interface DesiredMessage extends TopicMessage {
  kind: MessageKind;
}

export interface Published {
  /** The last payload sent on each discovery config and availability topic. */
  readonly last: ReadonlyMap<string, string>;
  /** The throttle slot of each state topic. */
  readonly slots: ReadonlyMap<string, ThrottleSlot>;
  /** The ledger: every retained topic published and not cleared yet. */
  readonly recorded: ReadonlySet<string>;
}

/** Nothing sent yet in this run; `recorded` is the ledger as an earlier run left it. */
export function publishedFromLedger(recorded: Iterable<string>): Published {
  return { last: new Map(), slots: new Map(), recorded: new Set(recorded) };
}

export interface Plan {
  readonly published: Published;
  /** Topics to add to the ledger before anything is sent. */
  readonly record: readonly string[];
  /** Retained topics to clear (empty payload), in this order, before `send`. */
  readonly clear: readonly string[];
  /** Retained qos-1 publications, in this order. */
  readonly send: readonly TopicMessage[];
  /** State topics with a value held back, and when to call `planFlush` for each. */
  readonly wakes: ReadonlyMap<string, number>;
}

export interface PlanOptions {
  /** Send everything, changed or not. */
  force: boolean;
  nowMs: number;
  /** The least time between two state publications of one entity. */
  minIntervalMs: number;
  /**
   * Every topic that may be published now; recorded topics outside it are
   * cleared. Undefined clears nothing (a partial update, or the charger list
   * not read yet).
   */
  wanted?: ReadonlySet<string> | undefined;
}

/** Decides what of `desired` goes out now, and what is cleared. */
export function planPublish(published: Published, desired: readonly DesiredMessage[], options: PlanOptions): Plan {
  const last = new Map(published.last);
  const slots = new Map(published.slots);
  const clear = options.wanted ? topicsToClear(published.recorded, options.wanted) : [];
  for (const topic of clear) {
    last.delete(topic);
    slots.delete(topic);
  }
  const send: TopicMessage[] = [];
  const wakes = new Map<string, number>();
  for (const { kind, topic, payload } of desired) {
    if (kind !== 'state') {
      if (!options.force && last.get(topic) === payload) continue;
      last.set(topic, payload);
      send.push({ topic, payload });
      continue;
    }
    if (options.force) {
      slots.set(topic, forceState(payload, options.nowMs));
      send.push({ topic, payload });
      continue;
    }
    const step = offerState(slots.get(topic) ?? EMPTY_SLOT, payload, options.nowMs, options.minIntervalMs);
    slots.set(topic, step.slot);
    if (step.send !== undefined) send.push({ topic, payload: step.send });
    if (step.wakeAtMs !== undefined) wakes.set(topic, step.wakeAtMs);
  }
  return withLedger({ last, slots, recorded: published.recorded }, clear, send, wakes);
}

/** A state topic's wake-up: sends the value held back if its interval has ended. */
export function planFlush(published: Published, topic: string, nowMs: number, minIntervalMs: number): Plan {
  const slot = published.slots.get(topic);
  if (!slot) return withLedger(published, [], [], new Map());
  const step = flushDue(slot, nowMs, minIntervalMs);
  const slots = new Map(published.slots).set(topic, step.slot);
  const send = step.send === undefined ? [] : [{ topic, payload: step.send }];
  const wakes = new Map(step.wakeAtMs === undefined ? [] : [[topic, step.wakeAtMs]]);
  return withLedger({ ...published, slots }, [], send, wakes);
}

/** The broker has the empty payload of `topic` and the ledger dropped it. */
export function confirmCleared(published: Published, topic: string): Published {
  if (!published.recorded.has(topic)) return published;
  const recorded = new Set(published.recorded);
  recorded.delete(topic);
  return { ...published, recorded };
}

function withLedger(
  published: Published,
  clear: readonly string[],
  send: readonly TopicMessage[],
  wakes: ReadonlyMap<string, number>,
): Plan {
  const record = [...new Set(send.map((message) => message.topic))].filter((topic) => !published.recorded.has(topic));
  const recorded = record.length === 0 ? published.recorded : new Set([...published.recorded, ...record]);
  return { published: { ...published, recorded }, record, clear, send, wakes };
}
