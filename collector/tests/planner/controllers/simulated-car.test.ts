/**
 * The controllers against the stand-ins serving the charger model's own car:
 * what a controller tells the car shows in the Wall Connector's vitals.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChargeController } from '../../../src/planner/controller.js';
import { createTeslaFleetController } from '../../../src/planner/controllers/tesla-fleet.js';
import { createTeslaTokenSource } from '../../../src/planner/controllers/tesla-tokens.js';
import { createTessieController } from '../../../src/planner/controllers/tessie.js';
import { CAR_SLEEP_AFTER_MS } from '../../../src/simulator/car-profile.js';
import { createChargerModel } from '../../../src/simulator/charger-model.js';
import { createTeslaFleetServer } from '../../../src/simulator/tesla-fleet-server.js';
import { createTessieServer } from '../../../src/simulator/tessie-server.js';

const START_MS = Date.UTC(2026, 5, 1, 3, 0);
const MINUTE_MS = 60_000;

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

function model() {
  const charger = createChargerModel({ index: 0, seed: 7, startTimeMs: START_MS, scenario: 'session' });
  // The simulated clock: moved by the test (and by the controller's waits), never by itself.
  const clock = { simMs: START_MS + 10 * MINUTE_MS };
  return { charger, car: charger.car, clock };
}

describe('controllers and the simulated car behind a Wall Connector', () => {
  it('Tesla Fleet: a stop opens the contactor, a start closes it again, the amps follow', async () => {
    const { charger, car, clock } = model();
    expect(charger.stateAt(clock.simMs).contactorClosed).toBe(true);
    const server = createTeslaFleetServer({
      car: (vin) => (vin === car.vin ? car : undefined),
      cars: () => [car],
      simNow: () => clock.simMs,
    });
    const urls = await server.start();
    cleanups.push(() => server.stop());
    const dir = await mkdtemp(join(tmpdir(), 'tesla-sim-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const fleet: ChargeController = createTeslaFleetController({
      vin: car.vin,
      apiUrl: urls.apiUrl,
      proxyUrl: urls.proxyUrl,
      tokens: createTeslaTokenSource({
        authUrl: urls.authUrl,
        clientId: 'client',
        refreshToken: server.issueRefreshToken(),
        tokenFile: join(dir, 'tokens.json'),
      }),
      wakePollMs: 5_000,
      // The car's wake-up takes 10 to 30 simulated seconds: each poll moves the simulated clock on.
      sleep: async (ms) => {
        clock.simMs += ms;
      },
    });
    cleanups.push(() => fleet.close());

    const read = await fleet.readChargeState();
    expect(read.state).toMatchObject({ chargingState: 'charging', chargeLimitPct: car.identity.chargeLimitPct });

    expect((await fleet.stopCharging()).ok).toBe(true);
    clock.simMs += 10_000;
    expect(charger.stateAt(clock.simMs).contactorClosed).toBe(false);
    expect(charger.stateAt(clock.simMs).vehicleConnected).toBe(true);

    // Idle long enough, the car sleeps; the next command wakes it first.
    clock.simMs += CAR_SLEEP_AFTER_MS + MINUTE_MS;
    expect(car.online(clock.simMs)).toBe(false);
    const started = await fleet.startCharging();
    expect(started).toMatchObject({ ok: true, woke: true });
    expect((await fleet.setChargingAmps(16)).ok).toBe(true);
    clock.simMs += 60_000;
    const vitals = charger.stateAt(clock.simMs);
    expect(vitals.contactorClosed).toBe(true);
    expect(vitals.chargingCurrentA).toBeGreaterThan(14);
    expect(vitals.chargingCurrentA).toBeLessThan(18);
    expect(server.calls()).toMatchObject({
      wake_up: 1,
      vehicle_data: 1,
      charge_stop: 1,
      charge_start: 1,
      set_charging_amps: 1,
    });
  });

  it('Tessie: a stop and a start carried out on the simulated car', async () => {
    const { charger, car, clock } = model();
    const server = createTessieServer({
      car: (vin) => (vin === car.vin ? car : undefined),
      cars: () => [car],
      token: 't',
      simNow: () => clock.simMs,
    });
    const { url } = await server.start();
    cleanups.push(() => server.stop());
    const tessie = createTessieController({ vin: car.vin, apiUrl: url, token: 't' });
    cleanups.push(() => tessie.close());
    const read = await tessie.readChargeState();
    expect(read.state?.usableCapacityKwh).toBeCloseTo(car.identity.usableCapacityKwh, 0);
    expect((await tessie.stopCharging()).ok).toBe(true);
    clock.simMs += 10_000;
    expect(charger.stateAt(clock.simMs).contactorClosed).toBe(false);
    expect((await tessie.startCharging()).ok).toBe(true);
    clock.simMs += 60_000;
    expect(charger.stateAt(clock.simMs).contactorClosed).toBe(true);
  });
});
