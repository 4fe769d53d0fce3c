import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTeslaFleetServer, type TeslaFleetServer } from '../../src/simulator/tesla-fleet-server.js';
import { createTessieServer, type TessieServer } from '../../src/simulator/tessie-server.js';
import { createScriptedCar, type ScriptedCar } from '../planner/controllers/scripted-car.js';

const VIN = '5YJ3E1EA7KF000001';
let car: ScriptedCar;
beforeEach(() => {
  car = createScriptedCar({ vin: VIN, wakeDelayMs: 100 });
});
const lookup = { car: (vin: string) => (vin === VIN ? car : undefined), cars: () => [car] };

let stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.map((stop) => stop()));
  stops = [];
});

async function call(
  url: string,
  init: { method?: 'GET' | 'POST'; token?: string; body?: string; contentType?: string } = {},
): Promise<{ status: number; headers: Record<string, unknown>; json: unknown }> {
  const response = await request(url, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body !== undefined ? { 'content-type': init.contentType ?? 'application/json' } : {}),
    },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

async function fleet(): Promise<{ server: TeslaFleetServer; apiUrl: string; proxyUrl: string; token: string }> {
  const server = createTeslaFleetServer({ ...lookup, clientId: 'client' });
  const { apiUrl, proxyUrl } = await server.start();
  stops.push(() => server.stop());
  const issued = await call(`${apiUrl}/oauth2/v3/token`, {
    method: 'POST',
    contentType: 'application/x-www-form-urlencoded',
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: 'client',
      refresh_token: server.issueRefreshToken(),
    }).toString(),
  });
  return { server, apiUrl, proxyUrl, token: (issued.json as { access_token: string }).access_token };
}

describe('Tesla Fleet API and proxy stand-ins', () => {
  it("rotates refresh tokens as Tesla's token endpoint does", async () => {
    const server = createTeslaFleetServer({ ...lookup, clientId: 'client' });
    const { authUrl } = await server.start();
    stops.push(() => server.stop());
    const first = server.issueRefreshToken();
    const form = (refreshToken: string, clientId = 'client') => ({
      method: 'POST' as const,
      contentType: 'application/x-www-form-urlencoded',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: clientId,
        refresh_token: refreshToken,
      }).toString(),
    });
    const issued = await call(`${authUrl}/oauth2/v3/token`, form(first));
    expect(issued.status).toBe(200);
    const body = issued.json as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 28_800 });
    expect(body.refresh_token).not.toBe(first);
    expect(await call(`${authUrl}/oauth2/v3/token`, form(first))).toMatchObject({
      status: 401,
      json: { error: 'login_required', error_description: 'Login required' },
    });
    expect((await call(`${authUrl}/oauth2/v3/token`, form(String(body.refresh_token), 'other'))).status).toBe(401);
    expect((await call(`${authUrl}/oauth2/v3/token`, form(String(body.refresh_token)))).status).toBe(200);
  });

  it('answers the vehicle, 408 for data of a sleeping car, and refuses unsigned commands', async () => {
    const { server, apiUrl, token } = await fleet();
    const list = await call(`${apiUrl}/api/1/vehicles`, { token });
    expect(list).toMatchObject({ status: 200, json: { count: 1, response: [{ vin: VIN, state: 'online' }] } });
    const data = await call(`${apiUrl}/api/1/vehicles/${VIN}/vehicle_data?endpoints=charge_state`, { token });
    expect(data.json).toMatchObject({ response: { charge_state: { battery_level: 55, charging_state: 'Stopped' } } });

    server.setFault({ kind: 'asleep' });
    expect(await call(`${apiUrl}/api/1/vehicles/${VIN}/vehicle_data?endpoints=charge_state`, { token })).toEqual({
      status: 408,
      headers: expect.anything(),
      json: { response: null, error: 'vehicle unavailable: vehicle is offline or asleep', error_description: '' },
    });
    const woken = await call(`${apiUrl}/api/1/vehicles/${VIN}/wake_up`, { method: 'POST', token, body: '{}' });
    expect(woken.json).toMatchObject({ response: { vin: VIN } });

    const unsigned = await call(`${apiUrl}/api/1/vehicles/${VIN}/command/charge_start`, {
      method: 'POST',
      token,
      body: '{}',
    });
    expect(unsigned.status).toBe(403);
    expect((unsigned.json as { error: string }).error).toMatch(/^Tesla Vehicle Command Protocol required/);
    expect(await call(`${apiUrl}/api/1/vehicles`, { token: 'nonsense' })).toMatchObject({ status: 401 });
    expect(server.calls()).toMatchObject({ token: 1, vehicles: 2, vehicle_data: 2, wake_up: 1, command_unsigned: 1 });
  });

  it('signs commands through the proxy with its answers and errors', async () => {
    const { server, proxyUrl, token } = await fleet();
    const command = (name: string, body = '{}') =>
      call(`${proxyUrl}/api/1/vehicles/${VIN}/command/${name}`, { method: 'POST', body, token });
    expect((await command('charge_stop')).json).toEqual({
      response: { result: false, reason: 'not_charging' },
      error: '',
      error_description: '',
    });
    expect((await command('charge_start')).json).toEqual({ response: { result: true, reason: '' } });
    expect((await command('set_charging_amps', '{"charging_amps":20}')).status).toBe(200);
    expect(car.state(Date.now()).chargeAmps).toBe(20);
    expect(
      await call(`${proxyUrl}/api/1/vehicles/${VIN}/command/charge_start`, { method: 'POST', body: '{}' }),
    ).toMatchObject({
      status: 403,
      json: { error: 'client did not provide an OAuth token' },
    });
    const shortVin = await call(`${proxyUrl}/api/1/vehicles/12345/command/charge_start`, {
      method: 'POST',
      token,
      body: '{}',
    });
    expect(shortVin.status).toBe(404);

    server.setFault({ kind: 'rate-limit', retryAfterS: 9 });
    const limited = await command('charge_stop');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeUndefined();

    server.setFault({ kind: 'asleep' });
    expect(await command('charge_stop')).toMatchObject({
      status: 500,
      json: { error: 'vehicle unavailable: vehicle is offline or asleep' },
    });
    // Reads pass through the proxy to the Fleet API.
    expect((await call(`${proxyUrl}/api/1/vehicles/${VIN}`, { token })).json).toMatchObject({
      response: { state: 'asleep' },
    });
  });

  it('takes faults through its control route and refuses invalid ones', async () => {
    const { apiUrl, token } = await fleet();
    expect((await call(`${apiUrl}/sim/fault`, { method: 'POST', body: '{"kind":"volcano"}' })).status).toBe(400);
    expect(
      (await call(`${apiUrl}/sim/fault`, { method: 'POST', body: '{"kind":"rate-limit","retryAfterS":4}' })).status,
    ).toBe(200);
    const limited = await call(`${apiUrl}/api/1/vehicles/${VIN}`, { token });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('4');
    expect((await call(`${apiUrl}/sim/calls`)).json).toMatchObject({ token: 1, vehicle: 1 });
  });
});

