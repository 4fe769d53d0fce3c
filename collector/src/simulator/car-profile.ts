import { between, createRandom, hash32, unitFrom } from './random.js';

/**
 * Who the car behind a simulated Wall Connector is: a VIN, a name, a battery
 * and the owner's charge limit, drawn from the seed and the charger index so
 * the same run always has the same cars. The constants here are the car's
 * habits that the charger model plays out (how long it takes to answer a
 * command, when it falls asleep, how long a wake-up takes).
 */

export interface SimCarIdentity {
  vin: string;
  displayName: string;
  /** e.g. "Model 3 Long Range". */
  model: string;
  /** Usable battery capacity, kWh. */
  usableCapacityKwh: number;
  /** The owner's charge limit when the simulation starts, percent. */
  chargeLimitPct: number;
  /** Wall to battery: energy into the battery per Wh the Wall Connector delivers. */
  efficiency: number;
  /** State of charge before the first plug-in of the run, percent. */
  initialSocPct: number;
}

/** A charge_start takes effect this long after the car receives it (the car asks, the contactor closes). */
export const CAR_START_DELAY_MS = 5_000;
/** A charge_stop: the car winds its request down and the contactor opens this long after. */
export const CAR_STOP_DELAY_MS = 2_000;
/** set_charging_amps while charging: the car moves to the new current over this long. */
export const CAR_AMPS_SLEW_MS = 2_000;
/**
 * A Tesla not charging and not spoken to goes to sleep after about 10 to 15
 * minutes of inactivity (owners' and TeslaMate's observations); reading its
 * data does not count here, only commands, wake-ups, plugging in and charging.
 */
export const CAR_SLEEP_AFTER_MS = 15 * 60_000;
/** A wake_up brings an asleep car online after 10 to 30 s. */
export const CAR_WAKE_MIN_MS = 10_000;
export const CAR_WAKE_MAX_MS = 30_000;
/** Tesla's app and API accept charge limits in this range. */
export const CHARGE_LIMIT_MIN_PCT = 50;
export const CHARGE_LIMIT_MAX_PCT = 100;
/**
 * Below this the car takes a set_charging_amps request only when it comes
 * twice in a row (the first sets this value), and it goes back to it when
 * charging starts again at the next plug-in (owners' reports on Tesla's
 * API and BLE commands; the app's own floor is 5 A).
 */
export const LOW_AMPS_FLOOR_A = 5;
/** A car never arrives emptier than this; a plan that would need less is cut to fit the battery. */
export const MIN_ARRIVAL_SOC_PCT = 5;

interface CarModelSpec {
  model: string;
  usableCapacityKwh: number;
  /** VIN positions 1-8 (maker, line, body, restraint, fuel, motor) and the plant letter (position 11). */
  vinPrefix: string;
  plant: string;
}

// Usable capacities as owners and battery trackers report them.
const CAR_MODELS: readonly CarModelSpec[] = [
  { model: 'Model 3 RWD', usableCapacityKwh: 57.5, vinPrefix: '5YJ3E1EA', plant: 'F' },
  { model: 'Model 3 RWD', usableCapacityKwh: 57.5, vinPrefix: 'LRW3E7EK', plant: 'C' },
  { model: 'Model 3 Long Range', usableCapacityKwh: 75, vinPrefix: '5YJ3E1EB', plant: 'F' },
  { model: 'Model 3 Long Range', usableCapacityKwh: 78.1, vinPrefix: '5YJ3E1EB', plant: 'F' },
  { model: 'Model Y Long Range', usableCapacityKwh: 75, vinPrefix: '7SAYGDEE', plant: 'F' },
  { model: 'Model Y Long Range', usableCapacityKwh: 78.1, vinPrefix: '7SAYGDEE', plant: 'A' },
];
/** Model years 2020 to 2025 (VIN position 10). */
const MODEL_YEAR_CODES = ['L', 'M', 'N', 'P', 'R', 'S'];
const NAMES = ['Sparky', 'Blue Thunder', 'Daily Driver', 'Midnight', 'Red Rocket', 'Silver Arrow', 'Volt Wagon'];

export function drawCarIdentity(seed: number, index: number): SimCarIdentity {
  const random = createRandom(hash32(seed, index, 0xca7));
  const spec = CAR_MODELS[Math.floor(random() * CAR_MODELS.length)] as CarModelSpec;
  const year = MODEL_YEAR_CODES[Math.floor(random() * MODEL_YEAR_CODES.length)] as string;
  // The charger index is part of the serial so the cars of one run never share a VIN.
  const serial = `${Math.floor(random() * 1000)
    .toString()
    .padStart(3, '0')}${String(index % 1000).padStart(3, '0')}`;
  const withoutCheck = `${spec.vinPrefix}0${year}${spec.plant}${serial}`;
  const vin = `${spec.vinPrefix}${vinCheckDigit(withoutCheck)}${year}${spec.plant}${serial}`;
  // Consecutive chargers get different names: the seed picks where the list starts.
  const name = NAMES[(hash32(seed, 0xca7) + index) % NAMES.length] as string;
  return {
    vin,
    displayName: index < NAMES.length ? name : `${name} ${Math.floor(index / NAMES.length) + 1}`,
    model: spec.model,
    usableCapacityKwh: spec.usableCapacityKwh,
    chargeLimitPct: random() < 0.7 ? 80 : 90,
    efficiency: Math.round(between(random, 0.88, 0.92) * 1000) / 1000,
    initialSocPct: Math.round(between(random, 45, 75)),
  };
}

/** How long an asleep car told to wake at `atMs` takes to come online. */
export function wakeDelayMs(seed: number, index: number, atMs: number): number {
  const u = unitFrom(seed, index, 0x3a4e, atMs);
  return Math.round(CAR_WAKE_MIN_MS + u * (CAR_WAKE_MAX_MS - CAR_WAKE_MIN_MS));
}

const VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/** The check digit of a 17-character VIN (position 9, ISO 3779 as used in North America). */
export function vinCheckDigit(vin: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i += 1) sum += vinValue(vin.charAt(i)) * (VIN_WEIGHTS[i] as number);
  const remainder = sum % 11;
  return remainder === 10 ? 'X' : String(remainder);
}

// ISO 3779 transliteration: the letters a VIN may use (no I, O, Q) and the value of each.
const VIN_LETTERS = 'ABCDEFGHJKLMNPRSTUVWXYZ';
const VIN_LETTER_VALUES = '12345678123457923456789';

function vinValue(char: string): number {
  if (char >= '0' && char <= '9') return Number(char);
  const at = VIN_LETTERS.indexOf(char);
  if (at < 0 || char.length !== 1) throw new Error(`not a VIN character: ${char}`);
  return Number(VIN_LETTER_VALUES.charAt(at));
}
