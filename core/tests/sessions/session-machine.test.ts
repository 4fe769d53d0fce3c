import { describe, expect, it } from 'vitest';
import { FIVE_MINUTES_MS } from '../../src/prices/comed-clock.js';
import type { IntervalEnergy } from '../../src/sessions/interval-energy.js';
import {
  type ChargingSession,
  DEFAULT_SESSION_CONFIG,
  expireSessionState,
  initialSessionState,
  nextSessionState,
  type SessionConfig,
  type SessionEvent,
  type SessionMachineState,
  type SessionSample,
} from '../../src/sessions/session-machine.js';

const CHARGER = 'garage';
// 2026-01-15 00:00 in Chicago (CST, UTC-6): on the 5-minute and hour grids.
const T0 = Date.UTC(2026, 0, 15, 6, 0, 0);
const at = (seconds: number): number => T0 + seconds * 1000;
const idAt = (seconds: number): string => `${CHARGER}-${at(seconds)}`;

/** A sample `seconds` after T0 with the car connected, contactor open, counter 0. */
function sample(seconds: number, fields: Partial<SessionSample> = {}): SessionSample {
  return {
    timeMs: at(seconds),
    vehicleConnected: true,
    contactorClosed: false,
    sessionEnergyWh: 0,
    sessionS: null,
    uptimeS: 50_000 + seconds,
    powerW: 0,
    handleTempC: 20,
    ...fields,
  };
}

/** Charging: contactor closed at 11 kW. */
function charging(seconds: number, sessionS: number | null, sessionEnergyWh: number | null, extra = {}): SessionSample {
  return sample(seconds, { sessionS, sessionEnergyWh, contactorClosed: true, powerW: 11_000, ...extra });
}

function gone(seconds: number, fields: Partial<SessionSample> = {}): SessionSample {
  return sample(seconds, { vehicleConnected: false, sessionS: 0, ...fields });
}

interface Run {
  state: SessionMachineState;
  steps: SessionEvent[][];
}

function run(samples: SessionSample[], config: SessionConfig, roundTrip: boolean): Run {
  let state = initialSessionState(CHARGER);
  const steps: SessionEvent[][] = [];
  for (const input of samples) {
    const result = nextSessionState(state, input, config);
    // Plain JSON: what is checkpointed is exactly what the machine holds.
    expect(JSON.parse(JSON.stringify(result.state))).toStrictEqual(result.state);
    state = roundTrip ? JSON.parse(JSON.stringify(result.state)) : result.state;
    steps.push(result.events);
  }
  return { state, steps };
}

function closedSessions(steps: SessionEvent[][]): ChargingSession[] {
  return steps.flat().flatMap((event) => (event.type === 'session_closed' ? [event.session] : []));
}

function openSession(steps: SessionEvent[][]): ChargingSession | null {
  const last = steps.flat().at(-1);
  if (!last || last.type === 'gap_detected' || last.type === 'session_closed') return null;
  return last.session;
}

function expectIntervals(actual: IntervalEnergy[], expected: IntervalEnergy[]): void {
  expect(actual.map((entry) => entry.startMs)).toEqual(expected.map((entry) => entry.startMs));
  expected.forEach((entry, i) => {
    expect(actual[i]?.energyWh).toBeCloseTo(entry.energyWh, 9);
  });
}

function expectSession(actual: ChargingSession | null | undefined, expected: Partial<ChargingSession>): void {
  expect(actual).toBeTruthy();
  const session = actual as ChargingSession;
  for (const [key, value] of Object.entries(expected)) {
    const got = session[key as keyof ChargingSession];
    if (key === 'energyByInterval') expectIntervals(got as IntervalEnergy[], value as IntervalEnergy[]);
    else if (typeof value === 'number') expect(got, key).toBeCloseTo(value, 9);
    else expect(got, key).toEqual(value);
  }
  // The per-interval energy always adds up to the session's energy.
  const intervalSum = session.energyByInterval.reduce((sum, entry) => sum + entry.energyWh, 0);
  expect(intervalSum).toBeCloseTo(session.energyWh, 9);
}

