import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadTariff,
  loadTariffFile,
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

async function asyncMessageOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
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

describe('tariff files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twc-tariff-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(name: string, content: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  }

  it('loads a YAML file with a time-of-use schedule', async () => {
    const path = await file(
      'tariff.yaml',
      [
        '# my bill, 2026',
        'deliveryCentsPerKwh: 6.8',
        'taxPercent: 2.5',
        'tou:',
        '  timeZone: America/Chicago',
        '  defaultCentsPerKwh: 7',
        '  periods:',
        '    - name: summer-peak',
        '      months: { from: 6, to: 9 }',
        '      weekdays: [mon, tue, wed, thu, fri]',
        '      hours: { from: 13, to: 19 }',
        '      centsPerKwh: 14.5',
      ].join('\n'),
    );
    expect(await loadTariffFile(path)).toEqual({
      tariff: { ...TARIFF_DEFAULTS, deliveryCentsPerKwh: 6.8, taxPercent: 2.5 },
      tou: {
        timeZone: 'America/Chicago',
        defaultCentsPerKwh: 7,
        periods: [
          {
            name: 'summer-peak',
            months: { from: 6, to: 9 },
            weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
            hours: { from: 13, to: 19 },
            centsPerKwh: 14.5,
          },
        ],
      },
    });
  });

  it('loads a JSON file', async () => {
    const path = await file('tariff.json', '{"flatRateCentsPerKwh": 16.2}');
    expect(await loadTariffFile(path)).toEqual({ tariff: { ...TARIFF_DEFAULTS, flatRateCentsPerKwh: 16.2 } });
  });

  it('names the file and the field when a value is bad', async () => {
    const path = await file('bad-field.yaml', 'taxPercent: 7.5\notherCentsPerKwh: lots\n');
    const message = await asyncMessageOf(loadTariffFile(path));
    expect(message).toContain(path);
    expect(message).toContain('otherCentsPerKwh');
  });

  it('names the field inside the time-of-use schedule', async () => {
    const path = await file(
      'bad-tou.yaml',
      'tou:\n  defaultCentsPerKwh: 5\n  periods:\n    - { name: p, centsPerKwh: 9, weekdays: [funday] }\n',
    );
    expect(await asyncMessageOf(loadTariffFile(path))).toContain('tou.periods.0.weekdays.0');
  });

  it('reports a file that is not YAML, an empty file and a missing file', async () => {
    const broken = await file('broken.yaml', 'deliveryCentsPerKwh: [6.8\n');
    expect(await asyncMessageOf(loadTariffFile(broken))).toContain(`${broken} is not valid YAML or JSON`);
    const empty = await file('empty.yaml', '');
    expect(await asyncMessageOf(loadTariffFile(empty))).toContain(`${empty} is empty`);
    const missing = join(dir, 'missing.yaml');
    expect(await asyncMessageOf(loadTariffFile(missing))).toContain(`cannot read tariff file ${missing} (ENOENT)`);
  });

  it('loadTariff: the file first, then each TARIFF_* value that is set', async () => {
    const path = await file('base.yaml', 'deliveryCentsPerKwh: 6.8\nflatRateCentsPerKwh: 15\n');
    expect(await loadTariff({ TARIFF_FILE: path, TARIFF_FLAT_RATE_CENTS_KWH: '18' })).toEqual({
      tariff: { ...TARIFF_DEFAULTS, deliveryCentsPerKwh: 6.8, flatRateCentsPerKwh: 18 },
    });
    expect(await loadTariff({})).toEqual({ tariff: TARIFF_DEFAULTS });
  });

  it('parseTariffFile rejects unknown top-level keys, naming them', () => {
    expect(messageOf(() => parseTariffFile({ touSchedule: {} }))).toContain('touSchedule');
  });
});
