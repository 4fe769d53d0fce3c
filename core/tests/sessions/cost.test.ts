import { describe, expect, it } from 'vitest';
import type { PricingProvider, Tariff } from '../../src/prices/pricing.js';
import { type CostTotals, costSession, type HourCost, type SessionCost } from '../../src/sessions/cost.js';
import type { IntervalEnergy } from '../../src/sessions/interval-energy.js';
import {
  fiveMinuteProvider,
  hourlyProvider,
  hourOfPrices,
  type PriceTable,
  SUPPLY_ONLY,
  tariff,
  WITH_ADDERS,
} from './price-table.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const micro = (usd: number): number => Math.round(usd * 1_000_000);

// Hour ending 20:00 UTC (14:00 in Chicago) on 2026-01-15.
const H = Date.UTC(2026, 0, 15, 20, 0);
// Hour ending H (stamps H-60 .. H-5 min): ten at 4.6, then 3 (stamped H-10) and 5 (H-5): average 4.5.
// Hour ending H+1h: 2 (stamped H) and 4 (H+5), then ten at 3.6: average 3.5.
// Each interval is named by its stamp (start); its energy is metered in (S, S+5 min].
const BOUNDARY_PRICES: PriceTable = {
  ...hourOfPrices(H, [...Array(10).fill(4.6), 3, 5]),
  ...hourOfPrices(H + HOUR_MS, [2, 4, ...Array(10).fill(3.6)]),
};
const BOUNDARY_ENERGY: IntervalEnergy[] = [
  { startMs: H - 10 * MINUTE_MS, energyWh: 1000 },
  { startMs: H - 5 * MINUTE_MS, energyWh: 1000 }, // the last interval of the hour ending H
  { startMs: H, energyWh: 500 }, // stamped on the hour: the first interval of the next hour
  { startMs: H + 5 * MINUTE_MS, energyWh: 500 },
];

// Local midnight 2026-01-16 in Chicago (CST, UTC-6).
const MIDNIGHT = Date.UTC(2026, 0, 16, 6, 0);
// 2026-11-01 07:00 UTC: clocks in Chicago fall back from 2:00 CDT to 1:00 CST, a 25-hour day.
const FALL_BACK = Date.UTC(2026, 10, 1, 7, 0);
const DST_PRICES: PriceTable = {
  ...hourOfPrices(FALL_BACK - HOUR_MS, Array(12).fill(2)), // 1:00 CDT hour ending, 06:00 UTC
  ...hourOfPrices(FALL_BACK, Array(12).fill(3)), // 1:00 CST hour ending, 07:00 UTC
  ...hourOfPrices(FALL_BACK + HOUR_MS, Array(12).fill(4)),
};
const DST_ENERGY: IntervalEnergy[] = [-70, -65, -60, -10, -5, 0].map((minutes) => ({
  startMs: FALL_BACK + minutes * MINUTE_MS,
  energyWh: 1000,
}));

type Expected = Partial<CostTotals>;
type ExpectedHour = Partial<HourCost> & { hourEndingMs: number };

interface Case {
  name: string;
  energy: IntervalEnergy[];
  provider: PricingProvider;
  tariff: Tariff;
  expected: Expected;
  hours: ExpectedHour[];
}

