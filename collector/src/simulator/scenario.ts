import { between, createRandom, hash32, type Random } from './random.js';

/**
 * What the car does: when it plugs in, when it starts drawing current, how
 * much energy it wants and when it leaves. Plans are drawn from the seed, so
 * the same seed and charger index give the same plans, and they are drawn
 * lazily (a day at a time) so a run of any length costs only what is asked.
 */

/**
 * session: one charge soon after the start; day: a typical day at home, every
 * day; idle: never plugged in; night: the smart-charging evening, every
 * day: the car plugs in at 18:00 local wanting 40 kWh from the wall, would
 * charge at once if nobody told it otherwise, and leaves at 07:00.
 */
export type ScenarioName = 'session' | 'day' | 'idle' | 'night';

export const SCENARIO_NAMES: readonly ScenarioName[] = ['session', 'day', 'idle', 'night'];

/** The `night` scenario's car: plugged in at 18:00, 40 kWh wanted, gone at 07:00 (local). */
export const NIGHT = { plugInHour: 18, energyWantedWh: 40_000, leaveHour: 7 } as const;

/** A stretch of the full-rate hold during which the charger reduces its current (evse_state 10). */
export interface ThermalFoldbackPlan {
  /** Time at full rate before the foldback starts. */
  afterHoldMs: number;
  durationMs: number;
  /** The reduced current as a fraction of the full-rate current. */
  factor: number;
}

export interface SessionPlan {
  plugInMs: number;
  /** When the car first draws current; at or after `unplugMs` means it never does. */
  chargeStartMs: number;
  unplugMs: number;
  /** Full-rate current the car draws. */
  currentA: number;
  /** Energy the car asks for; it sets how long the full-rate hold lasts. */
  energyWantedWh: number;
  thermal?: ThermalFoldbackPlan;
}

