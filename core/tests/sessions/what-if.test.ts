import { describe, expect, it } from 'vitest';
import type { PricingProvider } from '../../src/prices/pricing.js';
import { type WhatIfSession, whatIf } from '../../src/sessions/what-if.js';
import { fiveMinuteProvider, hourlyProvider, hourOfPrices, type PriceTable, WITH_ADDERS } from './price-table.js';

const MINUTE_MS = 60_000;
// 04:00 UTC on 2026-01-15 (22:00 the evening before in Chicago).
const H4 = Date.UTC(2026, 0, 15, 4, 0);
const m = (minutes: number): number => H4 + minutes * MINUTE_MS;

/** Slot prices for the intervals stamped 04:00 ... 04:55, and cheaper ones just outside the plugged-in time. */
function pricesFrom(list: (number | undefined)[]): PriceTable {
  const table: PriceTable = { [m(-5)]: -10, [m(60)]: -10 };
  list.forEach((price, i) => {
    if (price !== undefined) table[m(5 * i)] = price;
  });
  return table;
}
//                        04:00 04:05 04:10 04:15 04:20 04:25 04:30 04:35 04:40 04:45 04:50 04:55
const EVENING_PRICES = pricesFrom([6, 5, 5, 4, 3, 2, 1, 1, 2, 3, 7, 8]);

// Plugged in 04:02 to 04:58, charged 10 minutes: 1 kWh in each of the intervals 04:05-04:10 and 04:10-04:15.
const SESSION: WhatIfSession = {
  startTimeMs: m(2),
  endTimeMs: m(58),
  lastSampleMs: m(58) + 30_000,
  chargingS: 600,
  energyByInterval: [
    { startMs: m(5), energyWh: 1000 },
    { startMs: m(10), energyWh: 1000 },
  ],
};

interface Case {
  name: string;
  session: WhatIfSession;
  provider: PricingProvider;
  expected: {
    actualCostUsd: number;
    provisional: boolean;
    cheapestWindow:
      | { startMs: number; endMs: number; avgCentsPerKwh: number; supplyCostUsd: number; totalCostUsd: number }
      | undefined;
    flatRateCostUsd: number;
    savingVsCheapestUsd: number | null;
    savingVsFlatUsd: number | null;
    atPlugIn: { avgCentsPerKwh: number; totalCostUsd: number } | undefined;
    savingVsPlugInUsd: number | null;
  };
}

// At plug-in (04:02): the charge's slots from the one holding plug-in on, 04:00 (6 c) and 04:05 (5 c):
// 2 kWh x 5.5 c = 11 c + 14 c, tax 2.5 c: 27.5 c, what a car left to itself would have paid.
const AT_PLUG_IN = { avgCentsPerKwh: 5.5, totalCostUsd: 0.275 };