const cases: Case[] = [
  {
    name: 'hour boundary inside the session, five-minute basis, supply only',
    energy: BOUNDARY_ENERGY,
    provider: fiveMinuteProvider(BOUNDARY_PRICES),
    tariff: SUPPLY_ONLY,
    // 1 kWh x 3 + 1 kWh x 5 = 8 c; 0.5 kWh x 2 + 0.5 kWh x 4 = 3 c; 11 c over 3 kWh.
    // (The plain average of the four prices would be 3.5: wrong.)
    expected: {
      energyWh: 3000,
      supplyCostUsd: 0.11,
      addersCostUsd: 0,
      taxUsd: 0,
      totalCostUsd: 0.11,
      avgPriceCentsKwh: 11 / 3,
      provisional: false,
      unpricedEnergyWh: 0,
    },
    hours: [
      { hourEndingMs: H, energyWh: 2000, supplyCostUsd: 0.08, avgPriceCentsKwh: 4, totalCostUsd: 0.08 },
      { hourEndingMs: H + HOUR_MS, energyWh: 1000, supplyCostUsd: 0.03, avgPriceCentsKwh: 3, totalCostUsd: 0.03 },
    ],
  },
  {
    name: 'hour boundary inside the session, hourly basis, supply only',
    energy: BOUNDARY_ENERGY,
    provider: hourlyProvider(BOUNDARY_PRICES),
    tariff: SUPPLY_ONLY,
    // 2 kWh x 4.5 = 9 c; 1 kWh x 3.5 = 3.5 c; 12.5 c over 3 kWh.
    expected: { supplyCostUsd: 0.125, totalCostUsd: 0.125, avgPriceCentsKwh: 12.5 / 3, provisional: false },
    hours: [
      { hourEndingMs: H, supplyCostUsd: 0.09, avgPriceCentsKwh: 4.5 },
      { hourEndingMs: H + HOUR_MS, supplyCostUsd: 0.035, avgPriceCentsKwh: 3.5 },
    ],
  },
  {
    name: 'hour boundary, five-minute basis, with adders and tax',
    energy: BOUNDARY_ENERGY,
    provider: fiveMinuteProvider(BOUNDARY_PRICES),
    tariff: WITH_ADDERS,
    // hour H: 8 c supply + 2 kWh x 7 c = 14 c adders, tax 10 % of 22 c = 2.2 c, total 24.2 c
    // hour H+1: 3 c + 7 c, tax 1 c, total 11 c
    expected: {
      supplyCostUsd: 0.11,
      addersCostUsd: 0.21,
      taxUsd: 0.032,
      totalCostUsd: 0.352,
      avgPriceCentsKwh: 11 / 3,
    },
    hours: [
      { hourEndingMs: H, supplyCostUsd: 0.08, addersCostUsd: 0.14, taxUsd: 0.022, totalCostUsd: 0.242 },
      { hourEndingMs: H + HOUR_MS, supplyCostUsd: 0.03, addersCostUsd: 0.07, taxUsd: 0.01, totalCostUsd: 0.11 },
    ],
  },
  {
    name: 'hour boundary, hourly basis, with adders and tax',
    energy: BOUNDARY_ENERGY,
    provider: hourlyProvider(BOUNDARY_PRICES),
    tariff: WITH_ADDERS,
    // hour H: 9 + 14 = 23 c, tax 2.3 c, total 25.3 c; hour H+1: 3.5 + 7 = 10.5 c, tax 1.05 c, total 11.55 c
    expected: { supplyCostUsd: 0.125, addersCostUsd: 0.21, taxUsd: 0.0335, totalCostUsd: 0.3685 },
    hours: [
      { hourEndingMs: H, totalCostUsd: 0.253 },
      { hourEndingMs: H + HOUR_MS, taxUsd: 0.0105, totalCostUsd: 0.1155 },
    ],
  },
  {
    name: 'negative-price hour: negative supply cost, delivery still charged',
    energy: [{ startMs: H - 5 * MINUTE_MS, energyWh: 2000 }],
    provider: hourlyProvider(hourOfPrices(H, Array(12).fill(-2.5))),
    tariff: WITH_ADDERS,
    // 2 kWh x -2.5 = -5 c; adders 14 c; tax 10 % of 9 c = 0.9 c; total 9.9 c
    expected: { supplyCostUsd: -0.05, addersCostUsd: 0.14, taxUsd: 0.009, totalCostUsd: 0.099, avgPriceCentsKwh: -2.5 },
    hours: [{ hourEndingMs: H, supplyCostUsd: -0.05, totalCostUsd: 0.099 }],
  },
  {
    name: 'negative-price hour with no adders: the tax formula goes negative too',
    energy: [{ startMs: H - 5 * MINUTE_MS, energyWh: 2000 }],
    provider: fiveMinuteProvider({ [H - 5 * MINUTE_MS]: -2.5 }),
    tariff: tariff({ taxPercent: 10 }),
    // -5 c, tax 10 % of -5 c = -0.5 c, total -5.5 c
    expected: { supplyCostUsd: -0.05, taxUsd: -0.005, totalCostUsd: -0.055 },
    hours: [{ hourEndingMs: H, totalCostUsd: -0.055 }],
  },
  {
    name: 'price not known yet: provisional, the unpriced energy reported',
    energy: BOUNDARY_ENERGY.slice(0, 2),
    provider: fiveMinuteProvider({ [H - 10 * MINUTE_MS]: 3 }),
    tariff: WITH_ADDERS,
    // supply only for the priced kWh: 3 c; adders on both kWh: 14 c; tax 1.7 c; total 18.7 c
    expected: {
      provisional: true,
      unpricedEnergyWh: 1000,
      supplyCostUsd: 0.03,
      addersCostUsd: 0.14,
      taxUsd: 0.017,
      totalCostUsd: 0.187,
      avgPriceCentsKwh: 3,
    },
    hours: [{ hourEndingMs: H, provisional: true, unpricedEnergyWh: 1000 }],
  },
  {
    name: 'the late price arrived: recomputed, final',
    energy: BOUNDARY_ENERGY.slice(0, 2),
    provider: fiveMinuteProvider({ [H - 10 * MINUTE_MS]: 3, [H - 5 * MINUTE_MS]: 5 }),
    tariff: WITH_ADDERS,
    // 8 c + 14 c, tax 2.2 c, total 24.2 c
    expected: {
      provisional: false,
      unpricedEnergyWh: 0,
      supplyCostUsd: 0.08,
      totalCostUsd: 0.242,
      avgPriceCentsKwh: 4,
    },
    hours: [{ hourEndingMs: H, provisional: false }],
  },
  {
    name: 'hourly basis before the hour is complete: the whole hour unpriced',
    energy: BOUNDARY_ENERGY,
    provider: hourlyProvider({ ...hourOfPrices(H, Array(12).fill(4)), [H]: 2 }),
    tariff: SUPPLY_ONLY,
    expected: { provisional: true, unpricedEnergyWh: 1000, supplyCostUsd: 0.08, avgPriceCentsKwh: 4 },
    hours: [
      { hourEndingMs: H, provisional: false, supplyCostUsd: 0.08 },
      { hourEndingMs: H + HOUR_MS, provisional: true, supplyCostUsd: 0, avgPriceCentsKwh: null },
    ],
  },
  {
    name: 'across midnight in Chicago: the 23:50 and 23:55 intervals close the old day, 00:00 opens the new one',
    energy: [-10, -5, 0].map((minutes) => ({ startMs: MIDNIGHT + minutes * MINUTE_MS, energyWh: 600 })),
    provider: fiveMinuteProvider({
      [MIDNIGHT - 10 * MINUTE_MS]: 2,
      [MIDNIGHT - 5 * MINUTE_MS]: 2,
      [MIDNIGHT]: 1,
    }),
    tariff: SUPPLY_ONLY,
    // 1.2 kWh x 2 = 2.4 c; 0.6 kWh x 1 = 0.6 c
    expected: { supplyCostUsd: 0.03, avgPriceCentsKwh: 3 / 1.8 },
    hours: [
      { hourEndingMs: MIDNIGHT, energyWh: 1200, supplyCostUsd: 0.024 },
      { hourEndingMs: MIDNIGHT + HOUR_MS, energyWh: 600, supplyCostUsd: 0.006 },
    ],
  },
  {
    name: 'across the fall-back DST change, five-minute basis: hours kept apart in UTC',
    energy: DST_ENERGY,
    provider: fiveMinuteProvider(DST_PRICES),
    tariff: SUPPLY_ONLY,
    // 2 kWh x 2 = 4 c; 3 kWh x 3 = 9 c; 1 kWh x 4 = 4 c
    expected: { energyWh: 6000, supplyCostUsd: 0.17 },
    hours: [
      { hourEndingMs: FALL_BACK - HOUR_MS, energyWh: 2000, supplyCostUsd: 0.04 },
      { hourEndingMs: FALL_BACK, energyWh: 3000, supplyCostUsd: 0.09 },
      { hourEndingMs: FALL_BACK + HOUR_MS, energyWh: 1000, supplyCostUsd: 0.04 },
    ],
  },
  {
    name: 'across the fall-back DST change, hourly basis, with adders and tax',
    energy: DST_ENERGY,
    provider: hourlyProvider(DST_PRICES),
    tariff: WITH_ADDERS,
    // 4 + 14 = 18 c, tax 1.8; 9 + 21 = 30 c, tax 3; 4 + 7 = 11 c, tax 1.1
    expected: { supplyCostUsd: 0.17, addersCostUsd: 0.42, taxUsd: 0.059, totalCostUsd: 0.649 },
    hours: [
      { hourEndingMs: FALL_BACK - HOUR_MS, totalCostUsd: 0.198 },
      { hourEndingMs: FALL_BACK, totalCostUsd: 0.33 },
      { hourEndingMs: FALL_BACK + HOUR_MS, totalCostUsd: 0.121 },
    ],
  },
];

