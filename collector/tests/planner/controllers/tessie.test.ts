import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChargeController } from '../../../src/planner/controller.js';
import { createTessieController, type TessieControllerOptions } from '../../../src/planner/controllers/tessie.js';
import { createTessieServer, type TessieServer } from '../../../src/simulator/tessie-server.js';
import { createScriptedCar, type ScriptedCar } from './scripted-car.js';

const VIN = '7SAYGDEE1PA000002';
const TOKEN = 'tessie-test-token';

let car: ScriptedCar;
let server: TessieServer;
let url: string;
let controllers: ChargeController[] = [];
let sleeps: number[] = [];

beforeEach(async () => {
  car = createScriptedCar({ vin: VIN, wakeDelayMs: 150 });
  server = createTessieServer({
    car: (vin) => (vin === VIN ? car : undefined),
    cars: () => [car],
    token: TOKEN,
    wakePollMs: 20,
  });
  ({ url } = await server.start());
  sleeps = [];
});

afterEach(async () => {
  await Promise.all(controllers.map((controller) => controller.close()));
  controllers = [];
  await server.stop();
});

function controller(overrides: Partial<TessieControllerOptions> = {}): ChargeController {
  const created = createTessieController({
    vin: VIN,
    apiUrl: url,
    token: TOKEN,
    timeoutMs: 1_000,
    retryDurationS: 2,
    retry: { attempts: 3, retryBaseMs: 10, retryMaxMs: 40, maxRetryAfterMs: 5_000 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...overrides,
  });
  controllers.push(created);
  return created;
}

describe('Tessie controller against the Tessie stand-in', () => {
  it('starts, sets the current and stops the car with one call each', async () => {
    const tessie = controller();
    expect(tessie.kind).toBe('tessie');
    expect(await tessie.startCharging()).toMatchObject({ ok: true, woke: false, calls: 1 });
    expect(car.state(Date.now()).chargingState).toBe('Charging');
    expect((await tessie.setChargingAmps(12.4)).ok).toBe(true);
    expect(car.state(Date.now()).chargeAmps).toBe(12);
    expect((await tessie.stopCharging()).ok).toBe(true);
    expect(car.state(Date.now()).chargingState).toBe('Stopped');
    expect(server.calls()).toEqual({ start_charging: 1, set_charging_amps: 1, stop_charging: 1 });
    expect(tessie.usage().calls).toEqual(server.calls());
  });

  it("reads the charge state, with the pack's capacity, in one call and without waking a sleeping car", async () => {
    const tessie = controller();
    car.sleep();
    const { state, outcome } = await tessie.readChargeState();
    expect(outcome).toMatchObject({ ok: true, calls: 1, woke: false });
    expect(outcome.detail).toContain('asleep');
    expect(state).toMatchObject({
      batteryLevelPct: 55,
      chargeLimitPct: 80,
      chargingState: 'stopped',
      usableCapacityKwh: 75,
    });
    expect(car.state(Date.now()).online).toBe(false);
    expect(server.calls()).toEqual({ state: 1 });
  });

  it('lets Tessie wake a sleeping car for a command, and says it woke', async () => {
    const tessie = controller();
    car.sleep();
    const outcome = await tessie.startCharging();
    expect(outcome).toMatchObject({ ok: true, woke: true, calls: 1 });
    expect(car.state(Date.now()).chargingState).toBe('Charging');
  });

  it('fails as asleep when Tessie cannot wake the car within retry_duration', async () => {
    car = createScriptedCar({ vin: VIN, wakeDelayMs: 60_000 });
    car.sleep();
    const tessie = controller({ retryDurationS: 0.3 });
    const outcome = await tessie.startCharging();
    expect(outcome).toMatchObject({ ok: false, failure: 'asleep', woke: true });
  });

  it('answers unauthorized for a token Tessie refuses', async () => {
    const tessie = controller({ token: 'wrong' });
    expect((await tessie.readChargeState()).outcome).toMatchObject({ ok: false, failure: 'unauthorized', calls: 1 });
    server.setFault({ kind: 'revoke-tokens' });
    expect((await controller().startCharging()).failure).toBe('unauthorized');
  });

  it("passes on the car's refusal and takes 'already so' as done", async () => {
    const tessie = controller();
    car.set({ batteryLevelPct: 90 });
    expect(await tessie.startCharging()).toMatchObject({ ok: false, failure: 'refused', detail: 'complete' });
    expect(await tessie.stopCharging()).toMatchObject({ ok: true, detail: 'not_charging' });
  });

  it('retries a 429 after its Retry-After, and a 5xx after a backoff', async () => {
    const tessie = controller();
    server.setFault({ kind: 'rate-limit', retryAfterS: 3 });
    expect((await tessie.readChargeState()).outcome.ok).toBe(true);
    server.setFault({ kind: 'server-error', status: 500 });
    expect((await tessie.startCharging()).ok).toBe(true);
    expect(sleeps).toEqual([3_000, 10]);
    expect(server.calls()).toEqual({ state: 2, start_charging: 2 });
  });

  it('fails as timeout within its bound when Tessie answers too slowly', async () => {
    const tessie = controller({ timeoutMs: 200, retry: { attempts: 2, retryBaseMs: 10, retryMaxMs: 40 } });
    server.setFault({ kind: 'slow', delayMs: 5_000, count: 2 });
    const startedMs = Date.now();
    const { outcome } = await tessie.readChargeState();
    expect(outcome).toMatchObject({ ok: false, failure: 'timeout', calls: 2 });
    expect(Date.now() - startedMs).toBeLessThan(1_500);
  });
});
