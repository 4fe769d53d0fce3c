import { describe, expect, it } from 'vitest';
import {
  EMPTY_SLOT,
  flushDue,
  forceState,
  offerState,
  type ThrottleSlot,
} from '../../src/homeassistant/state-throttle.js';

const INTERVAL_MS = 10_000;

type Event = { atMs: number; offer: string } | { atMs: number; flush: true };

/** Replays offers and wake-ups; returns what went out and when. */
function replay(events: Event[]): { sent: Array<[number, string]>; wakes: number[]; slot: ThrottleSlot } {
  let slot = EMPTY_SLOT;
  const sent: Array<[number, string]> = [];
  const wakes: number[] = [];
  for (const event of events) {
    const step =
      'offer' in event
        ? offerState(slot, event.offer, event.atMs, INTERVAL_MS)
        : flushDue(slot, event.atMs, INTERVAL_MS);
    slot = step.slot;
    if (step.send !== undefined) sent.push([event.atMs, step.send]);
    if (step.wakeAtMs !== undefined) wakes.push(step.wakeAtMs);
  }
  return { sent, wakes, slot };
}

describe('state throttle', () => {
  it.each([
    {
      name: 'the first value goes out at once',
      events: [{ atMs: 0, offer: '1' }],
      sent: [[0, '1']],
      wakes: [],
    },
    {
      name: 'values within the interval are held back; the latest goes out when it ends',
      events: [
        { atMs: 0, offer: '1' },
        { atMs: 2000, offer: '2' },
        { atMs: 4000, offer: '3' },
        { atMs: 10_000, flush: true as const },
      ],
      sent: [
        [0, '1'],
        [10_000, '3'],
      ],
      wakes: [10_000, 10_000],
    },
    {
      name: 'a wake-up before the interval ends sends nothing and asks to wake at its end',
      events: [
        { atMs: 0, offer: '1' },
        { atMs: 2000, offer: '2' },
        { atMs: 9000, flush: true as const },
      ],
      sent: [[0, '1']],
      wakes: [10_000, 10_000],
    },
    {
      name: 'a value equal to the one sent is not sent again',
      events: [
        { atMs: 0, offer: '1' },
        { atMs: 20_000, offer: '1' },
      ],
      sent: [[0, '1']],
      wakes: [],
    },
    {
      name: 'going back to the sent value drops the held-back one',
      events: [
        { atMs: 0, offer: '1' },
        { atMs: 1000, offer: '2' },
        { atMs: 2000, offer: '1' },
        { atMs: 10_000, flush: true as const },
      ],
      sent: [[0, '1']],
      wakes: [10_000],
    },
    {
      name: 'a value after the interval goes out at once',
      events: [
        { atMs: 0, offer: '1' },
        { atMs: 10_000, offer: '2' },
        { atMs: 15_000, offer: '3' },
        { atMs: 20_000, flush: true as const },
      ],
      sent: [
        [0, '1'],
        [10_000, '2'],
        [20_000, '3'],
      ],
      wakes: [20_000],
    },
  ])('$name', ({ events, sent, wakes }) => {
    const result = replay(events);
    expect(result.sent).toEqual(sent);
    expect(result.wakes).toEqual(wakes);
  });

  it('sends everything at once with a zero interval', () => {
    let slot = EMPTY_SLOT;
    const sent: string[] = [];
    for (const value of ['1', '2', '3']) {
      const step = offerState(slot, value, 0, 0);
      slot = step.slot;
      if (step.send) sent.push(step.send);
    }
    expect(sent).toEqual(['1', '2', '3']);
  });

  it('a forced publication restarts the interval and clears what was held back', () => {
    const held = offerState(offerState(EMPTY_SLOT, '1', 0, INTERVAL_MS).slot, '2', 1000, INTERVAL_MS).slot;
    expect(held.pending).toBe('2');
    const forced = forceState('2', 3000);
    expect(forced).toEqual({ lastSentMs: 3000, sentPayload: '2', pending: undefined });
    expect(flushDue(forced, 20_000, INTERVAL_MS).send).toBeUndefined();
    expect(offerState(forced, '3', 5000, INTERVAL_MS)).toMatchObject({ send: undefined, wakeAtMs: 13_000 });
  });
});
