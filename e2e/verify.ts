/**
 * Independent checks of what the stack stored against what the simulator
 * says happened. Nothing here uses the product's code: sessions are matched
 * to the simulator's record by charger and plug-in time, and costs are
 * recomputed from the stored vitals samples and the ComEd server's own
 * prices, with ComEd's clock written out again below rather than imported,
 * so a mistake in the product's clock cannot hide in its own check:
 * - energy metered at a sample belongs to the 5-minute interval that the
 *   sample closes or lies in, (E - 5 min, E], here keyed by its end E;
 * - the hour ending H averages the twelve prices stamped H - 60 min through
 *   H - 5 min (a stamp is the start of its interval), and every interval of
 *   the hour, the one ending at H included, pays that average.
 */
const FIVE_MINUTES_MS = 5 * 60_000;
const HOUR_MS = 60 * 60_000;
/** The end of the 5-minute interval holding the instant: a reading on a boundary closes the interval ending there. */
const intervalEndFor = (timeMs: number) => Math.ceil(timeMs / FIVE_MINUTES_MS) * FIVE_MINUTES_MS;
/** The hour ending of the hour that holds the interval ending `intervalEndMs`. */
const hourEndingFor = (intervalEndMs: number) => Math.ceil(intervalEndMs / HOUR_MS) * HOUR_MS;

export interface TruthSession {
  plugInMs: number;
  unplugMs: number | null;
  energyWh: number;
  charging: { startMs: number; stopMs: number | null; interrupted: boolean }[];
}

export interface StoredSession {
  chargerId: string;
  chargerName: string;
  sessionId: string;
  startMs: number;
  endMs: number | null;
  energyWh: number;
  supplyCostUsd: number;
  addersCostUsd: number;
  taxCostUsd: number;
  totalCostUsd: number;
  provisional: boolean;
  endReason: string | null;
  gaps: number;
  energyByInterval: [number, number][];
}

export interface VitalsRow {
  timeMs: number;
  sessionEnergyWh: number | null;
  vehicleConnected: boolean;
  powerW: number;
}

// ---------------------------------------------------------------------------
// Sessions

export interface SessionMatch {
  chargerId: string;
  truth: TruthSession;
  stored: StoredSession;
}

export interface SessionMatching {
  matched: SessionMatch[];
  missing: { chargerId: string; truth: TruthSession }[];
  /** A simulated session stored more than once. */
  duplicated: { chargerId: string; truth: TruthSession; stored: StoredSession[] }[];
  /** A stored session no simulated session explains (a split, a phantom). */
  unexpected: StoredSession[];
}

/** Pairs each simulated session with the stored sessions of its charger that start within `toleranceMs` of its plug-in. */
export function matchSessions(
  truth: ReadonlyMap<string, readonly TruthSession[]>,
  stored: readonly StoredSession[],
  toleranceMs: number,
): SessionMatching {
  const result: SessionMatching = { matched: [], missing: [], duplicated: [], unexpected: [] };
  const claimed = new Set<StoredSession>();
  for (const [chargerId, sessions] of truth) {
    const ofCharger = stored.filter((session) => session.chargerId === chargerId);
    for (const session of sessions) {
      const candidates = ofCharger.filter((s) => Math.abs(s.startMs - session.plugInMs) <= toleranceMs);
      for (const candidate of candidates) claimed.add(candidate);
      const [only] = candidates;
      if (!only) result.missing.push({ chargerId, truth: session });
      else if (candidates.length > 1) result.duplicated.push({ chargerId, truth: session, stored: candidates });
      else result.matched.push({ chargerId, truth: session, stored: only });
    }
  }
  result.unexpected = stored.filter((session) => !claimed.has(session));
  return result;
}

// ---------------------------------------------------------------------------
// Energy

export const ENERGY_TOLERANCE = 0.001;

/**
 * What the device's session counter forgets at a reset or a reboot during a
 * charge: the energy delivered between the last reading before it and the
 * reset itself. Bounded by the peak power over that time; 0 when the reset
 * came while no energy flowed.
 */
