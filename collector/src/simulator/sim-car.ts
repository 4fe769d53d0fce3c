/**
 * The car behind a simulated Wall Connector, as the car-control services see
 * it (Tesla's Fleet API and vehicle-command proxy, Tessie: see
 * tesla-fleet-server.ts and tessie-server.ts). The charger model owns the car:
 * what the car is told changes what the Wall Connector's vitals show (a
 * charge_stop opens the contactor, set_charging_amps changes the current) and
 * the state of charge rises with the energy delivered.
 *
 * Times are simulated milliseconds; every call names the instant it happens
 * at, so the car stays a function of its seed and the commands it was given.
 */

/** Tesla's `charge_state.charging_state` values. */
export type SimChargingState = 'Disconnected' | 'NoPower' | 'Starting' | 'Charging' | 'Stopped' | 'Complete';

export interface SimCarState {
  vin: string;
  displayName: string;
  /** `online` or `asleep`; an asleep car answers nothing but wake_up. */
  online: boolean;
  /** Percent, whole numbers as the car reports them. */
  batteryLevelPct: number;
  chargeLimitPct: number;
  usableCapacityKwh: number;
  chargingState: SimChargingState;
  /** The current the car asks for (set_charging_amps), and the most it may. */
  chargeAmps: number;
  chargeCurrentRequestMax: number;
  chargerActualCurrentA: number;
  chargerPowerKw: number;
  chargerVoltage: number;
  /** kWh added since plug-in. */
  chargeEnergyAddedKwh: number;
  minutesToFullCharge: number;
  pluggedIn: boolean;
  simMs: number;
}

export type SimCarCommand =
  | { name: 'charge_start' }
  | { name: 'charge_stop' }
  | { name: 'set_charging_amps'; amps: number }
  | { name: 'set_charge_limit'; percent: number };

/** Tesla's command answer: `result` false with a reason such as `is_charging`, `not_charging`, `complete`. */
export interface SimCommandResult {
  result: boolean;
  reason: string;
}

export interface SimulatedCar {
  readonly vin: string;
  state(simMs: number): SimCarState;
  /** Wakes the car; it is online from the returned instant. */
  wake(simMs: number): { onlineAtMs: number };
  /** Carries out a command at `simMs` (the car must be online). */
  command(command: SimCarCommand, simMs: number): SimCommandResult;
}