interface Case {
  name: string;
  samples: SessionSample[];
  config?: SessionConfig;
  closed: Partial<ChargingSession>[];
  open: Partial<ChargingSession> | null;
  /** Event types of each step, when the case is about which events fire. */
  eventTypes?: string[][];
}

const started = ['session_started'];
const updated = ['session_updated'];
const closed = ['session_closed'];

const cases: Case[] = [
  {
    name: 'plain session: plug in, charge, finish, unplug',
    samples: [
      gone(0),
      sample(10, { sessionS: 4 }),
      // contactor closes between t=10 and t=20: half of that 10 s counts as charging
      charging(20, 14, 20),
      charging(30, 24, 50, { powerW: 11_500, handleTempC: 30 }),
      sample(40, { sessionS: 34, sessionEnergyWh: 60, handleTempC: 25 }),
      gone(50),
      gone(80),
    ],
    closed: [
      {
        id: idAt(6),
        chargerId: CHARGER,
        startTimeMs: at(6), // t=10 with session_s 4
        endTimeMs: at(50), // the first sample without the car, not the debounce expiry
        endReason: 'unplugged',
        durationS: 44,
        chargingS: 20, // 5 + 10 + 5
        energyWh: 60,
        peakPowerW: 11_500,
        avgPowerW: 10_800, // 60 Wh over 20 s
        maxHandleTempC: 30,
        segments: 1,
        gaps: [],
        energyByInterval: [{ startMs: at(0), energyWh: 60 }],
        observedFromPlugIn: true,
        unobservedCounterWh: null,
        lastSampleMs: at(80),
      },
    ],
    open: null,
    eventTypes: [[], started, updated, updated, updated, updated, closed],
  },
  {
    name: 'collector started in the middle of a session: start backdated by session_s',
    samples: [charging(0, 3600, 5000), charging(10, 3610, 5030), charging(20, 3620, 5060), gone(30), gone(60)],
    closed: [
      {
        id: idAt(-3600),
        startTimeMs: at(-3600),
        endTimeMs: at(30),
        durationS: 3630,
        observedFromPlugIn: false,
        // what the counter held when first seen: unpriceable, so not in energyWh
        unobservedCounterWh: 5000,
        energyWh: 60,
        chargingS: 25, // 10 + 10 + half of the 10 s up to the unplug
        segments: 1,
        energyByInterval: [{ startMs: at(0), energyWh: 60 }],
      },
    ],
    open: null,
    eventTypes: [started, updated, updated, updated, closed],
  },
  {
    name: 'brief disconnect (plug re-seated) within the debounce continues the same session',
    samples: [
      gone(0),
      sample(10, { sessionS: 2 }),
      charging(20, 12, 10, { powerW: 7000 }),
      gone(30), // counter reset at unplug
      gone(40),
      charging(50, 5, 5, { powerW: 7000 }), // 20 s after the unplug: same session, a new counter segment
      charging(60, 15, 25, { powerW: 7000 }),
      gone(70),
      gone(100),
    ],
    closed: [
      {
        id: idAt(8),
        startTimeMs: at(8),
        endTimeMs: at(70),
        durationS: 62,
        energyWh: 35, // 10 + 5 + 20
        segments: 2,
        chargingS: 30, // 5 + 5 + 0 + 5 + 10 + 5
        peakPowerW: 7000,
        endReason: 'unplugged',
      },
    ],
    open: null,
    eventTypes: [[], started, updated, updated, updated, updated, updated, updated, closed],
  },
  {
    name: 'disconnect longer than the debounce closes at the unplug; the next plug-in is a new session',
    samples: [
      gone(0),
      sample(10, { sessionS: 1 }),
      charging(20, 11, 15, { powerW: 7000 }),
      gone(30),
      gone(45),
      gone(60), // 30 s after the unplug
      gone(85),
      sample(90, { sessionS: 2 }),
      charging(100, 12, 20, { powerW: 7000 }),
    ],
    closed: [
      { id: idAt(9), startTimeMs: at(9), endTimeMs: at(30), durationS: 21, energyWh: 15, endReason: 'unplugged' },
    ],
    open: {
      id: idAt(88),
      startTimeMs: at(88),
      endTimeMs: null,
      endReason: null,
      energyWh: 20,
      observedFromPlugIn: true,
    },
    eventTypes: [[], started, updated, updated, updated, closed, [], started, updated],
  },
  {
    name: 'counter reset mid-session: a new segment, energy neither lost nor doubled',
    samples: [
      gone(0),
      sample(10, { sessionS: 5 }),
      charging(20, 15, 100),
      charging(30, 25, 200),
      charging(40, 35, 15), // reset, then 15 Wh since
      charging(50, 45, 115),
      gone(60),
      gone(90),
    ],
    closed: [
      {
        energyWh: 315,
        segments: 2,
        energyByInterval: [{ startMs: at(0), energyWh: 315 }],
      },
    ],
    open: null,
  },
  {
    name: 'counter keeps the old total after the charge, session_s reads 0 while plugged; next car resets at contactor close',
    samples: [
      gone(0),
      sample(10, { sessionS: 5 }),
      charging(20, 15, 100),
      charging(30, 25, 200),
      sample(40, { sessionS: 0, sessionEnergyWh: 200 }), // finished, still plugged in
      sample(50, { sessionS: 0, sessionEnergyWh: 200 }),
      gone(60, { sessionEnergyWh: 200 }), // this firmware keeps the total after unplug
      gone(90, { sessionEnergyWh: 200 }),
      gone(100, { sessionEnergyWh: 200 }),
      sample(110, { sessionS: 4, sessionEnergyWh: 200 }), // the old total is not this car's energy
      charging(120, 14, 12), // reset at contactor close: 12 Wh since
      charging(130, 24, 50),
    ],
    closed: [{ id: idAt(5), endTimeMs: at(60), energyWh: 200, segments: 1, endReason: 'unplugged' }],
    open: { id: idAt(106), startTimeMs: at(106), energyWh: 50, segments: 1 },
  },
  {
    name: 'charger reboot while charging: the session continues, session_s restarting is not a car swap',
    samples: [
      charging(0, 600, 100, { uptimeS: 5000 }),
      charging(10, 610, 130, { uptimeS: 5010 }),
      charging(50, 15, 8, { uptimeS: 15 }), // rebooted: uptime, session_s and counter restarted
      charging(60, 25, 40, { uptimeS: 25 }),
      charging(70, 35, 70, { uptimeS: 35 }),
    ],
    closed: [],
    open: {
      id: idAt(-600),
      startTimeMs: at(-600),
      energyWh: 100, // 30 + 8 + 32 + 30
      segments: 2,
      chargingS: 70,
      gaps: [],
      durationS: 670,
    },
    eventTypes: [started, updated, updated, updated, updated],
  },
  {
    name: 'car swapped between two polls: the old session ends at its last sample, the new one starts at its plug-in',
    samples: [
      gone(0),
      sample(10, { sessionS: 5 }),
      charging(20, 15, 30),
      charging(30, 25, 60),
      sample(35, { sessionS: 3, sessionEnergyWh: 0 }), // another car, plugged in 3 s ago
      charging(45, 13, 25, { powerW: 7000 }),
    ],
    closed: [
      { id: idAt(5), startTimeMs: at(5), endTimeMs: at(30), endReason: 'vehicle_swapped', energyWh: 60, durationS: 25 },
    ],
    open: { id: idAt(32), startTimeMs: at(32), energyWh: 25, peakPowerW: 7000, observedFromPlugIn: true },
    eventTypes: [[], started, updated, updated, ['session_closed', 'session_started'], updated],
  },
  {
    name: "readings 20 s off their stamps (an accelerated simulation's latency) are no new car with the slack to match",
    config: { ...DEFAULT_SESSION_CONFIG, readingSlackMs: 60_000 },
    samples: [
      gone(0),
      // Answered late: session_s says plug-in at 5 s.
      sample(30, { sessionS: 25 }),
      // Answered at once: session_s says plug-in at 25 s, 20 s later than the first reading did.
      charging(40, 15, 30),
      charging(50, 25, 60),
    ],
    closed: [],
    open: { id: idAt(5), startTimeMs: at(5), energyWh: 60 },
    eventTypes: [[], started, updated, updated],
  },
  {
    name: 'the same readings with the default slack of 5 s: a car swap',
    samples: [gone(0), sample(30, { sessionS: 25 }), charging(40, 15, 30), charging(50, 25, 60)],
    closed: [{ id: idAt(5), startTimeMs: at(5), endTimeMs: at(30), endReason: 'vehicle_swapped', energyWh: 0 }],
    open: { id: idAt(30), startTimeMs: at(30), energyWh: 60 },
    eventTypes: [[], started, ['session_closed', 'session_started'], updated],
  },
  {
    name: 'session_s going down to a value older than the previous sample is not a new car',
    samples: [gone(0), sample(10, { sessionS: 100 }), charging(20, 110, 30), charging(25, 12, 45)],
    closed: [],
    open: { id: idAt(0), energyWh: 45 },
    eventTypes: [[], started, updated, updated],
  },
  {
    name: 'short gap with the car still there: recorded, its energy spread over the gap',
    samples: [
      gone(190),
      sample(200, { sessionS: 3 }),
      charging(250, 53, 100), // 50 s after the previous sample: all in the interval holding t=250
      charging(400, 203, 400), // 150 s gap: 300 Wh over (250 s, 400 s]
      charging(410, 213, 430),
    ],
    closed: [],
    open: {
      id: idAt(197),
      gaps: [{ fromMs: at(250), toMs: at(400) }],
      energyWh: 430,
      energyByInterval: [
        { startMs: at(0), energyWh: 200 }, // 100 + 300 x 50/150
        { startMs: at(300), energyWh: 230 }, // 300 x 100/150 + 30
      ],
    },
    eventTypes: [[], started, updated, ['gap_detected', 'session_updated'], updated],
  },
  {
    name: 'gap during which the car left and a car was plugged in: split into two sessions',
    samples: [
      gone(0),
      sample(10, { sessionS: 4 }),
      charging(20, 14, 30),
      charging(320, 120, 24), // 300 s later, plugged in 120 s ago; counter reset, 24 Wh since
    ],
    closed: [{ id: idAt(6), endTimeMs: at(20), endReason: 'gap_unplugged', energyWh: 30, gaps: [] }],
    open: {
      id: idAt(200),
      startTimeMs: at(200),
      energyWh: 24,
      gaps: [],
      // the 24 Wh spread over (200 s, 320 s]: 100 s before the 300 s boundary, 20 s after
      energyByInterval: [
        { startMs: at(0), energyWh: 20 },
        { startMs: at(300), energyWh: 4 },
      ],
    },
    eventTypes: [[], started, updated, ['gap_detected', 'session_closed', 'session_started']],
  },
  {
    name: 'gap with a replug after a finished charge read session_s 0: still split',
    samples: [
      gone(0),
      sample(10, { sessionS: 5 }),
      charging(20, 15, 30),
      sample(30, { sessionS: 0, sessionEnergyWh: 30 }),
      charging(400, 100, 12), // plugged in at 300 s, during the gap
    ],
    closed: [{ id: idAt(5), endTimeMs: at(30), endReason: 'gap_unplugged', energyWh: 30 }],
    open: { id: idAt(300), energyWh: 12, energyByInterval: [{ startMs: at(300), energyWh: 12 }] },
    eventTypes: [[], started, updated, updated, ['gap_detected', 'session_closed', 'session_started']],
  },
  {
    name: 'reboot during a gap: session_s restarted with the charger, so the same session continues',
    samples: [
      charging(0, 600, 100, { uptimeS: 5000 }),
      charging(10, 610, 130, { uptimeS: 5010 }),
      charging(200, 90, 20, { uptimeS: 90 }),
    ],
    closed: [],
    open: { id: idAt(-600), energyWh: 50, segments: 2, gaps: [{ fromMs: at(10), toMs: at(200) }] },
    eventTypes: [started, updated, ['gap_detected', 'session_updated']],
  },
  {
    name: 'gap after which the car is gone: closes at the last time it was seen',
    samples: [gone(0), sample(10, { sessionS: 4 }), charging(20, 14, 30), gone(200), gone(230)],
    closed: [
      {
        id: idAt(6),
        endTimeMs: at(20),
        endReason: 'gap_unplugged',
        durationS: 14,
        chargingS: 5,
        energyWh: 30,
        gaps: [],
        lastSampleMs: at(230),
      },
    ],
    open: null,
    eventTypes: [[], started, updated, ['gap_detected', 'session_updated'], closed],
  },
  {
    name: 'null counters contribute nothing and do not break the segments',
    samples: [
      gone(0),
      sample(10, { sessionS: 5 }),
      charging(20, 15, null),
      charging(30, 25, 50),
      charging(40, 35, null),
      charging(50, 45, null),
      charging(60, 55, 120),
      charging(70, 65, null),
      charging(80, 75, 20), // lower than the last reading (120): a new segment
      gone(90),
      gone(120),
    ],
    closed: [{ energyWh: 140, segments: 2 }],
    open: null,
  },
  {
    name: 'energy between two samples belongs to the interval holding the later one',
    samples: [
      gone(280),
      sample(290, { sessionS: 5 }),
      charging(295, 10, 10),
      charging(300, 15, 20), // on the boundary: closes the interval 0-300 s (stamped 0)
      charging(305, 20, 30),
      charging(310, 25, 45),
    ],
    closed: [],
    open: {
      energyByInterval: [
        { startMs: at(0), energyWh: 20 },
        { startMs: at(0) + FIVE_MINUTES_MS, energyWh: 25 },
      ],
    },
  },
  {
    name: 'duplicate and out-of-order samples are ignored',
    samples: [
      gone(0),
      sample(10, { sessionS: 5 }),
      charging(20, 15, 30),
      charging(20, 15, 999),
      charging(15, 10, 500),
      charging(30, 25, 40),
    ],
    closed: [],
    open: { energyWh: 40 },
    eventTypes: [[], started, updated, [], [], updated],
  },
  {
    name: 'configured debounce and gap threshold',
    config: { unplugDebounceMs: 120_000, gapThresholdMs: 300_000 },
    samples: [
      gone(0),
      sample(10, { sessionS: 5 }),
      charging(20, 15, 30),
      gone(30),
      charging(120, 10, 5), // 90 s away: within the 120 s debounce
      charging(400, 290, 65), // 280 s since the last sample: below the 300 s threshold, not a gap
    ],
    closed: [],
    open: { id: idAt(5), energyWh: 95, gaps: [] },
  },
];

