import { describe, expect, it } from 'vitest';
import {
  type ChargerHealth,
  INITIAL_HEALTH,
  recordVitalsPoll,
  vitalsDelayMs,
} from '../../src/collector/charger-health.js';

const rules = { offlineAfterFailures: 3 };
const ok = { ok: true } as const;
const fail = { ok: false, error: 'timeout: no answer' } as const;

function run(outcomes: ({ ok: true } | { ok: false; error: string })[]) {
  let health: ChargerHealth = INITIAL_HEALTH;
  const transitions: (string | undefined)[] = [];
  outcomes.forEach((outcome, i) => {
    const result = recordVitalsPoll(health, outcome, 1000 * i, rules);
    health = result.health;
    transitions.push(result.transition);
  });
  return { health, transitions };
}

describe('charger health', () => {
  it.each([
    { name: 'first answer brings it online', outcomes: [ok, ok], transitions: ['online', undefined], online: true },
    {
      name: 'two failures are not yet offline',
      outcomes: [ok, fail, fail],
      transitions: ['online', undefined, undefined],
      online: true,
    },
    {
      name: 'the third failure in a row makes it offline, once',
      outcomes: [ok, fail, fail, fail, fail, fail],
      transitions: ['online', undefined, undefined, 'offline', undefined, undefined],
      online: false,
    },
    {
      name: 'an answer in between resets the count',
      outcomes: [ok, fail, fail, ok, fail, fail],
      transitions: ['online', undefined, undefined, undefined, undefined, undefined],
      online: true,
    },
    {
      name: 'back online is reported once',
      outcomes: [ok, fail, fail, fail, ok, ok],
      transitions: ['online', undefined, undefined, 'offline', 'online', undefined],
      online: true,
    },
    {
      name: 'a charger never reached goes offline after three failures',
      outcomes: [fail, fail, fail],
      transitions: [undefined, undefined, 'offline'],
      online: false,
    },
  ])('$name', ({ outcomes, transitions, online }) => {
    const result = run(outcomes);
    expect(result.transitions).toEqual(transitions);
    expect(result.health.online).toBe(online);
  });

  it('keeps the last error and the last success time', () => {
    const { health } = run([ok, ok, fail]);
    expect(health.lastError).toBe('timeout: no answer');
    expect(health.lastSuccessMs).toBe(1000);
    expect(health.consecutiveFailures).toBe(1);
  });
});

describe('vitals delay', () => {
  it('is the interval when the charger answers', () => {
    expect(vitalsDelayMs(0, 5000, 300_000, 0.99)).toBe(5000);
  });

  it('doubles with each failure, within +-20% jitter, up to the cap', () => {
    const middle = (failures: number) => vitalsDelayMs(failures, 5000, 300_000, 0.5);
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map(middle)).toEqual([
      5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000,
    ]);
    expect(vitalsDelayMs(3, 5000, 300_000, 0)).toBe(16_000);
    expect(vitalsDelayMs(3, 5000, 300_000, 0.999_999)).toBe(24_000);
  });

  it('never waits less than the interval even with a cap below it', () => {
    expect(vitalsDelayMs(4, 5000, 1000, 0.5)).toBe(5000);
  });
});