export function counterLossBoundWh(samples: readonly VitalsRow[], resetsMs: readonly number[]): number {
  let boundWh = 0;
  for (const resetMs of resetsMs) {
    let before: VitalsRow | undefined;
    let after: VitalsRow | undefined;
    for (const sample of samples) {
      if (sample.timeMs <= resetMs) before = sample;
      else {
        after = sample;
        break;
      }
    }
    if (!before) continue;
    const peakW = Math.max(before.powerW, after?.powerW ?? 0, ...samples.map((s) => s.powerW));
    if (before.powerW <= 0 && (after?.powerW ?? 0) <= 0) continue;
    boundWh += (peakW * (resetMs - before.timeMs)) / HOUR_MS;
  }
  return boundWh;
}

export interface EnergyVerdict {
  ok: boolean;
  truthWh: number;
  storedWh: number;
  lossBoundWh: number;
  /** (stored - truth) / truth */
  relativeError: number;
}

/** Stored within 0.1% of the truth, less what the device's own counter lost at resets. */
export function checkEnergy(truthWh: number, storedWh: number, lossBoundWh: number): EnergyVerdict {
  const slackWh = truthWh * ENERGY_TOLERANCE;
  const ok = storedWh <= truthWh + slackWh && storedWh >= truthWh - slackWh - lossBoundWh;
  return {
    ok,
    truthWh,
    storedWh,
    lossBoundWh,
    relativeError: truthWh === 0 ? (storedWh === 0 ? 0 : 1) : (storedWh - truthWh) / truthWh,
  };
}

// ---------------------------------------------------------------------------
// Cost

export interface AdderTariff {
  deliveryCentsPerKwh: number;
  otherCentsPerKwh: number;
  taxPercent: number;
}

export interface RecomputedCost {
  energyWh: number;
  /** Energy per 5-minute interval end. */
  byInterval: Map<number, number>;
  supplyUsd: number;
  addersUsd: number;
  taxUsd: number;
  totalUsd: number;
  /** Hours whose average price is unknown (the ComEd server has no price for some interval). */
  unpricedHours: number[];
  /** The lowest and highest hourly price among the hours the session's energy fell in, cents/kWh. */
  priceRangeCents: [number, number];
}

function addEnergy(byInterval: Map<number, number>, intervalEndMs: number, energyWh: number): void {
  byInterval.set(intervalEndMs, (byInterval.get(intervalEndMs) ?? 0) + energyWh);
}

/** Energy over (fromMs, toMs] spread over its 5-minute intervals in proportion to the time each holds. */
function spread(byInterval: Map<number, number>, fromMs: number, toMs: number, energyWh: number): void {
  for (let pieceFromMs = fromMs; pieceFromMs < toMs; ) {
    const endMs = intervalEndFor(pieceFromMs + 1);
    const pieceToMs = Math.min(endMs, toMs);
    addEnergy(byInterval, endMs, (energyWh * (pieceToMs - pieceFromMs)) / (toMs - fromMs));
    pieceFromMs = pieceToMs;
  }
}

/**
 * The energy of one session per 5-minute interval, from the charger's stored
 * samples: the positive changes of the session counter (a drop means it
 * restarted from zero, so the new reading is the energy since), each placed
 * in the interval of the later sample; over a gap longer than
 * `gapThresholdMs` (the collector or the charger was away) spread over the
 * gap in proportion to time, as docs/ARCHITECTURE.md describes.
 */
export function sessionEnergyByInterval(
  samples: readonly VitalsRow[],
  startMs: number,
  endMs: number,
  gapThresholdMs: number,
): Map<number, number> {
  const byInterval = new Map<number, number>();
  let counter: { wh: number; timeMs: number } | undefined;
  for (const sample of samples) {
    if (sample.timeMs > endMs) break;
    if (sample.sessionEnergyWh === null) continue;
    if (counter && sample.timeMs > startMs) {
      const deltaWh =
        sample.sessionEnergyWh < counter.wh ? sample.sessionEnergyWh : sample.sessionEnergyWh - counter.wh;
      if (deltaWh > 0) {
        const fromMs = Math.max(counter.timeMs, startMs);
        if (sample.timeMs - fromMs > gapThresholdMs) spread(byInterval, fromMs, sample.timeMs, deltaWh);
        else addEnergy(byInterval, intervalEndFor(sample.timeMs), deltaWh);
      }
    }
    counter = { wh: sample.sessionEnergyWh, timeMs: sample.timeMs };
  }
  return byInterval;
}

