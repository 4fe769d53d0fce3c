import { describe, expect, it } from 'vitest';
import {
  type ControlState,
  commandResult,
  DEFAULT_CONTROL_SETTINGS,
  type Decision,
  decide,
  INITIAL_CONTROL_STATE,
  type Observation,
} from '../../src/planning/charge-control.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 11, 4, 0);

/** A car, a controller and the loop: the car obeys when the controller's answer says so. */
function loop(start: Partial<Observation> = {}) {
  let state: ControlState = INITIAL_CONTROL_STATE;
  const observed: Observation = {
    nowMs: T0,
    mode: 'smart',
    planSaysCharge: false,
    vehicleConnected: true,
    charging: true,
    ...start,
  };
  const sent: string[] = [];
  return {
    observed,
    sent,
    get state() {
      return state;
    },
    /** One step at `minutes` after T0; `answer` is the controller's answer to a command, `obeys` whether the car follows. */
    step(minutes: number, answer = true, obeys = answer): Decision {
      observed.nowMs = T0 + minutes * MINUTE;
      const decision = decide(state, observed);
      state = decision.state;
      if (decision.send) {
        sent.push(`${minutes}:${decision.send}`);
        state = commandResult(state, answer);
        if (obeys) observed.charging = decision.send === 'start';
      }
      return decision;
    },
  };
}

describe('decide', () => {
  it('stops the car when the plan says wait and starts it when the plan says charge', () => {
    const car = loop();
    expect(car.step(0)).toMatchObject({ send: 'stop', reason: 'plan_stop', chargingAllowed: false });
    expect(car.step(1)).toMatchObject({ send: null, reason: 'in_step' });
    expect(car.state.stoppedByUs).toBe(true);
    car.observed.planSaysCharge = true;
    expect(car.step(60)).toMatchObject({ send: 'start', reason: 'plan_start', chargingAllowed: true });
    expect(car.step(61)).toMatchObject({ send: null, reason: 'in_step' });
    expect(car.sent).toEqual(['0:stop', '60:start']);
  });

  it('lets the user win: charging started from the app after our stop holds until the car is unplugged', () => {
    const car = loop();
    car.step(0);
    car.step(5);
    car.observed.charging = true; // the Tesla app
    expect(car.step(10)).toMatchObject({ send: null, reason: 'user_override', chargingAllowed: true });
    expect(car.step(120)).toMatchObject({ send: null, reason: 'user_override' });
    car.observed.vehicleConnected = false;
    expect(car.step(300)).toMatchObject({ reason: 'unplugged', state: INITIAL_CONTROL_STATE });
    car.observed.vehicleConnected = true;
    car.observed.charging = true;
    expect(car.step(301)).toMatchObject({ send: 'stop' });
    expect(car.sent).toEqual(['0:stop', '301:stop']);
  });

  it('fails safe: after repeated failed stops it asks for charging and stops commanding stops', () => {
    const car = loop();
    const sends: (string | null)[] = [];
    // The controller refuses every command; the loop retries with a doubling backoff.
    for (let minute = 0; minute <= 60; minute++) sends.push(car.step(minute, false).send);
    expect(car.sent).toEqual(['0:stop', '1:stop', '3:stop', '7:stop']);
    expect(car.state.failSafe).toBe(true);
    const after = car.step(61, false);
    expect(after).toMatchObject({ chargingAllowed: true, reason: 'in_step', send: null });
    // The car is still charging (no stop got through): nothing more is sent while the plan says wait.
    for (let minute = 62; minute < 240; minute++) expect(car.step(minute, false).send).toBeNull();
  });

  it('starts a car it stopped again in fail-safe when the start fails at first, until it charges', () => {
    const car = loop();
    car.step(0); // stopped, ok
    car.observed.planSaysCharge = true;
    const results = [false, false, false, false, true];
    let minute = 1;
    while (!car.observed.charging && minute < 200) {
      const decision = decide(car.state, { ...car.observed, nowMs: T0 + minute * MINUTE });
      if (decision.send) car.step(minute, results.shift() ?? true);
      else car.step(minute);
      minute++;
    }
    expect(car.observed.charging).toBe(true);
    expect(car.sent.filter((entry) => entry.endsWith(':start'))).toHaveLength(5);
  });

  it('counts a command answered ok that the vitals never follow as a failure, and tries again', () => {
    const car = loop();
    // The controller says ok, the car keeps charging.
    expect(car.step(0, true, false).send).toBe('stop');
    expect(car.step(2).send).toBeNull();
    expect(car.step(3).send).toBeNull();
    // Settled (over 3 minutes) without the contactor opening: a failure, and the backoff since the
    // command (1 minute) is over, so it is sent again at once; it now works.
    const retry = car.step(4);
    expect(retry).toMatchObject({ send: 'stop', reason: 'plan_stop' });
    expect(car.state.failures).toBe(0);
    expect(car.observed.charging).toBe(false);
    expect(car.sent).toEqual(['0:stop', '4:stop']);
  });

  it('does not start a car it did not stop, and not one at its charge limit', () => {
    const idle = loop({ charging: false, planSaysCharge: true });
    expect(idle.step(0)).toMatchObject({ send: null, reason: 'start_allowed', chargingAllowed: true });
    const full = loop();
    full.step(0);
    full.observed.planSaysCharge = true;
    full.observed.complete = true;
    expect(full.step(30)).toMatchObject({ send: null, reason: 'complete' });
  });

  it('charges now and with smart charging off: a car we stopped is started, nothing is stopped', () => {
    const now = loop();
    now.step(0);
    now.observed.mode = 'charge_now';
    expect(now.step(10)).toMatchObject({ send: 'start', chargingAllowed: true, reason: 'release' });
    const off = loop({ mode: 'off' });
    expect(off.step(0)).toMatchObject({ send: null, chargingAllowed: true, reason: 'in_step' });
    const noPlan = loop({ planSaysCharge: undefined });
    expect(noPlan.step(0)).toMatchObject({ send: null, chargingAllowed: true });
  });

  it('paces commands: nothing new while one awaits its answer, the same one not repeated too soon', () => {
    const state = { ...INITIAL_CONTROL_STATE, lastCommand: { command: 'stop' as const, atMs: T0, ok: null } };
    const observation: Observation = {
      nowMs: T0 + MINUTE,
      mode: 'smart',
      planSaysCharge: false,
      vehicleConnected: true,
      charging: true,
    };
    expect(decide(state, observation).reason).toBe('waiting');
    // Answered ok a minute ago, the contactor still closed: given until it settles, not sent again.
    const answered = { ...state, lastCommand: { command: 'stop' as const, atMs: T0, ok: true } };
    expect(decide(answered, observation)).toMatchObject({ send: null, reason: 'waiting' });
    const settled = { ...observation, nowMs: T0 + DEFAULT_CONTROL_SETTINGS.settleMs + 1 };
    expect(decide(answered, settled).send).toBe('stop');
  });
});
