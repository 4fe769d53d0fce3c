/**
 * The controllers that never reach the car: `mqtt` (Home Assistant drives
 * its own Tesla integration from the plan we publish) and `none` (the plan
 * is advice only). `commandsCar` is false and the loop does not call the
 * commands; if it did anyway, each answers ok false, failure 'refused',
 * with a detail saying who commands this car, and counts as a failure in
 * `usage()`, so such a mistake shows on the status page instead of passing
 * for a command carried out. Reading answers no state and ok true: there
 * is nothing to read, which is not a failure. No calls, ever.
 */
import type { ChargeController, ControlCommandName, ControllerKind, ControlOutcome } from '../controller.js';
import { UsageMeter } from './service-call.js';

function createAdviceOnlyController(
  kind: Extract<ControllerKind, 'mqtt' | 'none'>,
  now: () => number,
): ChargeController {
  const meter = new UsageMeter(now);
  const who =
    kind === 'mqtt'
      ? 'mqtt: Home Assistant commands this car from the published plan, not us'
      : 'none: this charger has no car control; the plan is advice only';
  const refuse = (command: ControlCommandName): Promise<ControlOutcome> =>
    Promise.resolve(meter.finish(meter.begin(command), { fail: 'refused', detail: who }));
  return {
    kind,
    commandsCar: false,
    readChargeState: () =>
      Promise.resolve({
        state: undefined,
        outcome: meter.finish(meter.begin('read_state'), { ok: true, detail: who }),
      }),
    startCharging: () => refuse('charge_start'),
    stopCharging: () => refuse('charge_stop'),
    setChargingAmps: () => refuse('set_charging_amps'),
    usage: () => meter.usage(),
    close: () => Promise.resolve(),
  };
}

export function createNoneController(now: () => number = Date.now): ChargeController {
  return createAdviceOnlyController('none', now);
}

export function createMqttController(now: () => number = Date.now): ChargeController {
  return createAdviceOnlyController('mqtt', now);
}