// Tariff: 7 c/kWh adders, 10 % tax, 15 c/kWh flat.
// Actual: 2 kWh x 5 c = 10 c supply + 14 c adders, tax 2.4 c: 26.4 c. Flat: 2 kWh x 15 c = 30 c.
const cases: Case[] = [
  {
    name: 'moved to the two 1-cent slots at 04:30-04:40 (the -10 c slots outside the plugged-in time do not count)',
    session: SESSION,
    provider: fiveMinuteProvider(EVENING_PRICES),
    // cheapest: 2 kWh x 1 c = 2 c + 14 c, tax 1.6 c: 17.6 c
    expected: {
      actualCostUsd: 0.264,
      provisional: false,
      cheapestWindow: { startMs: m(30), endMs: m(40), avgCentsPerKwh: 1, supplyCostUsd: 0.02, totalCostUsd: 0.176 },
      flatRateCostUsd: 0.3,
      savingVsCheapestUsd: 0.088,
      savingVsFlatUsd: 0.036,
      atPlugIn: AT_PLUG_IN,
      savingVsPlugInUsd: 0.011,
    },
  },
  {
    name: 'charging time rounds up to whole slots: 10 min 1 s takes three',
    session: { ...SESSION, chargingS: 601 },
    provider: fiveMinuteProvider(EVENING_PRICES),
    // triples: 2 + 1 + 1 = 4 at 04:25-04:40 first; 2 kWh x 4/3 c = 2.666667 c + 14 c, tax 1.666667 c: 18.333333 c
    expected: {
      actualCostUsd: 0.264,
      provisional: false,
      cheapestWindow: {
        startMs: m(25),
        endMs: m(40),
        avgCentsPerKwh: 4 / 3,
        supplyCostUsd: 0.026667,
        totalCostUsd: 0.183334,
      },
      flatRateCostUsd: 0.3,
      savingVsCheapestUsd: 0.264 - 0.183334,
      savingVsFlatUsd: 0.036,
      // three slots from plug-in: 6 + 5 + 5 = 16/3 c: 10.666667 c + 14 c, tax 2.466667 c: 27.1334 c
      atPlugIn: { avgCentsPerKwh: 16 / 3, totalCostUsd: 0.271334 },
      savingVsPlugInUsd: 0.271334 - 0.264,
    },
  },
  {
    name: 'an unknown price rules out the windows holding it',
    session: SESSION,
    provider: fiveMinuteProvider(pricesFrom([6, 5, 5, 4, 3, 2, undefined, 1, 2, 3, 7, 8])),
    // pairs left: (1, 2) at 04:35-04:45 = 1.5 c: 3 c + 14 c, tax 1.7 c: 18.7 c
    expected: {
      actualCostUsd: 0.264,
      provisional: false,
      cheapestWindow: { startMs: m(35), endMs: m(45), avgCentsPerKwh: 1.5, supplyCostUsd: 0.03, totalCostUsd: 0.187 },
      flatRateCostUsd: 0.3,
      savingVsCheapestUsd: 0.077,
      savingVsFlatUsd: 0.036,
      // the unknown price is after the two slots from plug-in
      atPlugIn: AT_PLUG_IN,
      savingVsPlugInUsd: 0.011,
    },
  },
  {
    name: 'the session already ran in the cheapest slots: nothing to save',
    session: {
      ...SESSION,
      energyByInterval: [
        { startMs: m(30), energyWh: 1000 },
        { startMs: m(35), energyWh: 1000 },
      ],
    },
    provider: fiveMinuteProvider(EVENING_PRICES),
    expected: {
      actualCostUsd: 0.176,
      provisional: false,
      cheapestWindow: { startMs: m(30), endMs: m(40), avgCentsPerKwh: 1, supplyCostUsd: 0.02, totalCostUsd: 0.176 },
      flatRateCostUsd: 0.3,
      savingVsCheapestUsd: 0,
      savingVsFlatUsd: 0.124,
      // waiting for the 1-cent slots saved 9.9 c against charging at plug-in
      atPlugIn: AT_PLUG_IN,
      savingVsPlugInUsd: 0.099,
    },
  },
  {
    name: 'hourly basis: every slot of the hour at its average, so moving within the hour saves nothing',
    session: SESSION,
    // hour ending 05:00 (stamps 04:00 .. 04:55) averages 4 c
    provider: hourlyProvider(hourOfPrices(m(60), [6, 5, 5, 4, 3, 2, 1, 1, 2, 3, 7, 9])),
    // 2 kWh x 4 c = 8 c + 14 c, tax 2.2 c: 24.2 c
    expected: {
      actualCostUsd: 0.242,
      provisional: false,
      cheapestWindow: { startMs: m(0), endMs: m(10), avgCentsPerKwh: 4, supplyCostUsd: 0.08, totalCostUsd: 0.242 },
      flatRateCostUsd: 0.3,
      savingVsCheapestUsd: 0,
      savingVsFlatUsd: 0.058,
      atPlugIn: { avgCentsPerKwh: 4, totalCostUsd: 0.242 },
      savingVsPlugInUsd: 0,
    },
  },
  {
    name: 'no prices known yet: provisional, no window',
    session: SESSION,
    provider: fiveMinuteProvider({}),
    // adders and tax only: 14 c, tax 1.4 c
    expected: {
      actualCostUsd: 0.154,
      provisional: true,
      cheapestWindow: undefined,
      flatRateCostUsd: 0.3,
      savingVsCheapestUsd: null,
      // 15.4 c "actual" holds no supply cost: no saving is claimed against the 30 c flat rate until it is priced.
      savingVsFlatUsd: null,
      atPlugIn: undefined,
      savingVsPlugInUsd: null,
    },
  },
  {
    name: 'an open session is taken as plugged in until its latest sample',
    session: { ...SESSION, endTimeMs: null, lastSampleMs: m(22) },
    provider: fiveMinuteProvider(EVENING_PRICES),
    // slots 04:00-04:25 only: pairs 11, 10, 9, 7: (4, 3) at 04:15-04:25 = 3.5 c: 7 c + 14 c, tax 2.1 c
    expected: {
      actualCostUsd: 0.264,
      provisional: false,
      cheapestWindow: { startMs: m(15), endMs: m(25), avgCentsPerKwh: 3.5, supplyCostUsd: 0.07, totalCostUsd: 0.231 },
      flatRateCostUsd: 0.3,
      savingVsCheapestUsd: 0.033,
      savingVsFlatUsd: 0.036,
      atPlugIn: AT_PLUG_IN,
      savingVsPlugInUsd: 0.011,
    },
  },
  {
    name: 'a session that never charged',
    session: { ...SESSION, chargingS: 0, energyByInterval: [] },
    provider: fiveMinuteProvider(EVENING_PRICES),
    expected: {
      actualCostUsd: 0,
      provisional: false,
      cheapestWindow: undefined,
      flatRateCostUsd: 0,
      savingVsCheapestUsd: null,
      savingVsFlatUsd: 0,
      atPlugIn: undefined,
      savingVsPlugInUsd: null,
    },
  },
];

function expectClose(actual: unknown, expected: unknown, path: string): void {
  if (typeof expected === 'number') {
    expect(actual, path).toBeCloseTo(expected, 9);
  } else if (expected !== null && typeof expected === 'object') {
    expect(actual, path).toBeTypeOf('object');
    expect(Object.keys(actual as object).sort(), path).toEqual(Object.keys(expected).sort());
    for (const [key, value] of Object.entries(expected)) {
      expectClose((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    }
  } else {
    expect(actual, path).toEqual(expected);
  }
}

describe('whatIf', () => {
  it.each(cases)('$name', ({ session, provider, expected }) => {
    expectClose(whatIf(session, provider, WITH_ADDERS), expected, 'whatIf');
  });
});
