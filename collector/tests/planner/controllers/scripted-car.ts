/**
 * A small scripted car for the controller tests: the outside world the
 * car-control stand-ins serve, implementing the simulator's SimulatedCar
 * contract. It answers commands the way a Tesla does (`is_charging`,
 * `not_charging`, `complete`), sleeps when told, and is online a fixed time
 * after a wake-up. Times are the servers' clock, real ms here.
 */
import type {
  CarTruth,
  SimCarCommand,
  SimCarState,
  SimCommandResult,
  SimulatedCar,
} from '../../../src/simulator/sim-car.js';

export interface ScriptedCar extends SimulatedCar {
  /** Goes to sleep now; online again `wakeDelayMs` after a wake-up. */
  sleep(): void;
  set(changes: Partial<Pick<SimCarState, 'batteryLevelPct' | 'chargeLimitPct' | 'pluggedIn' | 'chargingState'>>): void;
  commands(): SimCarCommand[];
}

export function createScriptedCar(options: { vin: string; wakeDelayMs?: number }): ScriptedCar {
  const wakeDelayMs = options.wakeDelayMs ?? 200;
  let online = true;
  let onlineAtMs = 0;
  let batteryLevelPct = 55;
  let chargeLimitPct = 80;
  let pluggedIn = true;
  let chargingState: SimCarState['chargingState'] = 'Stopped';
  let chargeAmps = 32;
  const received: SimCarCommand[] = [];

  const isOnline = (simMs: number) => online || simMs >= onlineAtMs;

  const identity = {
    vin: options.vin,
    displayName: 'Test car',
    model: 'Model 3 Long Range',
    usableCapacityKwh: 75,
    chargeLimitPct: 80,
    efficiency: 0.9,
    initialSocPct: 55,
  };

  return {
    vin: options.vin,
    identity,
    online: isOnline,
    truth(): CarTruth {
      return { ...identity, commands: [], runs: [], sessions: [] };
    },
    appCommand(command, simMs) {
      return this.command(command, simMs);
    },
    state(simMs) {
      const charging = chargingState === 'Charging';
      return {
        vin: options.vin,
        displayName: 'Test car',
        online: isOnline(simMs),
        batteryLevelPct,
        chargeLimitPct,
        usableCapacityKwh: 75,
        chargingState,
        chargeAmps,
        chargeCurrentRequestMax: 48,
        chargerActualCurrentA: charging ? chargeAmps : 0,
        chargerPowerKw: charging ? (chargeAmps * 240) / 1000 : 0,
        chargerVoltage: charging ? 240 : 0,
        chargeEnergyAddedKwh: 3.25,
        minutesToFullCharge: charging ? 95 : 0,
        pluggedIn,
        simMs,
        batteryLevelExactPct: batteryLevelPct,
        scheduledChargingPending: false,
        scheduledChargingStartMs: null,
      };
    },
    wake(simMs) {
      if (!isOnline(simMs) && online === false && onlineAtMs === Number.POSITIVE_INFINITY) {
        onlineAtMs = simMs + wakeDelayMs;
      }
      return { onlineAtMs: isOnline(simMs) ? simMs : onlineAtMs };
    },
    command(command, simMs): SimCommandResult {
      if (!isOnline(simMs)) throw new Error('a command reached a sleeping car');
      received.push(command);
      switch (command.name) {
        case 'charge_start':
          if (!pluggedIn) return { result: false, reason: 'disconnected' };
          if (chargingState === 'Charging') return { result: false, reason: 'is_charging' };
          if (batteryLevelPct >= chargeLimitPct) return { result: false, reason: 'complete' };
          chargingState = 'Charging';
          return { result: true, reason: '' };
        case 'charge_stop':
          if (chargingState !== 'Charging') return { result: false, reason: 'not_charging' };
          chargingState = 'Stopped';
          return { result: true, reason: '' };
        case 'set_charging_amps':
          chargeAmps = Math.max(0, Math.min(48, command.amps));
          return { result: true, reason: '' };
        case 'set_charge_limit':
          chargeLimitPct = Math.max(50, Math.min(100, command.percent));
          return { result: true, reason: '' };
      }
    },
    sleep() {
      online = false;
      onlineAtMs = Number.POSITIVE_INFINITY;
    },
    set(changes) {
      batteryLevelPct = changes.batteryLevelPct ?? batteryLevelPct;
      chargeLimitPct = changes.chargeLimitPct ?? chargeLimitPct;
      pluggedIn = changes.pluggedIn ?? pluggedIn;
      chargingState = changes.chargingState ?? chargingState;
    },
    commands: () => [...received],
  };
}
