import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCarControlConfig, parseCarControl } from '../../src/planner/controller-config.js';
import { createChargeControllers } from '../../src/planner/controllers/create-controllers.js';

const VIN_A = '5YJ3E1EA7KF000001';
const VIN_B = '7SAYGDEE1PA000002';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'car-control-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('CAR_CONTROL', () => {
  it('reads charger=kind[:VIN] pairs like CHARGERS', () => {
    expect(
      parseCarControl(`garage=tesla-fleet:${VIN_A}, barn=tessie:${VIN_B.toLowerCase()}\nshed=mqtt;loft=none`),
    ).toEqual([
      { charger: 'garage', kind: 'tesla-fleet', vin: VIN_A },
      { charger: 'barn', kind: 'tessie', vin: VIN_B },
      { charger: 'shed', kind: 'mqtt' },
      { charger: 'loft', kind: 'none' },
    ]);
    expect(parseCarControl('')).toEqual([]);
  });

  it.each([
    ['garage', /not charger=kind/],
    ['garage=', /not charger=kind/],
    ['garage=tesla', /kind must be one of tesla-fleet, tessie, mqtt, none/],
    ['garage=tesla-fleet', /needs the car's VIN/],
    [`garage=mqtt:${VIN_A}`, /takes no VIN/],
    ['garage=tessie:5YJ3E1EA7KF00000', /is not a VIN/],
    ['garage=tessie:5YJ3E1EA7KF00000O', /is not a VIN/],
    [`garage=mqtt,garage=none`, /appears twice/],
    ['ga/rage=mqtt', /may only hold/],
  ])('refuses %s', (value, message) => {
    expect(() => parseCarControl(value)).toThrow(message);
  });
});

describe('loadCarControlConfig', () => {
  const tesla = (extra: Record<string, string> = {}) => ({
    CAR_CONTROL: `garage=tesla-fleet:${VIN_A}`,
    TESLA_CLIENT_ID: 'client',
    TESLA_PROXY_URL: 'https://tesla-proxy:4443',
    TESLA_REFRESH_TOKEN: 'refresh',
    TESLA_TOKEN_FILE: join(dir, 'tokens.json'),
    ...extra,
  });

  it('has defaults and needs nothing without car control', () => {
    const config = loadCarControlConfig({});
    expect(config.entries).toEqual([]);
    expect(config.teslaFleet.apiUrl).toBe('https://fleet-api.prd.na.vn.cloud.tesla.com');
    expect(config.teslaFleet.authUrl).toBe('https://auth.tesla.com');
    expect(config.tessie).toEqual({ apiUrl: 'https://api.tessie.com', token: undefined, retryDurationS: 40 });
    expect(config.timeoutMs).toBe(10_000);
    expect(config.wakeTimeoutMs).toBe(60_000);
  });

  it('names each missing Tesla setting', () => {
    const error = (() => {
      try {
        loadCarControlConfig({ CAR_CONTROL: `garage=tesla-fleet:${VIN_A}`, TESLA_TOKEN_FILE: join(dir, 'none.json') });
      } catch (caught) {
        return (caught as Error).message;
      }
      return '';
    })();
    expect(error).toMatch(/invalid car control configuration/);
    expect(error).toMatch(/TESLA_CLIENT_ID/);
    expect(error).toMatch(/TESLA_PROXY_URL/);
    expect(error).toMatch(/TESLA_REFRESH_TOKEN/);
  });

  it('accepts a token file in place of TESLA_REFRESH_TOKEN, and the token from TESLA_REFRESH_TOKEN_FILE', async () => {
    const tokenFile = join(dir, 'tokens.json');
    await writeFile(tokenFile, '{"refresh_token":"r"}');
    const { TESLA_REFRESH_TOKEN: _unused, ...withoutToken } = tesla({ TESLA_TOKEN_FILE: tokenFile });
    expect(loadCarControlConfig(withoutToken).teslaFleet.refreshToken).toBeUndefined();
    const secret = join(dir, 'secret');
    await writeFile(secret, 'from-file\n');
    const { TESLA_REFRESH_TOKEN: _also, ...rest } = tesla();
    expect(loadCarControlConfig({ ...rest, TESLA_REFRESH_TOKEN_FILE: secret }).teslaFleet.refreshToken).toBe(
      'from-file',
    );
  });

  it('refuses a bad URL, a missing Tessie token, a missing CA file and an unknown charger, naming the setting', () => {
    expect(() => loadCarControlConfig(tesla({ TESLA_PROXY_URL: 'tesla-proxy:4443' }))).toThrow(/TESLA_PROXY_URL/);
    expect(() => loadCarControlConfig(tesla({ TESLA_PROXY_CA_FILE: join(dir, 'absent.pem') }))).toThrow(
      /TESLA_PROXY_CA_FILE/,
    );
    expect(() => loadCarControlConfig({ CAR_CONTROL: `barn=tessie:${VIN_B}` })).toThrow(/TESSIE_TOKEN/);
    expect(() => loadCarControlConfig({ CAR_CONTROL: 'shed=mqtt' }, ['garage'])).toThrow(/"shed"[\s\S]*at CAR_CONTROL/);
    expect(() => loadCarControlConfig({ CAR_CONTROL: 'garage=tesla' })).toThrow(/CAR_CONTROL/);
    expect(() => loadCarControlConfig(tesla({ CAR_CONTROL_TIMEOUT_MS: '-5' }))).toThrow(/CAR_CONTROL_TIMEOUT_MS/);
  });

  it('gives every charger a controller, none where CAR_CONTROL names none', async () => {
    const config = loadCarControlConfig({
      ...tesla(),
      CAR_CONTROL: `garage=tesla-fleet:${VIN_A},barn=tessie:${VIN_B},shed=mqtt`,
      TESSIE_TOKEN: 'tessie',
    });
    const controllers = createChargeControllers(config, ['garage', 'barn', 'shed', 'loft']);
    expect([...controllers].map(([name, controller]) => [name, controller.kind, controller.commandsCar])).toEqual([
      ['garage', 'tesla-fleet', true],
      ['barn', 'tessie', true],
      ['shed', 'mqtt', false],
      ['loft', 'none', false],
    ]);
    await Promise.all([...controllers.values()].map((controller) => controller.close()));
  });
});
