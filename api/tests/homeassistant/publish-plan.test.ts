import { describe, expect, it } from 'vitest';
import {
  confirmCleared,
  type DesiredMessage,
  type Plan,
  type Published,
  planFlush,
  planPublish,
  publishedFromLedger,
} from '../../src/homeassistant/publish-plan.js';

const INTERVAL_MS = 10_000;

const config = (topic: string, payload = '{"name":"Power"}'): DesiredMessage => ({ kind: 'config', topic, payload });
const availability = (topic: string, payload: string): DesiredMessage => ({ kind: 'availability', topic, payload });
const state = (topic: string, payload: string): DesiredMessage => ({ kind: 'state', topic, payload });

const POWER_CONFIG = 'homeassistant/sensor/twc_S1_power/config';
const POWER = 'twc/S1/power';
const AVAILABILITY = 'twc/S1/availability';
const GONE_CONFIG = 'homeassistant/sensor/twc_S2_power/config';
const GONE_POWER = 'twc/S2/power';
const GONE_AVAILABILITY = 'twc/S2/availability';

type Step =
  | { atMs: number; desired: DesiredMessage[]; force?: boolean; wanted?: string[] }
  | { atMs: number; flush: string }
  | { atMs: number; cleared: string };

interface Seen {
  record: readonly string[];
  clear: readonly string[];
  send: string[];
  wakes: Array<[string, number]>;
}

/** Runs the steps from `ledger`, returning what each plan said and the state at the end. */
function replay(steps: Step[], ledger: string[] = []): { seen: Seen[]; published: Published } {
  let published = publishedFromLedger(ledger);
  const seen: Seen[] = [];
  for (const step of steps) {
    if ('cleared' in step) {
      published = confirmCleared(published, step.cleared);
      continue;
    }
    const plan: Plan =
      'flush' in step
        ? planFlush(published, step.flush, step.atMs, INTERVAL_MS)
        : planPublish(published, step.desired, {
            force: step.force ?? false,
            nowMs: step.atMs,
            minIntervalMs: INTERVAL_MS,
            wanted: step.wanted ? new Set(step.wanted) : undefined,
          });
    published = plan.published;
    seen.push({
      record: plan.record,
      clear: plan.clear,
      send: plan.send.map((message) => `${message.topic}=${message.payload}`),
      wakes: [...plan.wakes],
    });
  }
  return { seen, published };
}

const NOTHING: Seen = { record: [], clear: [], send: [], wakes: [] };