function expectFields(actual: object, expected: object): void {
  for (const [key, value] of Object.entries(expected)) {
    const got = (actual as Record<string, unknown>)[key];
    if (typeof value === 'number') expect(got, key).toBeCloseTo(value, 9);
    else expect(got, key).toEqual(value);
  }
}

/** The hours add up to the session, exactly in micro-dollars (so certainly to the cent). */
function expectHoursAddUp(cost: SessionCost): void {
  const sum = (pick: (hour: HourCost) => number) => cost.hours.reduce((total, hour) => total + micro(pick(hour)), 0);
  expect(sum((hour) => hour.supplyCostUsd)).toBe(micro(cost.supplyCostUsd));
  expect(sum((hour) => hour.addersCostUsd)).toBe(micro(cost.addersCostUsd));
  expect(sum((hour) => hour.taxUsd)).toBe(micro(cost.taxUsd));
  expect(sum((hour) => hour.totalCostUsd)).toBe(micro(cost.totalCostUsd));
  expect(micro(cost.totalCostUsd)).toBe(micro(cost.supplyCostUsd) + micro(cost.addersCostUsd) + micro(cost.taxUsd));
  const energy = cost.hours.reduce((total, hour) => total + hour.energyWh, 0);
  expect(energy).toBeCloseTo(cost.energyWh, 9);
}

