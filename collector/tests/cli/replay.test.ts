import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { replayCommand } from '../../src/cli/commands/replay.js';
import { createChargerModel } from '../../src/simulator/charger-model.js';
import { generatedPriceCents } from '../../src/simulator/comed-server.js';
import { buildVitals } from '../../src/simulator/payloads.js';
import { runCommand } from './run-command.js';

// 19:00 Chicago standard time: the charge runs into the evening's price shape.
const START_MS = Date.UTC(2026, 0, 14, 1, 0, 0);
const SAMPLE_MS = 5_000;
const MINUTE_MS = 60_000;
const FIVE_MINUTES_MS = 5 * MINUTE_MS;
const HOUR_MS = 60 * MINUTE_MS;
const PRICE_SEED = 11;
/** TARIFF_DEFAULTS: delivery 7.9 + other 2.0 cents/kWh, no percentage tax, flat rate 17. */
const DEFAULT_ADDERS_CENTS = 9.9;
const FLAT_RATE_CENTS = 17;

const model = createChargerModel({ index: 0, seed: 5, startTimeMs: START_MS, scenario: 'session' });
const plannedSession = model.truth(START_MS + 24 * HOUR_MS).sessions[0];
if (!plannedSession || plannedSession.unplugMs === null) throw new Error('the session scenario did not end in a day');
const PLUG_IN_MS = plannedSession.plugInMs;
const UNPLUG_MS = plannedSession.unplugMs;

interface RecordedSample {
  t: number;
  vitals: Record<string, unknown>;
}

/** What the collector would have polled every 5 s from START_MS up to `untilMs`. */
function record(untilMs: number): RecordedSample[] {
  const samples: RecordedSample[] = [];
  for (let t = START_MS; t <= untilMs; t += SAMPLE_MS) {
    samples.push({ t, vitals: { ...buildVitals(model.stateAt(t), 'new') } });
  }
  return samples;
}

const toLines = (samples: readonly RecordedSample[]) => samples.map((sample) => JSON.stringify(sample));

// The car is seen gone, and the recording runs past the 30-second unplug debounce.
const FULL = record(UNPLUG_MS + 2 * MINUTE_MS);

/** Every 5-minute price of the hours around the recording, in ComEd's 5minutefeed shape (newest first, strings). */
function priceFeed(fromMs: number, toMs: number): string {
  const entries: { millisUTC: string; price: string }[] = [];
  for (let stamp = fromMs; stamp < toMs; stamp += FIVE_MINUTES_MS) {
    entries.push({ millisUTC: String(stamp), price: String(generatedPriceCents(PRICE_SEED, stamp)) });
  }
  return JSON.stringify(entries.reverse());
}
const PRICES_FROM_MS = Math.floor(START_MS / HOUR_MS) * HOUR_MS - HOUR_MS;
const PRICES_TO_MS = Math.ceil(UNPLUG_MS / HOUR_MS) * HOUR_MS + HOUR_MS;

/**
 * The test's own account of the charge: the device's session counter,
 * difference by difference while the car is connected (a drop means it
 * restarted from zero), each difference in the 5-minute interval that holds
 * the later sample, keyed here by the interval's end; ComEd stamps the
 * interval's price with its start, five minutes earlier.
 */
function energyByIntervalOf(samples: readonly RecordedSample[]): Map<number, number> {
  const byInterval = new Map<number, number>();
  for (let i = 1; i < samples.length; i++) {
    const previous = samples[i - 1] as RecordedSample;
    const current = samples[i] as RecordedSample;
    if (current.vitals.vehicle_connected !== true) continue;
    const before = previous.vitals.session_energy_wh as number;
    const after = current.vitals.session_energy_wh as number;
    const deltaWh = after >= before ? after - before : after;
    if (deltaWh === 0) continue;
    const intervalEndMs = Math.ceil(current.t / FIVE_MINUTES_MS) * FIVE_MINUTES_MS;
    byInterval.set(intervalEndMs, (byInterval.get(intervalEndMs) ?? 0) + deltaWh);
  }
  return byInterval;
}

