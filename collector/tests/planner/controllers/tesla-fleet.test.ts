import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChargeController } from '../../../src/planner/controller.js';
import {
  createTeslaFleetController,
  type TeslaFleetControllerOptions,
} from '../../../src/planner/controllers/tesla-fleet.js';
import { createTeslaTokenSource, type TeslaTokenSource } from '../../../src/planner/controllers/tesla-tokens.js';
import {
  createTeslaFleetServer,
  type TeslaFleetServer,
  type TeslaFleetServerUrls,
} from '../../../src/simulator/tesla-fleet-server.js';
import { createScriptedCar, type ScriptedCar } from './scripted-car.js';

const VIN = '5YJ3E1EA7KF000001';
const CLIENT_ID = 'test-client-id';

let car: ScriptedCar;
let server: TeslaFleetServer;
let urls: TeslaFleetServerUrls;
let dir: string;
let tokenFile: string;
let firstRefreshToken: string;
let controllers: ChargeController[] = [];
/** Waits the controllers asked for, instead of waiting them. */
let sleeps: number[] = [];

beforeEach(async () => {
  car = createScriptedCar({ vin: VIN, wakeDelayMs: 150 });
  server = createTeslaFleetServer({
    car: (vin) => (vin === VIN ? car : undefined),
    cars: () => [car],
    clientId: CLIENT_ID,
  });
  urls = await server.start();
  dir = await mkdtemp(join(tmpdir(), 'tesla-tokens-'));
  // In a folder that does not exist yet: the first refresh creates it.
  tokenFile = join(dir, 'state', 'tesla-tokens.json');
  firstRefreshToken = server.issueRefreshToken();
  sleeps = [];
});

