import { describe, expect, it } from 'vitest';
import { errorCode } from '../src/error-code.js';
import { createFailureLog } from '../src/failure-log.js';

describe('createFailureLog', () => {
  it('says to log the first failure of each kind in a streak, counts every one, and reports the streak at recovery', () => {
    const log = createFailureLog<'timeout' | 'refused'>();
    expect([log.failed('timeout'), log.failed('timeout'), log.failed('refused'), log.failed('timeout')]).toEqual([
      true,
      false,
      true,
      false,
    ]);
    expect(log.failing()).toBe(true);
    expect(log.recovered()).toBe(4);
    expect(log.failing()).toBe(false);
    expect(log.recovered()).toBe(0);
    // A new streak logs again.
    expect(log.failed('timeout')).toBe(true);
    expect(log.totals()).toEqual({ timeout: 4, refused: 1 });
  });
});

describe('errorCode', () => {
  it('finds the code on the error, in its cause chain, and inside an AggregateError', () => {
    expect(errorCode(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    const wrapped = new Error('fetch failed', { cause: Object.assign(new Error('y'), { code: 'UND_ERR_SOCKET' }) });
    expect(errorCode(wrapped)).toBe('UND_ERR_SOCKET');
    const happyEyeballs = new AggregateError([
      new Error('no code'),
      Object.assign(new Error('z'), { code: 'EHOSTUNREACH' }),
    ]);
    expect(errorCode(new Error('connect', { cause: happyEyeballs }))).toBe('EHOSTUNREACH');
    expect(errorCode('text')).toBeUndefined();
    expect(errorCode(new Error('plain'))).toBeUndefined();
  });
});
