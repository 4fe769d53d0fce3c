import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TARIFF_DEFAULTS, TariffError } from '@twc/core/prices/tariff';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTariff, loadTariffFile } from '../src/tariff-file.js';

async function asyncMessageOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TariffError);
    return (error as Error).message;
  }
  throw new Error('expected a TariffError');
}

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
});