describe('publish plan', () => {
  it.each<{ name: string; ledger?: string[]; steps: Step[]; seen: Seen[] }>([
    {
      name: 'the first sync sends everything in order and records every topic first',
      steps: [{ atMs: 0, desired: [config(POWER_CONFIG), availability(AVAILABILITY, 'online'), state(POWER, '7346')] }],
      seen: [
        {
          record: [POWER_CONFIG, AVAILABILITY, POWER],
          clear: [],
          send: [`${POWER_CONFIG}={"name":"Power"}`, `${AVAILABILITY}=online`, `${POWER}=7346`],
          wakes: [],
        },
      ],
    },
    {
      name: 'a topic an earlier run recorded is not recorded again',
      ledger: [POWER_CONFIG],
      steps: [{ atMs: 0, desired: [config(POWER_CONFIG), state(POWER, '1')] }],
      seen: [{ record: [POWER], clear: [], send: [`${POWER_CONFIG}={"name":"Power"}`, `${POWER}=1`], wakes: [] }],
    },
    {
      name: 'an unchanged config or availability is not sent again; a changed one is',
      steps: [
        { atMs: 0, desired: [config(POWER_CONFIG), availability(AVAILABILITY, 'online')] },
        { atMs: 20_000, desired: [config(POWER_CONFIG), availability(AVAILABILITY, 'online')] },
        { atMs: 20_001, desired: [config(POWER_CONFIG, '{"name":"Watts"}'), availability(AVAILABILITY, 'offline')] },
      ],
      seen: [
        {
          record: [POWER_CONFIG, AVAILABILITY],
          clear: [],
          send: [`${POWER_CONFIG}={"name":"Power"}`, `${AVAILABILITY}=online`],
          wakes: [],
        },
        NOTHING,
        { ...NOTHING, send: [`${POWER_CONFIG}={"name":"Watts"}`, `${AVAILABILITY}=offline`] },
      ],
    },
    {
      name: 'forced, everything goes out again, unchanged or not, and a state restarts its interval',
      steps: [
        { atMs: 0, desired: [config(POWER_CONFIG), availability(AVAILABILITY, 'online'), state(POWER, '1')] },
        {
          atMs: 1000,
          force: true,
          desired: [config(POWER_CONFIG), availability(AVAILABILITY, 'online'), state(POWER, '1')],
        },
        { atMs: 10_500, desired: [state(POWER, '2')] },
      ],
      seen: [
        {
          record: [POWER_CONFIG, AVAILABILITY, POWER],
          clear: [],
          send: [`${POWER_CONFIG}={"name":"Power"}`, `${AVAILABILITY}=online`, `${POWER}=1`],
          wakes: [],
        },
        { ...NOTHING, send: [`${POWER_CONFIG}={"name":"Power"}`, `${AVAILABILITY}=online`, `${POWER}=1`] },
        // Within the interval of the forced publication at 1000.
        { ...NOTHING, wakes: [[POWER, 11_000]] },
      ],
    },
    {
      name: 'states within the interval are held back; the latest goes out at the wake-up',
      steps: [
        { atMs: 0, desired: [state(POWER, '1')] },
        { atMs: 2000, desired: [state(POWER, '2')] },
        { atMs: 4000, desired: [state(POWER, '3')] },
        { atMs: 9000, flush: POWER },
        { atMs: 10_000, flush: POWER },
        { atMs: 30_000, flush: POWER },
      ],
      seen: [
        { ...NOTHING, record: [POWER], send: [`${POWER}=1`] },
        { ...NOTHING, wakes: [[POWER, 10_000]] },
        { ...NOTHING, wakes: [[POWER, 10_000]] },
        { ...NOTHING, wakes: [[POWER, 10_000]] },
        { ...NOTHING, send: [`${POWER}=3`] },
        NOTHING,
      ],
    },
    {
      name: 'a wake-up for a topic never published sends nothing',
      steps: [{ atMs: 0, flush: POWER }],
      seen: [NOTHING],
    },
    {
      name: 'recorded topics no longer wanted are cleared, configs first, whoever published them',
      ledger: [GONE_POWER, GONE_AVAILABILITY, GONE_CONFIG],
      steps: [
        {
          atMs: 0,
          desired: [config(POWER_CONFIG), state(POWER, '1')],
          wanted: [POWER_CONFIG, POWER, AVAILABILITY],
        },
      ],
      seen: [
        {
          record: [POWER_CONFIG, POWER],
          clear: [GONE_CONFIG, GONE_AVAILABILITY, GONE_POWER],
          send: [`${POWER_CONFIG}={"name":"Power"}`, `${POWER}=1`],
          wakes: [],
        },
      ],
    },
    {
      name: 'a clear is planned again until the broker has it',
      ledger: [GONE_POWER],
      steps: [
        { atMs: 0, desired: [], wanted: [] },
        { atMs: 1000, desired: [], wanted: [] },
        { atMs: 1500, cleared: GONE_POWER },
        { atMs: 2000, desired: [], wanted: [] },
      ],
      seen: [{ ...NOTHING, clear: [GONE_POWER] }, { ...NOTHING, clear: [GONE_POWER] }, NOTHING],
    },
    {
      name: 'without the wanted topics (a partial update, or no charger list yet) nothing is cleared',
      ledger: [GONE_CONFIG],
      steps: [{ atMs: 0, desired: [state(POWER, '1')] }],
      seen: [{ ...NOTHING, record: [POWER], send: [`${POWER}=1`] }],
    },
    {
      name: 'a cleared topic published again is sent as new and recorded again',
      steps: [
        { atMs: 0, desired: [availability(AVAILABILITY, 'online'), state(POWER, '1')] },
        { atMs: 1000, desired: [], wanted: [] },
        { atMs: 1001, cleared: AVAILABILITY },
        { atMs: 1002, cleared: POWER },
        { atMs: 2000, desired: [availability(AVAILABILITY, 'online'), state(POWER, '1')] },
      ],
      seen: [
        { ...NOTHING, record: [AVAILABILITY, POWER], send: [`${AVAILABILITY}=online`, `${POWER}=1`] },
        { ...NOTHING, clear: [AVAILABILITY, POWER] },
        // Within 10 s of the first publication of power, yet sent: the clear forgot it.
        { ...NOTHING, record: [AVAILABILITY, POWER], send: [`${AVAILABILITY}=online`, `${POWER}=1`] },
      ],
    },
  ])('$name', ({ ledger, steps, seen }) => {
    expect(replay(steps, ledger).seen).toEqual(seen);
  });

  it('leaves the state it was given untouched', () => {
    const before = publishedFromLedger([GONE_POWER]);
    const plan = planPublish(before, [state(POWER, '1'), config(POWER_CONFIG)], {
      force: false,
      nowMs: 0,
      minIntervalMs: INTERVAL_MS,
      wanted: new Set([POWER, POWER_CONFIG]),
    });
    expect(plan.published.recorded).toEqual(new Set([GONE_POWER, POWER, POWER_CONFIG]));
    expect(before).toEqual(publishedFromLedger([GONE_POWER]));
    expect(confirmCleared(plan.published, GONE_POWER).recorded).toEqual(new Set([POWER, POWER_CONFIG]));
    expect(plan.published.recorded.has(GONE_POWER)).toBe(true);
  });

  it('ends with every entity published once, the ledger holding exactly what is on the broker', () => {
    const { published } = replay([
      { atMs: 0, desired: [config(POWER_CONFIG), state(POWER, '1'), config(GONE_CONFIG), state(GONE_POWER, '2')] },
      { atMs: 1000, desired: [config(POWER_CONFIG), state(POWER, '1')], wanted: [POWER_CONFIG, POWER] },
      { atMs: 1001, cleared: GONE_CONFIG },
      { atMs: 1002, cleared: GONE_POWER },
    ]);
    expect(published.recorded).toEqual(new Set([POWER_CONFIG, POWER]));
    expect([...published.last.keys()]).toEqual([POWER_CONFIG]);
    expect([...published.slots.keys()]).toEqual([POWER]);
  });
});