/** The hour holding the interval ending `intervalEndMs` averages the twelve prices stamped H - 60 min .. H - 5 min. */
function hourlyAverageCents(intervalEndMs: number): number {
  const hourEndMs = Math.ceil(intervalEndMs / HOUR_MS) * HOUR_MS;
  let sum = 0;
  for (let k = 1; k <= 12; k++) sum += generatedPriceCents(PRICE_SEED, hourEndMs - k * FIVE_MINUTES_MS);
  return sum / 12;
}

interface Expected {
  energyWh: number;
  supplyUsd: number;
  addersUsd: number;
  avgPriceCents: number;
}

/** Wh x cents/kWh / 100,000 = USD. */
function expectedCost(
  samples: readonly RecordedSample[],
  basis: 'hourly' | 'five-minute',
  addersCents: number,
): Expected {
  let energyWh = 0;
  let supplyCentsWh = 0;
  for (const [intervalEndMs, wh] of energyByIntervalOf(samples)) {
    const price =
      basis === 'hourly'
        ? hourlyAverageCents(intervalEndMs)
        : generatedPriceCents(PRICE_SEED, intervalEndMs - FIVE_MINUTES_MS);
    energyWh += wh;
    supplyCentsWh += wh * price;
  }
  return {
    energyWh,
    supplyUsd: supplyCentsWh / 100_000,
    addersUsd: (energyWh * addersCents) / 100_000,
    avgPriceCents: supplyCentsWh / energyWh,
  };
}

let dir: string;
let fileCount = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'twc-replay-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const TARIFF_VARIABLES = [
  'TARIFF_DELIVERY_CENTS_KWH',
  'TARIFF_OTHER_CENTS_KWH',
  'TARIFF_TAX_PERCENT',
  'TARIFF_MONTHLY_FIXED_USD',
  'TARIFF_FLAT_RATE_CENTS_KWH',
  'TARIFF_FILE',
];

