import { describe, expect, it } from 'vitest';
import { classifyChannel, parseSubscribe, wants } from '../../src/live/live-hub.js';

describe('live hub decisions', () => {
  it('tells the channels apart by the collector key names', () => {
    expect(classifyChannel('twc:', 'twc:vitals:ACB1')).toEqual({ type: 'vitals', chargerId: 'ACB1' });
    expect(classifyChannel('twc:', 'twc:session:ACB1')).toEqual({ type: 'session', chargerId: 'ACB1' });
    expect(classifyChannel('twc:', 'twc:price')).toEqual({ type: 'price', chargerId: null });
    expect(classifyChannel('twc:', 'twc:price-forecast')).toEqual({ type: 'forecast', chargerId: null });
    expect(classifyChannel('twc:', 'twc:plan:ACB1')).toEqual({ type: 'plan', chargerId: 'ACB1' });
    // A control event names its charger in its payload; the settings channel is not for clients.
    expect(classifyChannel('twc:', 'twc:control-event')).toEqual({ type: 'control_event', chargerId: null });
    expect(classifyChannel('twc:', 'twc:plan-settings')).toBeUndefined();
    expect(classifyChannel('twc:', 'twc:vitals:')).toBeUndefined();
    expect(classifyChannel('twc:', 'other:vitals:ACB1')).toBeUndefined();
  });

  it('sends prices to everyone and charger updates to its subscribers', () => {
    expect(wants('all', 'A')).toBe(true);
    expect(wants('A', 'A')).toBe(true);
    expect(wants('B', 'A')).toBe(false);
    expect(wants('B', null)).toBe(true);
  });

  it('reads a subscribe message and nothing else', () => {
    expect(parseSubscribe('{"subscribe":"ACB1"}')).toBe('ACB1');
    expect(parseSubscribe('{"subscribe":"all"}')).toBe('all');
    expect(parseSubscribe('{"subscribe":""}')).toBeUndefined();
    expect(parseSubscribe('{"subscribe":42}')).toBeUndefined();
    expect(parseSubscribe('hello')).toBeUndefined();
    expect(parseSubscribe('null')).toBeUndefined();
  });
});