afterEach(async () => {
  await Promise.all(controllers.map((controller) => controller.close()));
  controllers = [];
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

function tokenSource(refreshToken: string | undefined = firstRefreshToken): TeslaTokenSource {
  return createTeslaTokenSource({
    authUrl: urls.authUrl,
    clientId: CLIENT_ID,
    refreshToken,
    tokenFile,
    timeoutMs: 2_000,
  });
}

function controller(
  overrides: Partial<TeslaFleetControllerOptions> = {},
  tokens: TeslaTokenSource = tokenSource(),
): ChargeController {
  const created = createTeslaFleetController({
    vin: VIN,
    apiUrl: urls.apiUrl,
    proxyUrl: urls.proxyUrl,
    tokens,
    timeoutMs: 1_000,
    wakePollMs: 25,
    wakeTimeoutMs: 2_000,
    retry: { attempts: 3, retryBaseMs: 10, retryMaxMs: 40, maxRetryAfterMs: 5_000 },
    sleep: async (ms) => {
      sleeps.push(ms);
      // The wake-up polls must really wait for the car; the retry waits need not.
      if (ms === 25) await new Promise((resolve) => setTimeout(resolve, ms));
    },
    ...overrides,
  });
  controllers.push(created);
  return created;
}

describe('Tesla Fleet controller against the Fleet API and proxy stand-ins', () => {
  it('starts, sets the current and stops the car, reading only the free vehicle endpoint', async () => {
    const fleet = controller();
    expect(fleet.kind).toBe('tesla-fleet');
    expect(fleet.commandsCar).toBe(true);

    const started = await fleet.startCharging();
    expect(started).toMatchObject({ command: 'charge_start', ok: true, failure: null, woke: false });
    expect(car.state(Date.now()).chargingState).toBe('Charging');

    const amps = await fleet.setChargingAmps(16);
    expect(amps.ok).toBe(true);
    expect(car.state(Date.now()).chargeAmps).toBe(16);
    expect(car.commands()).toContainEqual({ name: 'set_charging_amps', amps: 16 });

    const stopped = await fleet.stopCharging();
    expect(stopped.ok).toBe(true);
    expect(car.state(Date.now()).chargingState).toBe('Stopped');

    // One free state look and one command each; one token refresh for all; no billed data read.
    expect(server.calls()).toEqual({ token: 1, vehicle: 3, charge_start: 1, set_charging_amps: 1, charge_stop: 1 });
    expect(fleet.usage().calls).toEqual(server.calls());
    expect(fleet.usage().failures).toBe(0);
  });

  it('reads the charge state with one data call', async () => {
    const fleet = controller();
    const { state, outcome } = await fleet.readChargeState();
    expect(outcome).toMatchObject({ command: 'read_state', ok: true, woke: false, calls: 3 });
    expect(state).toMatchObject({
      batteryLevelPct: 55,
      chargeLimitPct: 80,
      chargingState: 'stopped',
      chargeAmps: 32,
      maxAmps: 48,
      usableCapacityKwh: null,
    });
    expect(server.calls()).toEqual({ token: 1, vehicle: 1, vehicle_data: 1 });
  });

  it('does not wake a sleeping car to read it', async () => {
    const fleet = controller();
    car.sleep();
    const { state, outcome } = await fleet.readChargeState();
    expect(state).toBeUndefined();
    expect(outcome).toMatchObject({ ok: false, failure: 'asleep', woke: false });
    expect(server.calls()).toEqual({ token: 1, vehicle: 1 });
  });

  it('wakes a sleeping car once for a command, polls until it is online, then sends it', async () => {
    const fleet = controller();
    car.sleep();
    const outcome = await fleet.startCharging();
    expect(outcome).toMatchObject({ ok: true, woke: true });
    expect(car.state(Date.now()).chargingState).toBe('Charging');
    const calls = server.calls();
    expect(calls.wake_up).toBe(1);
    expect(calls.charge_start).toBe(1);
    // The car takes 150 ms to wake; polled every 25 ms, bounded.
    expect(calls.vehicle).toBeGreaterThanOrEqual(3);
    expect(calls.vehicle_data).toBeUndefined();
    expect(outcome.calls).toBe((calls.token ?? 0) + (calls.vehicle ?? 0) + 2);
  });

  it("puts the car to sleep through the stand-in's control route, and a command wakes it", async () => {
    const fault = await request(`${urls.apiUrl}/sim/fault`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'asleep', vin: VIN }),
    });
    expect(fault.statusCode).toBe(200);
    await fault.body.dump();
    const fleet = controller();
    expect((await fleet.readChargeState()).outcome.failure).toBe('asleep');
    expect((await fleet.stopCharging()).woke).toBe(true);
    expect(server.calls().wake_up).toBe(1);
  });

  it('gives up as asleep when the car does not wake within the bound', async () => {
    const slowCar = createScriptedCar({ vin: VIN, wakeDelayMs: 60_000 });
    car = slowCar;
    car.sleep();
    const fleet = controller({ wakeTimeoutMs: 200 });
    const outcome = await fleet.startCharging();
    expect(outcome).toMatchObject({ ok: false, failure: 'asleep', woke: true });
    expect(outcome.durationMs).toBeLessThan(1_500);
    expect(server.calls().charge_start).toBeUndefined();
  });

  it('answers the Fleet API refusal of an unsigned command when commands bypass the proxy', async () => {
    const fleet = controller({ proxyUrl: urls.apiUrl });
    const outcome = await fleet.startCharging();
    expect(outcome.ok).toBe(false);
    expect(outcome.failure).toBe('unauthorized');
    expect(outcome.detail).toContain('Tesla Vehicle Command Protocol required');
    expect(car.state(Date.now()).chargingState).toBe('Stopped');
  });

  it("passes on the car's refusal with its reason, and takes 'already so' as done", async () => {
    const fleet = controller();
    car.set({ batteryLevelPct: 80, chargeLimitPct: 80 });
    expect(await fleet.startCharging()).toMatchObject({ ok: false, failure: 'refused', detail: 'complete' });

    server.setFault({ kind: 'refuse', reason: 'charging_unavailable' });
    car.set({ batteryLevelPct: 50 });
    expect(await fleet.startCharging()).toMatchObject({
      ok: false,
      failure: 'refused',
      detail: 'charging_unavailable',
    });

    expect(await fleet.stopCharging()).toMatchObject({ ok: true, failure: null, detail: 'not_charging' });
    expect(fleet.usage()).toMatchObject({
      failures: 2,
      lastFailure: { failure: 'refused', detail: 'charging_unavailable' },
    });
  });

  it('retries a 429 after its Retry-After, and gives up after the bounded tries', async () => {
    const fleet = controller();
    server.setFault({ kind: 'rate-limit', count: 1, retryAfterS: 2 });
    const read = await fleet.readChargeState();
    expect(read.outcome.ok).toBe(true);
    expect(sleeps).toEqual([2_000]);

    server.clearCalls();
    server.setFault({ kind: 'rate-limit', count: 10, retryAfterS: 1 });
    const limited = await fleet.readChargeState();
    expect(limited.outcome).toMatchObject({ ok: false, failure: 'rate_limited' });
    expect(server.calls()).toEqual({ vehicle: 3 });
  });

  it('does not wait for a Retry-After longer than its bound', async () => {
    const fleet = controller();
    await fleet.readChargeState();
    server.clearCalls();
    sleeps = [];
    server.setFault({ kind: 'rate-limit', count: 1, retryAfterS: 3_600 });
    const outcome = await fleet.stopCharging();
    expect(outcome).toMatchObject({ ok: false, failure: 'rate_limited' });
    expect(outcome.detail).toContain('Retry-After 3600 s');
    expect(sleeps).toEqual([]);
    expect(server.calls()).toEqual({ vehicle: 1 });
  });

  it('backs off on a 429 from the proxy, which passes no Retry-After on', async () => {
    const fleet = controller();
    await fleet.readChargeState();
    sleeps = [];
    server.setFault({ kind: 'rate-limit', count: 1, retryAfterS: 7, endpoint: 'charge_start' });
    const outcome = await fleet.startCharging();
    expect(outcome.ok).toBe(true);
    expect(sleeps).toEqual([10]);
    expect(server.calls().charge_start).toBe(2);
  });

  it('retries a 5xx', async () => {
    const fleet = controller();
    server.setFault({ kind: 'server-error', status: 502 });
    const outcome = await fleet.startCharging();
    expect(outcome.ok).toBe(true);
    expect(sleeps).toEqual([10]);
  });

  it('fails as timeout within its bound when the service answers too slowly', async () => {
    const fleet = controller({ timeoutMs: 200, retry: { attempts: 2, retryBaseMs: 10, retryMaxMs: 40 } });
    await fleet.readChargeState();
    server.setFault({ kind: 'slow', delayMs: 5_000, count: 2 });
    const startedMs = Date.now();
    const outcome = await fleet.stopCharging();
    expect(outcome).toMatchObject({ ok: false, failure: 'timeout' });
    expect(Date.now() - startedMs).toBeLessThan(1_500);
    expect(outcome.durationMs).toBeGreaterThanOrEqual(350);
  });

  it('refreshes an expired access token, keeps the rotated refresh token in a 0600 file, and a restart goes on from it', async () => {
    const fleet = controller();
    expect((await fleet.readChargeState()).outcome.ok).toBe(true);
    const firstFile = JSON.parse(await readFile(tokenFile, 'utf8')) as { refresh_token: string };
    expect(firstFile.refresh_token).not.toBe(firstRefreshToken);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);

    server.setFault({ kind: 'expire-access-tokens' });
    const outcome = await fleet.startCharging();
    expect(outcome.ok).toBe(true);
    expect(server.calls().token).toBe(2);
    const secondFile = JSON.parse(await readFile(tokenFile, 'utf8')) as { refresh_token: string };
    expect(secondFile.refresh_token).not.toBe(firstFile.refresh_token);

    // A restart: a new source given the original (now spent) refresh token from the settings.
    server.setFault({ kind: 'expire-access-tokens' });
    const restarted = controller({}, tokenSource(firstRefreshToken));
    expect((await restarted.stopCharging()).ok).toBe(true);
    expect(server.calls().token).toBe(3);

    // Without the file, the spent token is refused: rotation is real.
    await rm(tokenFile);
    const stale = controller({}, tokenSource(firstRefreshToken));
    expect((await stale.readChargeState()).outcome.failure).toBe('unauthorized');
  });

  it('refreshes before the access token expires, without waiting for a 401', async () => {
    let clockMs = Date.now();
    const tokens = createTeslaTokenSource({
      authUrl: urls.authUrl,
      clientId: CLIENT_ID,
      refreshToken: firstRefreshToken,
      tokenFile,
      now: () => clockMs,
    });
    const fleet = controller({}, tokens);
    expect((await fleet.readChargeState()).outcome.ok).toBe(true);
    // Tesla's tokens live 8 hours; 7 h 56 min later is within the refresh margin.
    clockMs += (8 * 60 - 4) * 60_000;
    expect((await fleet.stopCharging()).ok).toBe(true);
    expect(server.calls()).toEqual({ token: 2, vehicle: 2, vehicle_data: 1, charge_stop: 1 });
  });

  it('answers unauthorized, without throwing, when the refresh token is revoked, and does not retry it', async () => {
    const fleet = controller();
    expect((await fleet.readChargeState()).outcome.ok).toBe(true);
    server.setFault({ kind: 'revoke-tokens' });
    const outcome = await fleet.startCharging();
    expect(outcome).toMatchObject({ ok: false, failure: 'unauthorized' });
    expect(outcome.detail).toContain('TESLA_REFRESH_TOKEN');
    const tokenCalls = server.calls().token;
    expect((await fleet.stopCharging()).failure).toBe('unauthorized');
    expect(server.calls().token).toBe(tokenCalls);
    expect(car.commands()).toEqual([]);
  });

  it('shares one token source between the cars of an account without locking either out', async () => {
    const tokens = tokenSource();
    const first = controller({}, tokens);
    const second = controller({}, tokens);
    server.setFault({ kind: 'expire-access-tokens' });
    const outcomes = await Promise.all([first.readChargeState(), second.readChargeState()]);
    expect(outcomes.map((read) => read.outcome.ok)).toEqual([true, true]);
    expect(server.calls().token).toBe(1);
  });

  it('reads an unreadable answer as bad_response', async () => {
    const fleet = controller({ apiUrl: `${urls.apiUrl}/sim/calls?` });
    const { outcome } = await fleet.readChargeState();
    expect(outcome.failure).toBe('bad_response');
  });
});