beforeEach(() => {
  // The command reads the collector's tariff settings: empty means unset, so the defaults apply.
  for (const name of TARIFF_VARIABLES) vi.stubEnv(name, '');
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

async function file(text: string): Promise<string> {
  fileCount += 1;
  const path = join(dir, `input-${fileCount}.txt`);
  await writeFile(path, text);
  return path;
}

let fullVitalsPath: string | undefined;
let pricesPath: string | undefined;
async function fullVitals(): Promise<string> {
  fullVitalsPath ??= await file(`${toLines(FULL).join('\n')}\n`);
  return fullVitalsPath;
}
async function prices(): Promise<string> {
  pricesPath ??= await file(priceFeed(PRICES_FROM_MS, PRICES_TO_MS));
  return pricesPath;
}

/** Runs `twc replay` with stdout and stderr captured. */
function replay(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCommand(replayCommand, argv);
}

type Session = Record<string, unknown>;

async function sessionsOf(argv: string[]): Promise<{ sessions: Session[]; stderr: string }> {
  const { code, stdout, stderr } = await replay(argv);
  expect(code, stderr).toBe(0);
  return { sessions: JSON.parse(stdout) as Session[], stderr };
}

async function onlySessionOf(argv: string[]): Promise<Session> {
  const { sessions } = await sessionsOf(argv);
  expect(sessions).toHaveLength(1);
  return sessions[0] as Session;
}

const num = (session: Session, field: string) => session[field] as number;

describe('twc replay', () => {
  it('finds the one charge of the recording, with the energy the simulated charger delivered', async () => {
    const session = await onlySessionOf(['--vitals', await fullVitals(), '--prices', await prices()]);
    const truthWh = model.truth(UNPLUG_MS + 2 * MINUTE_MS).sessions[0]?.energyWh as number;
    expect(truthWh).toBeGreaterThan(5_000);
    expect(Math.abs(num(session, 'energy_wh') - truthWh) / truthWh).toBeLessThan(0.001);

    expect(session.charger_id).toBe('replay');
    expect(session.open).toBe(false);
    expect(session.end_reason).toBe('unplugged');
    expect(session.provisional).toBe(false);
    expect(session.gaps).toBe(0);
    expect(session.segments).toBe(1);
    expect(session).not.toHaveProperty('energy_by_interval');
    // Plug-in from session_s, to the second; the unplug is seen by the first poll after it.
    const startMs = Date.parse(session.start_time as string);
    const endMs = Date.parse(session.end_time as string);
    expect(Math.abs(startMs - PLUG_IN_MS)).toBeLessThanOrEqual(1_000);
    expect(endMs).toBeGreaterThanOrEqual(UNPLUG_MS);
    expect(endMs).toBeLessThanOrEqual(UNPLUG_MS + SAMPLE_MS);
    expect(session.session_id).toBe(`replay-${startMs}`);
    expect(num(session, 'duration_s')).toBe((endMs - startMs) / 1000);
    const truthChargingS = plannedSession.charging.reduce(
      (sum, run) => sum + ((run.stopMs as number) - run.startMs) / 1000,
      0,
    );
    expect(Math.abs(num(session, 'charging_s') - truthChargingS)).toBeLessThanOrEqual(SAMPLE_MS / 1000);
    expect(num(session, 'avg_power_w')).toBeCloseTo(num(session, 'energy_wh') / (num(session, 'charging_s') / 3600), 6);
    // 48 A at about 240 V.
    expect(num(session, 'peak_power_w')).toBeGreaterThan(11_000);
    expect(num(session, 'peak_power_w')).toBeLessThan(12_000);
  });

  it('costs the charge at the hourly average price plus the adders, to the cent', async () => {
    const session = await onlySessionOf(['--vitals', await fullVitals(), '--prices', await prices()]);
    const expected = expectedCost(FULL, 'hourly', DEFAULT_ADDERS_CENTS);
    expect(num(session, 'energy_wh')).toBeCloseTo(expected.energyWh, 6);
    expect(num(session, 'supply_cost')).toBeCloseTo(expected.supplyUsd, 2);
    expect(num(session, 'adders_cost')).toBeCloseTo(expected.addersUsd, 2);
    expect(num(session, 'tax_cost')).toBe(0);
    expect(num(session, 'total_cost')).toBeCloseTo(expected.supplyUsd + expected.addersUsd, 2);
    expect(num(session, 'avg_price')).toBeCloseTo(expected.avgPriceCents, 6);
    const flatUsd = (expected.energyWh * FLAT_RATE_CENTS) / 100_000;
    expect(num(session, 'flat_rate_cost')).toBeCloseTo(flatUsd, 2);
    expect(num(session, 'saving_vs_flat')).toBeCloseTo(flatUsd - num(session, 'total_cost'), 6);
    expect(num(session, 'saving_vs_cheapest')).toBeCloseTo(
      num(session, 'total_cost') - num(session, 'cheapest_window_cost'),
      6,
    );
  });

  it('costs each 5-minute interval at its own price on the five-minute basis', async () => {
    const hourly = await onlySessionOf(['--vitals', await fullVitals(), '--prices', await prices()]);
    const session = await onlySessionOf([
      '--vitals',
      await fullVitals(),
      '--prices',
      await prices(),
      '--basis',
      'five-minute',
    ]);
    const expected = expectedCost(FULL, 'five-minute', DEFAULT_ADDERS_CENTS);
    expect(num(session, 'supply_cost')).toBeCloseTo(expected.supplyUsd, 2);
    expect(num(session, 'adders_cost')).toBeCloseTo(expected.addersUsd, 2);
    expect(num(session, 'total_cost')).toBeCloseTo(expected.supplyUsd + expected.addersUsd, 2);
    expect(num(session, 'avg_price')).toBeCloseTo(expected.avgPriceCents, 6);
    // The two bases price the same energy differently.
    expect(num(session, 'energy_wh')).toBe(num(hourly, 'energy_wh'));
    expect(num(session, 'supply_cost')).not.toBe(num(hourly, 'supply_cost'));
  });

  it('uses the delivery charge of --delivery-cents-kwh', async () => {
    const session = await onlySessionOf([
      '--vitals',
      await fullVitals(),
      '--prices',
      await prices(),
      '--delivery-cents-kwh',
      '5',
    ]);
    const expected = expectedCost(FULL, 'hourly', 5 + 2);
    expect(num(session, 'adders_cost')).toBeCloseTo(expected.addersUsd, 2);
    expect(num(session, 'supply_cost')).toBeCloseTo(expected.supplyUsd, 2);
    expect(num(session, 'total_cost')).toBeCloseTo(expected.supplyUsd + expected.addersUsd, 2);
  });

  it("reads the collector's tariff settings, the option overriding the delivery charge", async () => {
    vi.stubEnv('TARIFF_DELIVERY_CENTS_KWH', '9');
    vi.stubEnv('TARIFF_OTHER_CENTS_KWH', '1');
    vi.stubEnv('TARIFF_TAX_PERCENT', '10');
    const session = await onlySessionOf([
      '--vitals',
      await fullVitals(),
      '--prices',
      await prices(),
      '--delivery-cents-kwh',
      '6',
    ]);
    const expected = expectedCost(FULL, 'hourly', 6 + 1);
    expect(num(session, 'adders_cost')).toBeCloseTo(expected.addersUsd, 2);
    expect(num(session, 'tax_cost')).toBeCloseTo((expected.supplyUsd + expected.addersUsd) * 0.1, 2);
    expect(num(session, 'total_cost')).toBeCloseTo((expected.supplyUsd + expected.addersUsd) * 1.1, 2);
  });

  it('puts the charger id in the session id', async () => {
    const session = await onlySessionOf([
      '--vitals',
      await fullVitals(),
      '--prices',
      await prices(),
      '--charger-id',
      'PGT12345678000',
    ]);
    expect(session.charger_id).toBe('PGT12345678000');
    expect(session.session_id).toBe(`PGT12345678000-${Date.parse(session.start_time as string)}`);
  });

  it('skips bad lines, reports them once with their line numbers, and loses nothing else', async () => {
    const clean = await onlySessionOf(['--vitals', await fullVitals(), '--prices', await prices()]);
    const lines = toLines(FULL);
    const mid = Math.floor(lines.length / 2);
    const sample = FULL[mid] as RecordedSample;
    const notVitals = JSON.stringify({ t: sample.t, vitals: { ...sample.vitals, vehicle_connected: 'yes' } });
    const withBadLines = [
      ...lines.slice(0, 3),
      '{"t": 1768352400000, "vitals": {', // line 4: cut off
      ...lines.slice(3, mid),
      notVitals, // line mid + 2
      lines[mid - 1] as string, // line mid + 3: a repeated, older sample
      ...lines.slice(mid),
      '',
    ].join('\n');
    const { sessions, stderr } = await sessionsOf(['--vitals', await file(withBadLines), '--prices', await prices()]);
    expect(sessions).toEqual([clean]);
    expect(stderr.match(/skipped/g)).toHaveLength(1);
    expect(stderr).toContain(`skipped 3 of ${lines.length + 3} lines`);
    expect(stderr).toContain('line 4: not JSON');
    expect(stderr).toContain(`line ${mid + 2}: vitals.vehicle_connected:`);
    expect(stderr).toContain(`line ${mid + 3}: not newer than the previous sample`);
  });

  it('reads export lines, where readings the charger could not give are left out', async () => {
    const clean = await onlySessionOf(['--vitals', await fullVitals(), '--prices', await prices()]);
    const exported = FULL.map(({ t, vitals }) => {
      const { evse_state: _state, uptime_s: _uptime, relay_k1_v: _k1, relay_k2_v: _k2, ...rest } = vitals;
      return JSON.stringify({ t, vitals: rest });
    });
    const session = await onlySessionOf(['--vitals', await file(exported.join('\n')), '--prices', await prices()]);
    expect(session).toEqual(clean);
  });

  it('prints a session whose car is still connected at the end as open', async () => {
    const untilMs = PLUG_IN_MS + 40 * MINUTE_MS;
    const partial = record(untilMs);
    const session = await onlySessionOf([
      '--vitals',
      await file(toLines(partial).join('\n')),
      '--prices',
      await prices(),
    ]);
    expect(session.open).toBe(true);
    expect(session.end_time).toBeNull();
    expect(session.end_reason).toBeNull();
    const truthWh = model.truth(untilMs).sessions[0]?.energyWh as number;
    expect(Math.abs(num(session, 'energy_wh') - truthWh) / truthWh).toBeLessThan(0.001);
    expect(num(session, 'total_cost')).toBeCloseTo(
      expectedCost(partial, 'hourly', DEFAULT_ADDERS_CENTS).supplyUsd +
        expectedCost(partial, 'hourly', DEFAULT_ADDERS_CENTS).addersUsd,
      2,
    );
  });

  it('closes a session whose car left just before the recording ends, as the debounce would', async () => {
    const endsSoonAfterUnplug = record(UNPLUG_MS + 10_000);
    const session = await onlySessionOf([
      '--vitals',
      await file(toLines(endsSoonAfterUnplug).join('\n')),
      '--prices',
      await prices(),
    ]);
    expect(session.open).toBe(false);
    expect(session.end_reason).toBe('unplugged');
    const clean = await onlySessionOf(['--vitals', await fullVitals(), '--prices', await prices()]);
    expect(session.end_time).toBe(clean.end_time);
    expect(session.energy_wh).toBe(clean.energy_wh);
  });

  it('marks the cost provisional when the price file ends before the charge', async () => {
    // The file stops 20 minutes into an hour the car charged in: that hour's average is not final.
    const chargeEndMs = plannedSession.charging.at(-1)?.stopMs as number;
    const cutMs = Math.ceil(chargeEndMs / HOUR_MS) * HOUR_MS - 40 * MINUTE_MS;
    expect(cutMs).toBeGreaterThan(PLUG_IN_MS);
    const session = await onlySessionOf([
      '--vitals',
      await fullVitals(),
      '--prices',
      await file(priceFeed(PRICES_FROM_MS, cutMs)),
    ]);
    expect(session.provisional).toBe(true);
    expect(num(session, 'unpriced_energy_wh')).toBeGreaterThan(0);
  });

  it('prints nothing and exits 2 on a bad option or an unusable file', async () => {
    const vitals = await fullVitals();
    const priceFile = await prices();
    const cases: [string[], RegExp][] = [
      [['--prices', priceFile], /--vitals FILE is required/],
      [['--vitals', vitals], /--prices FILE is required/],
      [['--vitals', join(dir, 'missing.jsonl'), '--prices', priceFile], /missing\.jsonl: no such file/],
      [['--vitals', vitals, '--prices', join(dir, 'missing.json')], /missing\.json: no such file/],
      [['--vitals', dir, '--prices', priceFile], /is a directory/],
      [['--vitals', vitals, '--prices', priceFile, '--basis', 'weekly'], /--basis must be hourly or five-minute/],
      [['--vitals', vitals, '--prices', priceFile, '--delivery-cents-kwh', 'abc'], /--delivery-cents-kwh "abc"/],
      [['--vitals', vitals, '--prices', priceFile, '--delivery-cents-kwh', '790'], /--delivery-cents-kwh "790"/],
      [['--vitals', vitals, '--prices', priceFile, '--delivery-cents-kwh', ''], /--delivery-cents-kwh must be/],
      [['--vitals', vitals, '--prices', priceFile, '--charger-id', ' '], /--charger-id must not be empty/],
      [['--vitals', vitals, '--prices', priceFile, '--speed', '2'], /--speed/],
      [['--vitals', vitals, '--prices', priceFile, 'extra'], /extra/],
    ];
    for (const [argv, message] of cases) {
      const { code, stdout, stderr } = await replay(argv);
      expect({ argv, code, stdout }).toEqual({ argv, code: 2, stdout: '' });
      expect(stderr).toMatch(message);
    }
  });

  it('exits 2 on a price file that is not a ComEd answer and on a recording without a sample', async () => {
    const vitals = await fullVitals();
    const html = await file('<html><body>Service Unavailable</body></html>');
    const notPrices = await replay(['--vitals', vitals, '--prices', html]);
    expect(notPrices.code).toBe(2);
    expect(notPrices.stdout).toBe('');
    expect(notPrices.stderr).toMatch(/is not a ComEd 5minutefeed answer: ComEd answered an HTML page/);

    const garbage = await file('hello\nworld\n');
    const noSamples = await replay(['--vitals', garbage, '--prices', await prices()]);
    expect(noSamples.code).toBe(2);
    expect(noSamples.stdout).toBe('');
    expect(noSamples.stderr).toMatch(/holds no vitals sample/);
  });

  it('exits 2 on a tariff setting that does not validate', async () => {
    vi.stubEnv('TARIFF_TAX_PERCENT', 'ten');
    const { code, stdout, stderr } = await replay(['--vitals', await fullVitals(), '--prices', await prices()]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/TARIFF_TAX_PERCENT: expected a number/);
  });
});