export interface ScenarioOptions {
  scenario: ScenarioName;
  seed: number;
  index: number;
  startTimeMs: number;
  currentA: number;
  /** Nominal power per ampere of charging current (240 W split-phase, 690 W three-phase). */
  nominalWattsPerAmp: number;
  /** Offset of local time from UTC; "evening" and "morning" are local. */
  utcOffsetMinutes: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** A car that starts right away draws current this long after plug-in (handshake, then the car asks). */
export const IMMEDIATE_START_DELAY_MS = 20_000;

export interface SessionPlanner {
  /** Every planned session whose plug-in is at or before `timeMs`, oldest first (may include later ones). */
  sessionsThrough(timeMs: number): readonly SessionPlan[];
}

export function createSessionPlanner(options: ScenarioOptions): SessionPlanner {
  const plans: SessionPlan[] = [];
  const offsetMs = options.utcOffsetMinutes * MINUTE_MS;
  const localDayOf = (timeMs: number) => Math.floor((timeMs + offsetMs) / DAY_MS);
  const firstDay = localDayOf(options.startTimeMs);
  let nextDay = firstDay;
  const daily = options.scenario === 'day' || options.scenario === 'night';
  let plannedThroughMs = daily ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;

  if (options.scenario === 'session') plans.push(singleSession(options));

  return {
    sessionsThrough(timeMs) {
      while (plannedThroughMs < timeMs) {
        const localMidnightMs = nextDay * DAY_MS - offsetMs;
        // Days count from the start, so a seed plans the same days whatever the date.
        const sessionsOfDay = options.scenario === 'night' ? nightOfSession : dayOfSessions;
        for (const plan of sessionsOfDay(options, nextDay - firstDay, localMidnightMs)) {
          if (plan.plugInMs >= options.startTimeMs) plans.push(plan);
        }
        nextDay += 1;
        // A day's sessions all plug in before the next local midnight.
        plannedThroughMs = nextDay * DAY_MS - offsetMs;
      }
      return plans;
    },
  };
}

function fullRateWatts(options: ScenarioOptions, currentA: number): number {
  return options.nominalWattsPerAmp * currentA;
}

/** Roughly how long charging `energyWh` takes, with room for the ramp and the taper. */
function chargeDurationMs(options: ScenarioOptions, energyWh: number, currentA: number): number {
  return (energyWh / fullRateWatts(options, currentA)) * HOUR_MS + 20 * MINUTE_MS;
}

function maybeThermal(random: Random): ThermalFoldbackPlan | undefined {
  if (random() >= 0.12) return undefined;
  return {
    afterHoldMs: Math.round(between(random, 15, 60)) * MINUTE_MS,
    durationMs: Math.round(between(random, 8, 20)) * MINUTE_MS,
    factor: 0.6,
  };
}

function singleSession(options: ScenarioOptions): SessionPlan {
  const random = createRandom(hash32(options.seed, options.index, 0x5e55));
  const plugInMs = options.startTimeMs + MINUTE_MS;
  const energyWantedWh = Math.round(between(random, 8_000, 20_000));
  const chargeStartMs = plugInMs + IMMEDIATE_START_DELAY_MS;
  return {
    plugInMs,
    chargeStartMs,
    unplugMs: Math.round(chargeStartMs + chargeDurationMs(options, energyWantedWh, options.currentA) + 30 * MINUTE_MS),
    currentA: options.currentA,
    energyWantedWh,
    thermal: maybeThermal(random),
  };
}

/**
 * A typical day at home: sometimes a short top-up around midday, then the
 * car arrives in the evening and either charges right away or waits for the
 * cheap overnight hours (the point of ComEd hourly pricing), and leaves in
 * the morning of the next day.
 */
function dayOfSessions(options: ScenarioOptions, day: number, localMidnightMs: number): SessionPlan[] {
  const random = createRandom(hash32(options.seed, options.index, day, 0xda7));
  const sessions: SessionPlan[] = [];
  const at = (hours: number) => localMidnightMs + Math.round(hours * 60) * MINUTE_MS;

  const topUp = random() < 0.3;
  const topUpPlugIn = at(between(random, 11, 14));
  const topUpEnergyWh = Math.round(between(random, 2_000, 8_000));
  const topUpStay = between(random, 10, 60) * MINUTE_MS;
  if (topUp) {
    const chargeStartMs = topUpPlugIn + IMMEDIATE_START_DELAY_MS;
    sessions.push({
      plugInMs: topUpPlugIn,
      chargeStartMs,
      unplugMs: Math.round(chargeStartMs + chargeDurationMs(options, topUpEnergyWh, options.currentA) + topUpStay),
      currentA: options.currentA,
      energyWantedWh: topUpEnergyWh,
    });
  }

  const comesHome = random() < 0.92;
  const arrival = at(between(random, 17, 20.5));
  const scheduled = random() < 0.6;
  const cheapHoursStart = at(between(random, 23, 25));
  const energyWantedWh = Math.round(between(random, 6_000, 40_000));
  const leaves = at(24 + between(random, 6.5, 8));
  const thermal = maybeThermal(random);
  if (comesHome) {
    const plugInMs = Math.max(arrival, (sessions[0]?.unplugMs ?? arrival) + 10 * MINUTE_MS);
    sessions.push({
      plugInMs,
      chargeStartMs: scheduled
        ? Math.max(cheapHoursStart, plugInMs + IMMEDIATE_START_DELAY_MS)
        : plugInMs + IMMEDIATE_START_DELAY_MS,
      unplugMs: leaves,
      currentA: options.currentA,
      energyWantedWh,
      thermal,
    });
  }
  return sessions;
}

/** The `night` scenario's one session of a day (NIGHT); the same every day, so a test knows what to expect. */
function nightOfSession(options: ScenarioOptions, _day: number, localMidnightMs: number): SessionPlan[] {
  const plugInMs = localMidnightMs + NIGHT.plugInHour * HOUR_MS;
  return [
    {
      plugInMs,
      chargeStartMs: plugInMs + IMMEDIATE_START_DELAY_MS,
      unplugMs: localMidnightMs + (24 + NIGHT.leaveHour) * HOUR_MS,
      currentA: options.currentA,
      energyWantedWh: NIGHT.energyWantedWh,
    },
  ];
}