describe("Tesla Fleet controller and the proxy's own certificate", () => {
  const fixture = (name: string) => readFile(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

  it('trusts the proxy by the certificate it is given, and refuses it otherwise', async () => {
    const tlsCar = createScriptedCar({ vin: VIN });
    const tlsServer = createTeslaFleetServer({
      car: (vin) => (vin === VIN ? tlsCar : undefined),
      cars: () => [tlsCar],
      proxyTls: { cert: await fixture('proxy-cert.pem'), key: await fixture('proxy-key.pem') },
    });
    const tlsUrls = await tlsServer.start();
    try {
      expect(tlsUrls.proxyUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const tokens = createTeslaTokenSource({
        authUrl: tlsUrls.authUrl,
        clientId: CLIENT_ID,
        refreshToken: tlsServer.issueRefreshToken(),
        tokenFile,
      });
      const untrusting = controller({ apiUrl: tlsUrls.apiUrl, proxyUrl: tlsUrls.proxyUrl }, tokens);
      const refused = await untrusting.startCharging();
      expect(refused).toMatchObject({ ok: false, failure: 'unreachable' });
      expect(refused.detail).toMatch(/SELF_SIGNED|certificate/i);
      expect(tlsCar.commands()).toEqual([]);

      const trusting = controller(
        { apiUrl: tlsUrls.apiUrl, proxyUrl: tlsUrls.proxyUrl, proxyCaPem: await fixture('proxy-cert.pem') },
        tokens,
      );
      expect((await trusting.startCharging()).ok).toBe(true);
      expect(tlsCar.state(Date.now()).chargingState).toBe('Charging');
    } finally {
      await Promise.all(controllers.map((created) => created.close()));
      controllers = [];
      await tlsServer.stop();
    }
  });
});