describe('Tessie stand-in', () => {
  async function tessie(): Promise<{ server: TessieServer; url: string }> {
    const server = createTessieServer({ ...lookup, token: 'secret', wakePollMs: 10 });
    const { url } = await server.start();
    stops.push(() => server.stop());
    return { server, url };
  }

  it('answers state, status, wake and commands in its formats, token in the header or the query', async () => {
    const { url } = await tessie();
    expect((await call(`${url}/${VIN}/state`, { token: 'wrong' })).status).toBe(401);
    const state = await call(`${url}/${VIN}/state?access_token=secret`);
    expect(state.json).toMatchObject({
      vin: VIN,
      state: 'online',
      charge_state: { battery_level: 55, energy_remaining: 41.25 },
    });
    car.sleep();
    expect((await call(`${url}/${VIN}/status`, { token: 'secret' })).json).toEqual({ status: 'asleep' });
    expect((await call(`${url}/${VIN}/command/start_charging`, { method: 'POST', token: 'secret' })).json).toEqual({
      result: true,
      woke: true,
    });
    expect(
      (await call(`${url}/${VIN}/command/set_charging_amps?amps=18`, { method: 'POST', token: 'secret' })).json,
    ).toEqual({
      result: true,
    });
    expect(car.state(Date.now()).chargeAmps).toBe(18);
    expect((await call(`${url}/${VIN}/command/start_charging`, { method: 'POST', token: 'secret' })).json).toEqual({
      result: false,
      reason: 'is_charging',
    });
    expect((await call(`${url}/${VIN}/wake`, { method: 'POST', token: 'secret' })).json).toEqual({ result: true });
    expect(
      (await call(`${url}/${VIN}/command/stop_charging?wait_for_completion=false`, { method: 'POST', token: 'secret' }))
        .status,
    ).toBe(200);
    expect((await call(`${url}/${VIN}/command/set_charging_amps`, { method: 'POST', token: 'secret' })).status).toBe(
      400,
    );
  });
});