describe('nextSessionState', () => {
  describe.each(cases)('$name', (testCase) => {
    const config = testCase.config ?? DEFAULT_SESSION_CONFIG;

    it('produces the expected sessions and events', () => {
      const { steps } = run(testCase.samples, config, false);
      const closedList = closedSessions(steps);
      expect(closedList).toHaveLength(testCase.closed.length);
      testCase.closed.forEach((expected, i) => {
        expectSession(closedList[i], expected);
      });
      const open = openSession(steps);
      if (testCase.open === null) expect(open).toBeNull();
      else expectSession(open, testCase.open);
      if (testCase.eventTypes)
        expect(steps.map((events) => events.map((event) => event.type))).toEqual(testCase.eventTypes);
    });

    it('behaves identically when the state goes through JSON at every step (checkpoint and restore)', () => {
      const direct = run(testCase.samples, config, false);
      const restored = run(testCase.samples, config, true);
      expect(restored.steps).toStrictEqual(direct.steps);
      expect(restored.state).toStrictEqual(direct.state);
    });
  });

  it('keeps the session id across a restart from the checkpoint, so rewrites replace rather than duplicate', () => {
    const before = run([gone(0), sample(10, { sessionS: 5 }), charging(20, 15, 30)], DEFAULT_SESSION_CONFIG, false);
    const checkpoint = JSON.stringify(before.state);
    // the collector was killed for two minutes, then restored the checkpoint
    const after = nextSessionState(JSON.parse(checkpoint), charging(140, 135, 300));
    expect(after.events.map((event) => event.type)).toEqual(['gap_detected', 'session_updated']);
    const session = openSession([after.events]);
    expectSession(session, { id: idAt(5), energyWh: 300, gaps: [{ fromMs: at(20), toMs: at(140) }] });
  });

  it('reports the gap with the open session id', () => {
    const { steps } = run([gone(0), sample(10, { sessionS: 5 }), charging(100, 95, 30)], DEFAULT_SESSION_CONFIG, false);
    expect(steps[2]?.[0]).toEqual({
      type: 'gap_detected',
      chargerId: CHARGER,
      sessionId: idAt(5),
      gap: { fromMs: at(10), toMs: at(100) },
    });
  });

  it('reports a gap with no session open without a session id', () => {
    const { steps } = run([gone(0), gone(100)], DEFAULT_SESSION_CONFIG, false);
    expect(steps[1]).toEqual([
      { type: 'gap_detected', chargerId: CHARGER, sessionId: null, gap: { fromMs: at(0), toMs: at(100) } },
    ]);
  });

  it.each([
    ['timeMs', { timeMs: Number.NaN }],
    ['powerW', { powerW: Number.POSITIVE_INFINITY }],
    ['sessionEnergyWh', { sessionEnergyWh: Number.NaN }],
    ['sessionEnergyWh', { sessionEnergyWh: -5 }],
  ])('rejects an unusable %s with a clear error and leaves the state alone', (field, bad) => {
    const state = initialSessionState(CHARGER);
    const copy = JSON.parse(JSON.stringify(state));
    expect(() => nextSessionState(state, sample(10, bad))).toThrow(new RegExp(`${field} must`));
    expect(state).toStrictEqual(copy);
  });
});