describe('costSession', () => {
  it.each(cases)('$name', ({ energy, provider, tariff: plan, expected, hours }) => {
    const cost = costSession(energy, provider, plan);
    expectFields(cost, expected);
    expect(cost.hours.map((hour) => hour.hourEndingMs)).toEqual(hours.map((hour) => hour.hourEndingMs));
    hours.forEach((hour, i) => {
      expectFields(cost.hours[i] as HourCost, hour);
    });
    expectHoursAddUp(cost);
  });

  it('keeps the two 1:00 hours of the fall-back night apart although they share a local label', () => {
    const cost = costSession(DST_ENERGY, fiveMinuteProvider(DST_PRICES), SUPPLY_ONLY);
    const hourInChicago = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/Chicago',
      hour: 'numeric',
      hourCycle: 'h23',
    });
    const labels = cost.hours.map((hour) => hourInChicago.format(hour.hourEndingMs));
    expect(labels[0]).toBe(labels[1]);
    expect(labels[2]).not.toBe(labels[1]);
    expect(cost.hours[0]?.energyWh).toBe(2000);
    expect(cost.hours[1]?.energyWh).toBe(3000);
  });

  it('adds up to the micro-dollar over many hours of awkward numbers', () => {
    // A fixed pseudo-random sequence: fractional energies, prices from -5 to 20 cents.
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const table: PriceTable = {};
    const energy: IntervalEnergy[] = [];
    for (let i = 0; i < 240; i++) {
      const startMs = H + i * 5 * MINUTE_MS;
      table[startMs] = Math.round((next() * 25 - 5) * 1000) / 1000;
      energy.push({ startMs, energyWh: Math.round(next() * 950_000) / 1000 });
    }
    const plan = tariff({ deliveryCentsPerKwh: 6.123, otherCentsPerKwh: 0.987, taxPercent: 7.25 });
    for (const provider of [fiveMinuteProvider(table), hourlyProvider(table)]) {
      const cost = costSession(energy, provider, plan);
      expect(cost.hours).toHaveLength(20);
      expectHoursAddUp(cost);
      const supplyCents = energy.reduce(
        (total, entry) => total + (entry.energyWh / 1000) * (provider.supplyCentsPerKwh(entry.startMs) as number),
        0,
      );
      expect(cost.supplyCostUsd).toBeCloseTo(supplyCents / 100, 4);
    }
  });

  it('ignores zero-energy intervals, even unpriced ones', () => {
    const cost = costSession(
      [
        { startMs: H - 10 * MINUTE_MS, energyWh: 1000 },
        { startMs: H - 5 * MINUTE_MS, energyWh: 0 },
      ],
      fiveMinuteProvider({ [H - 10 * MINUTE_MS]: 3 }),
      SUPPLY_ONLY,
    );
    expect(cost.provisional).toBe(false);
    expect(cost.supplyCostUsd).toBeCloseTo(0.03, 9);
  });

  it('costs nothing for no energy', () => {
    expect(costSession([], fiveMinuteProvider({}), WITH_ADDERS)).toEqual({
      energyWh: 0,
      unpricedEnergyWh: 0,
      avgPriceCentsKwh: null,
      supplyCostUsd: 0,
      addersCostUsd: 0,
      taxUsd: 0,
      totalCostUsd: 0,
      provisional: false,
      hours: [],
    });
  });

  it.each([
    ['a non-finite energy', [{ startMs: H, energyWh: Number.NaN }], fiveMinuteProvider({ [H]: 3 }), /finite/],
    ['a non-finite price', [{ startMs: H, energyWh: 1 }], fiveMinuteProvider({ [H]: Number.NaN }), /price/],
  ])('rejects %s with a clear error', (_name, energy, provider, message) => {
    expect(() => costSession(energy, provider, SUPPLY_ONLY)).toThrow(message);
  });
});
