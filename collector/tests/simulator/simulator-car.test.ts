import { afterEach, describe, expect, it } from 'vitest';
import { CAR_START_DELAY_MS, CAR_STOP_DELAY_MS } from '../../src/simulator/car-profile.js';
import type { SimCarState } from '../../src/simulator/sim-car.js';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/simulator-server.js';
import { getJson, httpRequest } from './http.js';
import { must } from './must.js';

const START_MS = Date.UTC(2025, 6, 1, 22, 0, 0);
const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;

interface Vitals {
  contactor_closed: boolean;
  vehicle_connected: boolean;
  vehicle_current_a: number;
  session_energy_wh: number;
  evse_state: number;
}

const running: Simulator[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()?.stop();
});

/** A simulator on a clock the test moves by hand, in simulated ms (acceleration 1). */
async function startSimulator(options: Partial<SimulatorOptions> = {}) {
  let realNowMs = 5_000_000;
  const simulator = createSimulator({
    chargers: 1,
    scenario: 'session',
    seed: 21,
    startTimeMs: START_MS,
    now: () => realNowMs,
    ...options,
  });
  running.push(simulator);
  const chargers = await simulator.start();
  const advance = (ms: number) => {
    realNowMs += ms;
  };
  return { simulator, chargers, advance, host: must(chargers[0]).host };
}

describe('simulator server: the cars', () => {
  it('gives each charger a car, by VIN, in the charger list and at GET /sim/cars', async () => {
    const { simulator, chargers } = await startSimulator({ chargers: 3 });
    const cars = simulator.cars();
    expect(cars.map((car) => car.vin)).toEqual(chargers.map((c) => c.vin));
    expect(new Set(cars.map((car) => car.vin)).size).toBe(3);
    for (const car of cars) expect(simulator.carByVin(car.vin)).toBe(car);
    expect(simulator.carByVin('5YJ3E1EA0LF000000')).toBeUndefined();
    const listed = await getJson<{ index: number; vin: string; host: string; usableCapacityKwh: number }[]>(
      must(chargers[1]).host,
      '/sim/cars',
    );
    expect(listed.map((car) => [car.index, car.vin, car.host])).toEqual(chargers.map((c) => [c.index, c.vin, c.host]));
    expect(listed.map((car) => car.usableCapacityKwh)).toEqual(cars.map((car) => car.identity.usableCapacityKwh));
  });

  it('charge_stop opens the contactor in the served vitals within seconds; charge_start closes it again', async () => {
    const { simulator, advance, host } = await startSimulator();
    const car = must(simulator.cars()[0]);
    advance(20 * MINUTE_MS);
    const charging = await getJson<Vitals>(host, '/api/1/vitals');
    expect(charging).toMatchObject({ contactor_closed: true, evse_state: 11 });

    expect(car.command({ name: 'charge_stop' }, simulator.simTimeMs())).toEqual({ result: true, reason: '' });
    advance(CAR_STOP_DELAY_MS + SECOND_MS);
    const stopped = await getJson<Vitals>(host, '/api/1/vitals');
    expect(stopped).toMatchObject({ contactor_closed: false, vehicle_connected: true, evse_state: 9 });
    expect(stopped.vehicle_current_a).toBeLessThan(1);
    expect((await getJson<{ state: SimCarState }>(host, '/sim/car')).state.chargingState).toBe('Stopped');

    advance(5 * MINUTE_MS);
    const frozen = await getJson<Vitals>(host, '/api/1/vitals');
    expect(frozen.session_energy_wh).toBe(stopped.session_energy_wh);
    expect(car.command({ name: 'charge_start' }, simulator.simTimeMs()).result).toBe(true);
    advance(CAR_START_DELAY_MS + 2 * MINUTE_MS);
    const resumed = await getJson<Vitals>(host, '/api/1/vitals');
    expect(resumed).toMatchObject({ contactor_closed: true, evse_state: 11 });
    expect(resumed.vehicle_current_a).toBeCloseTo(48, 0);
    expect(resumed.session_energy_wh).toBeGreaterThan(frozen.session_energy_wh + 200);

    expect(car.command({ name: 'set_charging_amps', amps: 16 }, simulator.simTimeMs()).result).toBe(true);
    advance(10 * SECOND_MS);
    const slower = await getJson<Vitals>(host, '/api/1/vitals');
    expect(slower.vehicle_current_a).toBeCloseTo(16, 0);
  });

  it('acts as the owner in the Tesla app at POST /sim/car/app, and the truth records it', async () => {
    const { simulator, advance, host } = await startSimulator();
    const car = must(simulator.cars()[0]);
    advance(20 * MINUTE_MS);
    car.command({ name: 'charge_stop' }, simulator.simTimeMs());
    // Long enough stopped for the car to fall asleep: the app still reaches it, the services do not.
    advance(20 * MINUTE_MS);
    const car0 = await getJson<{ vin: string; state: SimCarState }>(host, '/sim/car');
    expect(car0.vin).toBe(car.vin);
    expect(car0.state.online).toBe(false);
    const reply = await httpRequest(host, '/sim/car/app', 'POST', JSON.stringify({ name: 'charge_start' }));
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ result: true, reason: '' });
    advance(CAR_START_DELAY_MS + MINUTE_MS);
    expect((await getJson<Vitals>(host, '/api/1/vitals')).contactor_closed).toBe(true);

    const truth = await getJson<{
      car: { commands: { source: string; command: { name: string } }[]; runs: { startedBy: string }[] };
    }>(host, '/sim/truth');
    expect(truth.car.commands.map((c) => [c.source, c.command.name])).toEqual([
      ['api', 'charge_stop'],
      ['app', 'charge_start'],
    ]);
    expect(truth.car.runs.map((run) => run.startedBy)).toEqual(['plan', 'app']);
    expect(simulator.truth(0).car.runs).toHaveLength(2);

    const bad = await httpRequest(host, '/sim/car/app', 'POST', JSON.stringify({ name: 'set_charging_amps' }));
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('amps');
    expect((await httpRequest(host, '/sim/car/app', 'POST', '{not json')).status).toBe(400);
    expect(() => simulator.appCommand(0, { name: 'set_charge_limit', percent: Number.NaN })).toThrow(/percent/);
  });
});