/** The average of an hour's twelve 5-minute prices (stamped H - 60 min .. H - 5 min), or undefined when one is missing. */
export function hourAverageCents(
  hourEndingMs: number,
  priceAt: (stampMs: number) => number | undefined,
): number | undefined {
  let sum = 0;
  for (let stamp = hourEndingMs - HOUR_MS; stamp < hourEndingMs; stamp += FIVE_MINUTES_MS) {
    const price = priceAt(stamp);
    if (price === undefined) return undefined;
    sum += price;
  }
  return sum / (HOUR_MS / FIVE_MINUTES_MS);
}

/** Each interval at its hour's average ComEd price, plus the per-kWh adders, plus tax on both. */
export function priceEnergy(
  byInterval: ReadonlyMap<number, number>,
  priceAt: (stampMs: number) => number | undefined,
  tariff: AdderTariff,
): RecomputedCost {
  const addersCents = tariff.deliveryCentsPerKwh + tariff.otherCentsPerKwh;
  let energyWh = 0;
  let supplyCents = 0;
  let addersCentsTotal = 0;
  const unpriced = new Set<number>();
  const hourPrices: number[] = [];
  for (const [intervalEndMs, wh] of byInterval) {
    energyWh += wh;
    addersCentsTotal += (wh / 1000) * addersCents;
    const hour = hourEndingFor(intervalEndMs);
    const average = hourAverageCents(hour, priceAt);
    if (average === undefined) {
      unpriced.add(hour);
      continue;
    }
    hourPrices.push(average);
    supplyCents += (wh / 1000) * average;
  }
  const taxCents = ((supplyCents + addersCentsTotal) * tariff.taxPercent) / 100;
  return {
    energyWh,
    byInterval: new Map(byInterval),
    supplyUsd: supplyCents / 100,
    addersUsd: addersCentsTotal / 100,
    taxUsd: taxCents / 100,
    totalUsd: (supplyCents + addersCentsTotal + taxCents) / 100,
    unpricedHours: [...unpriced].sort((a, b) => a - b),
    priceRangeCents: hourPrices.length === 0 ? [0, 0] : [Math.min(...hourPrices), Math.max(...hourPrices)],
  };
}

/** Half a cent: two figures that round to the same cent differ by less. */
export const CENT_TOLERANCE_USD = 0.005;

// ---------------------------------------------------------------------------
// Vitals gaps

export interface Window {
  fromMs: number;
  toMs: number;
  why: string;
}

export interface UnexplainedGap {
  fromMs: number;
  toMs: number;
  /** The part of the gap no outage window covers. */
  uncoveredMs: number;
}

/**
 * Gaps between consecutive stored samples that the known outages do not
 * explain: a gap is fine when the part of it outside every outage window is
 * at most `toleranceMs`.
 */
export function unexplainedGaps(
  timesMs: readonly number[],
  windows: readonly Window[],
  toleranceMs: number,
): UnexplainedGap[] {
  const sorted = [...windows].sort((a, b) => a.fromMs - b.fromMs);
  const found: UnexplainedGap[] = [];
  for (let i = 1; i < timesMs.length; i += 1) {
    const fromMs = timesMs[i - 1] as number;
    const toMs = timesMs[i] as number;
    if (toMs - fromMs <= toleranceMs) continue;
    let coveredMs = 0;
    let cursorMs = fromMs;
    for (const window of sorted) {
      const a = Math.max(window.fromMs, cursorMs);
      const b = Math.min(window.toMs, toMs);
      if (b > a) {
        coveredMs += b - a;
        cursorMs = b;
      }
    }
    const uncoveredMs = toMs - fromMs - coveredMs;
    if (uncoveredMs > toleranceMs) found.push({ fromMs, toMs, uncoveredMs });
  }
  return found;
}

// ---------------------------------------------------------------------------
// InfluxDB's CSV

/** Parses InfluxDB's CSV answer (RFC 4180, several tables separated by blank lines) into rows keyed by column. */
export function parseInfluxCsv(text: string): Record<string, string>[] {
  const rows: Record<string, string>[] = [];
  let header: string[] | undefined;
  let field = '';
  let record: string[] = [];
  let quoted = false;
  const endRecord = () => {
    record.push(field);
    field = '';
    if (record.length === 1 && record[0] === '') header = undefined;
    else if (!header) header = record;
    else {
      const row: Record<string, string> = {};
      header.forEach((name, i) => {
        row[name] = record[i] ?? '';
      });
      rows.push(row);
    }
    record = [];
  };
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n') endRecord();
    else if (c !== '\r') field += c;
  }
  if (field !== '' || record.length > 0) endRecord();
  return rows;
}
