/**
 * The fault plan of one end-to-end run, drawn from a seed: which process is
 * killed when and for how long, which charger misbehaves how, and when the
 * ComEd feed fails. Pure: the same seed and run length give the same plan,
 * so a failure can be replayed with E2E_SEED. Times are real milliseconds
 * from the start of the charging day (the collector polls in real time).
 */
import { createRandom, hash32, type Random } from '@twc/collector/simulator/random';

export const SERVICES = ['influxd', 'redis', 'mosquitto', 'collector', 'comed-poller', 'api'] as const;
export type ServiceName = (typeof SERVICES)[number];

export type ChargerFault =
  | { kind: 'slow-first-byte'; delayMs: number; count: number }
  | { kind: 'invalid-json-nan'; count: number }
  | { kind: 'invalid-json-truncated'; count: number }
  | { kind: 'reboot' }
  | { kind: 'session-energy-reset' }
  | { kind: 'wifi-dropout'; durationMs: number };

export type ComedFault =
  | { kind: 'html-200' | 'status-500' | 'timeout'; durationMs: number }
  /** `count` consecutive 5-minute prices, starting just after the current one, left out while it lasts. */
  | { kind: 'missing-intervals'; count: number; durationMs: number };

export type PlannedFault =
  | { atMs: number; target: 'process'; service: ServiceName; downMs: number }
  | { atMs: number; target: 'charger'; charger: number; fault: ChargerFault }
  | { atMs: number; target: 'comed'; fault: ComedFault };

export interface FaultPlanOptions {
  seed: number;
  /** Real length of the simulated day. */
  runMs: number;
  chargers: number;
  /** The collector's charger response timeout: a slow first byte beyond it must time out. */
  chargerResponseTimeoutMs: number;
}

/** Faults start after the stack has settled and stop early enough for the last sessions to close cleanly. */
export const FAULT_WINDOW = { from: 0.08, to: 0.82 } as const;

const CHARGER_FAULT_KINDS: readonly ChargerFault['kind'][] = [
  'slow-first-byte',
  'invalid-json-nan',
  'invalid-json-truncated',
  'reboot',
  'session-energy-reset',
  'wifi-dropout',
];
const COMED_FAULT_KINDS: readonly ComedFault['kind'][] = ['html-200', 'status-500', 'timeout', 'missing-intervals'];

function between(random: Random, low: number, high: number): number {
  return low + (high - low) * random();
}

function pick<T>(random: Random, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)] as T;
}

function shuffled<T>(random: Random, list: readonly T[]): T[] {
  const copy = [...list];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

function chargerFault(kind: ChargerFault['kind'], random: Random, timeoutMs: number): ChargerFault {
  switch (kind) {
    case 'slow-first-byte':
      return { kind, delayMs: Math.round(timeoutMs * between(random, 1.5, 3)), count: 1 + Math.floor(random() * 3) };
    case 'invalid-json-nan':
    case 'invalid-json-truncated':
      return { kind, count: 1 + Math.floor(random() * 3) };
    case 'wifi-dropout':
      return { kind, durationMs: Math.round(between(random, 500, 3000)) };
    default:
      return { kind };
  }
}

function comedFault(kind: ComedFault['kind'], random: Random): ComedFault {
  const durationMs = Math.round(between(random, 1000, 4000));
  if (kind === 'missing-intervals') return { kind, count: 1 + Math.floor(random() * 4), durationMs };
  return { kind, durationMs };
}

/**
 * The plan: every service killed once (collector and api a second time), in
 * slots of their own so one outage is restarted before the next begins;
 * every charger fault kind at least twice on random chargers; every ComEd
 * failure at least once. Sorted by time.
 */
export function planFaults(options: FaultPlanOptions): PlannedFault[] {
  const random = createRandom(hash32(options.seed, 0xe2e));
  const fromMs = options.runMs * FAULT_WINDOW.from;
  const toMs = options.runMs * FAULT_WINDOW.to;
  const plan: PlannedFault[] = [];

  const kills: ServiceName[] = shuffled(random, [...SERVICES, 'collector', 'api']);
  const slotMs = (toMs - fromMs) / kills.length;
  kills.forEach((service, slot) => {
    const downMs = Math.round(between(random, 300, Math.min(3000, slotMs * 0.4)));
    const atMs = Math.round(fromMs + slot * slotMs + random() * (slotMs - downMs) * 0.5);
    plan.push({ atMs, target: 'process', service, downMs });
  });

  const chargerKinds = shuffled(random, [...CHARGER_FAULT_KINDS, ...CHARGER_FAULT_KINDS]);
  for (let i = 0; i < 6; i += 1) chargerKinds.push(pick(random, CHARGER_FAULT_KINDS));
  for (const kind of chargerKinds) {
    plan.push({
      atMs: Math.round(between(random, fromMs, toMs)),
      target: 'charger',
      charger: Math.floor(random() * options.chargers),
      fault: chargerFault(kind, random, options.chargerResponseTimeoutMs),
    });
  }

  // One ComEd failure at a time: each is switched off before the next starts.
  const comedKinds = shuffled(random, [...COMED_FAULT_KINDS, pick(random, COMED_FAULT_KINDS)]);
  const comedSlotMs = (toMs - fromMs) / comedKinds.length;
  comedKinds.forEach((kind, slot) => {
    const fault = comedFault(kind, random);
    const spareMs = Math.max(0, comedSlotMs - fault.durationMs);
    plan.push({ atMs: Math.round(fromMs + slot * comedSlotMs + random() * spareMs), target: 'comed', fault });
  });

  return plan.sort((a, b) => a.atMs - b.atMs);
}

export function describeFault(fault: PlannedFault): string {
  switch (fault.target) {
    case 'process':
      return `kill -9 ${fault.service}, restart after ${fault.downMs} ms`;
    case 'charger':
      return `charger ${fault.charger}: ${JSON.stringify(fault.fault)}`;
    case 'comed':
      return `ComEd feed: ${JSON.stringify(fault.fault)}`;
  }
}