describe('expireSessionState', () => {
  const pending = run(
    [gone(0), sample(10, { sessionS: 5 }), charging(20, 15, 30), gone(30)],
    DEFAULT_SESSION_CONFIG,
    false,
  ).state;

  it.each([
    { name: 'before the debounce has run out: nothing', nowMs: at(59), closes: false },
    { name: 'once it has run out: closed at the unplug', nowMs: at(60), closes: true },
  ])('$name', ({ nowMs, closes }) => {
    const { state, events } = expireSessionState(pending, nowMs);
    if (!closes) {
      expect(events).toEqual([]);
      expect(state).toBe(pending);
      return;
    }
    expect(events.map((event) => event.type)).toEqual(['session_closed']);
    expectSession(openOrClosed(events), { id: idAt(5), endTimeMs: at(30), endReason: 'unplugged', energyWh: 30 });
    expect(state.session).toBeNull();
    // a car seen after the expiry starts a new session, never overlapping the closed one
    const next = nextSessionState(state, sample(90, { sessionS: 2 }));
    expect(next.events.map((event) => event.type)).toEqual(['session_started']);
    expectSession(openSession([next.events]), { id: idAt(88), startTimeMs: at(88) });
  });

  it('leaves a session whose car is still there alone', () => {
    const plugged = run([gone(0), sample(10, { sessionS: 5 })], DEFAULT_SESSION_CONFIG, false).state;
    expect(expireSessionState(plugged, at(10_000)).events).toEqual([]);
  });
});

function openOrClosed(events: SessionEvent[]): ChargingSession | null {
  const event = events.at(-1);
  return event && event.type !== 'gap_detected' ? event.session : null;
}
