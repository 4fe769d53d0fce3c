import { describe, expect, it } from 'vitest';
import {
  parseTariff,
  parseTariffEnv,
  parseTariffFile,
  parseTouSchedule,
  TARIFF_DEFAULTS,
  TariffError,
} from '../../src/prices/tariff.js';

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TariffError);
    return (error as Error).message;
  }
  throw new Error('expected a TariffError');
}

describe('parseTariff', () => {
  it('fills every field from the defaults', () => {
    expect(parseTariff({})).toEqual(TARIFF_DEFAULTS);
    expect(parseTariff(undefined)).toEqual(TARIFF_DEFAULTS);
  });

  it('takes the given fields', () => {
    expect(parseTariff({ deliveryCentsPerKwh: 6.5, taxPercent: 7.5, otherCentsPerKwh: -0.2 })).toEqual({
      ...TARIFF_DEFAULTS,
      deliveryCentsPerKwh: 6.5,
      taxPercent: 7.5,
      otherCentsPerKwh: -0.2,
    });
  });

  it.each([
    [{ taxPercent: 150 }, 'taxPercent'],
    [{ deliveryCentsPerKwh: 'six' }, 'deliveryCentsPerKwh'],
    [{ deliveryCentsPerKwh: -1 }, 'deliveryCentsPerKwh'],
    [{ monthlyFixedUsd: null }, 'monthlyFixedUsd'],
    [{ flatRateCentsPerKwh: 0 }, 'flatRateCentsPerKwh'],
    [{ deliveryCentsKwh: 5 }, 'deliveryCentsKwh'],
  ])('%j: the error names %s', (input, field) => {
    expect(messageOf(() => parseTariff(input))).toContain(field);
  });

  it('names every bad field at once', () => {
    const message = messageOf(() => parseTariff({ taxPercent: -1, monthlyFixedUsd: 'x' }));
    expect(message).toContain('taxPercent');
    expect(message).toContain('monthlyFixedUsd');
  });

  it('refuses something that is not an object', () => {
    expect(messageOf(() => parseTariff('7.9'))).toMatch(/invalid tariff/);
  });
});

describe('parseTariffEnv', () => {
  it('overrides the fields that are set and ignores empty ones', () => {
    expect(
      parseTariffEnv({ TARIFF_DELIVERY_CENTS_KWH: '6.25', TARIFF_TAX_PERCENT: ' 3 ', TARIFF_OTHER_CENTS_KWH: '' }),
    ).toEqual({ ...TARIFF_DEFAULTS, deliveryCentsPerKwh: 6.25, taxPercent: 3 });
  });

  it('applies over a given base', () => {
    const base = { ...TARIFF_DEFAULTS, flatRateCentsPerKwh: 15 };
    expect(parseTariffEnv({ TARIFF_MONTHLY_FIXED_USD: '12.5' }, base)).toEqual({ ...base, monthlyFixedUsd: 12.5 });
  });

  it.each([
    [{ TARIFF_TAX_PERCENT: 'abc' }, 'TARIFF_TAX_PERCENT'],
    [{ TARIFF_TAX_PERCENT: '7.5%' }, 'TARIFF_TAX_PERCENT'],
    [{ TARIFF_DELIVERY_CENTS_KWH: '-3' }, 'TARIFF_DELIVERY_CENTS_KWH'],
    [{ TARIFF_FLAT_RATE_CENTS_KWH: '0' }, 'TARIFF_FLAT_RATE_CENTS_KWH'],
    [{ TARIFF_MONTHLY_FIXED_USD: '0x10' }, 'TARIFF_MONTHLY_FIXED_USD'],
  ])('%j: the error names %s', (values, variable) => {
    expect(messageOf(() => parseTariffEnv(values))).toContain(variable);
  });
});

describe('parseTouSchedule', () => {
  const valid = {
    defaultCentsPerKwh: 6,
    periods: [{ name: 'peak', centsPerKwh: 12, weekdays: ['mon'], hours: { from: 13, to: 19 } }],
  };

  it('accepts a valid schedule', () => {
    expect(parseTouSchedule(valid)).toEqual(valid);
  });

  it.each([
    [{ ...valid, timeZone: 'Mars/Olympus' }, 'tou.timeZone'],
    [{ periods: [] }, 'tou.defaultCentsPerKwh'],
    [{ ...valid, periods: [{ ...valid.periods[0], weekdays: ['monday'] }] }, 'tou.periods.0.weekdays.0'],
    [{ ...valid, periods: [{ ...valid.periods[0], hours: { from: 8, to: 8 } }] }, 'tou.periods.0.hours'],
    [{ ...valid, periods: [{ ...valid.periods[0], hours: { from: 8, to: 25 } }] }, 'tou.periods.0.hours.to'],
    [{ ...valid, periods: [{ ...valid.periods[0], months: { from: 0, to: 5 } }] }, 'tou.periods.0.months.from'],
    [{ ...valid, periods: [{ name: 'x' }] }, 'tou.periods.0.centsPerKwh'],
  ])('%j: the error names %s', (input, field) => {
    expect(messageOf(() => parseTouSchedule(input))).toContain(field);
  });
});

describe('parseTariffFile', () => {
  it('rejects unknown top-level keys, naming them', () => {
    expect(messageOf(() => parseTariffFile({ touSchedule: {} }))).toContain('touSchedule');
  });
});
