import {
  HTML_PAGE,
  LIFETIME,
  payload,
  VERSION,
  VERSION_NEW_FIRMWARE,
  VITALS_NEW_FIRMWARE,
  VITALS_SPLIT_PHASE_CHARGING,
  VITALS_THREE_PHASE_IDLE,
  WIFI_BASE64,
  WIFI_PLAIN,
} from '@twc/core/charger/reference-payloads';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ChargerClient,
  type ChargerErrorKind,
  ChargerRequestError,
  chargerOrigin,
  createChargerClient,
} from '../../src/collector/twc-client.js';
import {
  closedPortHost,
  defaultRoutes,
  delay,
  destroySocket,
  type RouteHandler,
  send,
  stallBody,
  startWallConnectorServer,
  type WallConnectorServer,
} from './wall-connector-server.js';

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function setUp(
  routes: Record<string, RouteHandler> = {},
  options: { responseTimeoutMs?: number; logger?: pino.Logger } = {},
): Promise<{ server: WallConnectorServer; client: ChargerClient }> {
  const all = defaultRoutes();
  for (const [path, handler] of Object.entries(routes)) all.set(path, handler);
  const server = await startWallConnectorServer(all);
  cleanups.push(() => server.close());
  const client = createChargerClient({
    host: server.host,
    connectTimeoutMs: 1_000,
    responseTimeoutMs: options.responseTimeoutMs ?? 2_000,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  cleanups.push(() => client.close());
  return { server, client };
}

async function failureOf(call: Promise<unknown>): Promise<ChargerRequestError> {
  const error = await call.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ChargerRequestError);
  return error as ChargerRequestError;
}

function failuresOnly(client: ChargerClient): Partial<Record<ChargerErrorKind, number>> {
  return Object.fromEntries(Object.entries(client.stats().failures).filter(([, count]) => count > 0));
}

describe('createChargerClient: payloads', () => {
  it.each([
    ['the three-phase sample', VITALS_THREE_PHASE_IDLE],
    ['the split-phase sample while charging', VITALS_SPLIT_PHASE_CHARGING],
    ['newer firmware (relay_k1/k2, not-ready reasons, integer alerts)', VITALS_NEW_FIRMWARE],
  ])('reads vitals: %s', async (_name, text) => {
    const { client, server } = await setUp({ '/api/1/vitals': send(text) });
    const response = await client.vitals();
    expect(response.data).toEqual(payload(text));
    expect(response.repairs).toEqual([]);
    expect(response.durationMs).toBeGreaterThanOrEqual(0);
    expect(server.requests).toEqual(['/api/1/vitals']);
  });

  it('reads lifetime', async () => {
    const { client } = await setUp();
    expect((await client.lifetime()).data).toEqual(payload(LIFETIME));
  });

  it.each([
    ['older firmware', VERSION],
    ['newer firmware without git_branch and web_service', VERSION_NEW_FIRMWARE],
  ])('reads version: %s', async (_name, text) => {
    const { client } = await setUp({ '/api/1/version': send(text) });
    const { data } = await client.version();
    expect(data).toEqual(payload(text));
    expect(data.serial_number).toBe('ACB12345678901');
  });

  it.each([
    ['base64 SSID', WIFI_BASE64, 'VGVzdE5ldHdvcms='],
    ['plain SSID', WIFI_PLAIN, 'TestNetwork'],
  ])('reads wifi_status with a %s', async (_name, text, ssid) => {
    const { client } = await setUp({ '/api/1/wifi_status': send(text) });
    const { data } = await client.wifiStatus();
    expect(data).toEqual(payload(text));
    expect(data.wifi_ssid).toBe(ssid);
  });

  it('tolerates unknown extra fields and keeps them', async () => {
    const text = JSON.stringify({ ...payload(VITALS_SPLIT_PHASE_CHARGING), new_sensor_c: 41.5 });
    const { client } = await setUp({ '/api/1/vitals': send(text) });
    expect((await client.vitals()).data.new_sensor_c).toBe(41.5);
  });

  it('reads the body whatever the content type says', async () => {
    const { client } = await setUp({ '/api/1/lifetime': send(LIFETIME, { contentType: 'text/html' }) });
    expect((await client.lifetime()).data.energy_wh).toBe(386204);
  });

  it('repairs a bare nan and counts the repair', async () => {
    const text = VITALS_SPLIT_PHASE_CHARGING.replace('"grid_hz":59.918', '"grid_hz":nan').replace(
      '"pcba_temp_c":17.9',
      '"pcba_temp_c":-nan',
    );
    const { client } = await setUp({ '/api/1/vitals': send(text) });
    const response = await client.vitals();
    expect(response.repairs).toEqual(['non_finite_number']);
    expect(response.data.grid_hz).toBeNull();
    expect(response.data.pcba_temp_c).toBeNull();
    expect(response.data.grid_v).toBe(238.5);
    expect(client.stats().repairs).toBe(1);
  });

  it('repairs a truncated object and counts each repaired response', async () => {
    const truncated = LIFETIME.trimEnd().slice(0, -1);
    const { client } = await setUp({ '/api/1/lifetime': send(truncated) });
    const first = await client.lifetime();
    expect(first.repairs).toEqual(['missing_closing_brace']);
    expect(first.data).toEqual(payload(LIFETIME));
    await client.lifetime();
    await client.version();
    expect(client.stats()).toEqual({
      requests: 3,
      repairs: 2,
      failures: {
        unreachable: 0,
        timeout: 0,
        http_status: 0,
        invalid_json: 0,
        invalid_payload: 0,
        not_a_wall_connector: 0,
      },
    });
  });
});

describe('createChargerClient: failures', () => {
  it('classifies HTTP 500 as http_status, without retrying, and reuses the connection', async () => {
    const { client, server } = await setUp({ '/api/1/vitals': send('internal error', { status: 500 }) });
    const error = await failureOf(client.vitals());
    expect(error.kind).toBe('http_status');
    expect(error.status).toBe(500);
    expect(error.endpoint).toBe('/api/1/vitals');
    expect(server.requests).toEqual(['/api/1/vitals']);
    // The error body was consumed, so the same keep-alive connection serves the next call.
    await client.lifetime();
    expect(server.connections).toBe(1);
    expect(failuresOnly(client)).toEqual({ http_status: 1 });
  });

  // undici checks header and body timeouts on a timer with about one second of resolution, so the
  // server here stays silent well beyond that rather than just beyond the 150 ms limit.
  it('classifies a slow first byte beyond the response timeout as timeout', async () => {
    const { client } = await setUp(
      { '/api/1/vitals': send(VITALS_SPLIT_PHASE_CHARGING, { delayMs: 5_000 }) },
      { responseTimeoutMs: 150 },
    );
    const error = await failureOf(client.vitals());
    expect(error.kind).toBe('timeout');
    expect(error.code).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(failuresOnly(client)).toEqual({ timeout: 1 });
  });

  it('classifies a body that stalls beyond the response timeout as timeout', async () => {
    const { client } = await setUp(
      { '/api/1/vitals': stallBody('{"contactor_closed":true,', '"x":1}', 5_000) },
      { responseTimeoutMs: 150 },
    );
    const error = await failureOf(client.vitals());
    expect(error.kind).toBe('timeout');
    expect(error.code).toBe('UND_ERR_BODY_TIMEOUT');
  });

  it('classifies a server that drops the connection as unreachable, by code', async () => {
    const { client } = await setUp({ '/api/1/vitals': destroySocket });
    const error = await failureOf(client.vitals());
    expect(error.kind).toBe('unreachable');
    expect(['UND_ERR_SOCKET', 'ECONNRESET']).toContain(error.code);
  });

  it('classifies nothing listening as unreachable (ECONNREFUSED)', async () => {
    const client = createChargerClient({ host: await closedPortHost(), connectTimeoutMs: 1_000 });
    cleanups.push(() => client.close());
    const error = await failureOf(client.vitals());
    expect(error.kind).toBe('unreachable');
    expect(error.code).toBe('ECONNREFUSED');
    expect(client.stats().requests).toBe(1);
    expect(failuresOnly(client)).toEqual({ unreachable: 1 });
  });

  it('classifies a body that is not JSON even after repair as invalid_json', async () => {
    const { client } = await setUp({ '/api/1/vitals': send('{"contactor_closed":tru') });
    const error = await failureOf(client.vitals());
    expect(error.kind).toBe('invalid_json');
    expect(error.message).toMatch(/\/api\/1\/vitals: not JSON/);
  });

  it('classifies vitals without a core field as invalid_payload, naming the field', async () => {
    const { contactor_closed: _c, ...rest } = payload(VITALS_SPLIT_PHASE_CHARGING);
    const { client } = await setUp({ '/api/1/vitals': send(JSON.stringify(rest)) });
    const error = await failureOf(client.vitals());
    expect(error.kind).toBe('invalid_payload');
    expect(error.message).toMatch(/contactor_closed/);
  });

  it.each([
    ['an HTML page', send(HTML_PAGE, { contentType: 'text/html' })],
    ['version without a serial', send(JSON.stringify({ firmware_version: '21.29.1', part_number: '1529455-02-D' }))],
    ['other JSON', send('{"status":"ok","model":"router"}')],
    ['a JSON array', send('[]')],
  ])('classifies %s on /version as not_a_wall_connector', async (_name, handler) => {
    const { client } = await setUp({ '/api/1/version': handler });
    const error = await failureOf(client.version());
    expect(error.kind).toBe('not_a_wall_connector');
    expect(error.endpoint).toBe('/api/1/version');
  });

  it('survives a failure: the next call succeeds', async () => {
    let calls = 0;
    const flaky: RouteHandler = (req, res) => {
      calls += 1;
      if (calls === 1) return destroySocket(req, res);
      return send(VITALS_SPLIT_PHASE_CHARGING)(req, res);
    };
    const { client } = await setUp({ '/api/1/vitals': flaky });
    expect((await failureOf(client.vitals())).kind).toBe('unreachable');
    expect((await client.vitals()).data.contactor_closed).toBe(true);
    expect(client.stats().requests).toBe(2);
  });

  it.each([
    ['/api/1/vitals', 'invalid_payload'],
    ['/api/1/version', 'not_a_wall_connector'],
  ] as const)('refuses an oversized body on %s as %s', async (endpoint, kind) => {
    const huge = `{"padding":"${'x'.repeat(300 * 1024)}"}`;
    const { client } = await setUp({ [endpoint]: send(huge) });
    const error = await failureOf(endpoint === '/api/1/vitals' ? client.vitals() : client.version());
    expect(error.kind).toBe(kind);
    expect(error.code).toBe('UND_ERR_RES_EXCEEDED_MAX_SIZE');
  });

  it.each([
    ['192.168.1.50', 'http://192.168.1.50'],
    ['twc.local:8080', 'http://twc.local:8080'],
    ['teslawallconnector_abc:80', 'http://teslawallconnector_abc'],
    ['[fe80::1]:8080', 'http://[fe80::1]:8080'],
    [' 10.0.0.7 ', 'http://10.0.0.7'],
  ])('accepts the address %s', (host, origin) => {
    expect(chargerOrigin(host)).toBe(origin);
  });

  it('refuses an address that is not host or host:port', () => {
    for (const host of ['', 'http://twc/api', 'twc/api', 'user@twc', 'twc:notaport']) {
      expect(() => createChargerClient({ host })).toThrow(/invalid charger address/);
    }
  });
});

describe('createChargerClient: one request in flight', () => {
  it('serializes concurrent calls so the server never sees two at once', async () => {
    // Headers first, body later: a client that pipelines would send its next request in between.
    const slow = (text: string) => stallBody(text.slice(0, 20), text.slice(20), 15);
    const { client, server } = await setUp({
      '/api/1/vitals': slow(VITALS_SPLIT_PHASE_CHARGING),
      '/api/1/lifetime': slow(LIFETIME),
      '/api/1/version': slow(VERSION),
      '/api/1/wifi_status': slow(WIFI_BASE64),
    });
    const calls = Array.from({ length: 24 }, (_, i) => {
      const pick = i % 4;
      if (pick === 0) return client.vitals();
      if (pick === 1) return client.lifetime();
      if (pick === 2) return client.version();
      return client.wifiStatus();
    });
    const results = await Promise.all(calls);
    expect(results).toHaveLength(24);
    expect(server.overlaps).toBe(0);
    expect(server.connections).toBe(1);
    // Served in the order the calls were made.
    expect(server.requests).toEqual(
      Array.from(
        { length: 24 },
        (_, i) => ['/api/1/vitals', '/api/1/lifetime', '/api/1/version', '/api/1/wifi_status'][i % 4],
      ),
    );
    expect(client.stats().requests).toBe(24);
  });

  it('keeps serializing after failures in the queue', async () => {
    const { client, server } = await setUp({
      '/api/1/vitals': send('oops', { status: 500, delayMs: 10 }),
      '/api/1/lifetime': send(LIFETIME, { delayMs: 10 }),
    });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? client.vitals() : client.lifetime())),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 'rejected' : 'fulfilled')),
    );
    expect(server.overlaps).toBe(0);
    expect(failuresOnly(client)).toEqual({ http_status: 5 });
  });

  it('close() lets a queued call finish', async () => {
    const { client } = await setUp({ '/api/1/vitals': send(VITALS_SPLIT_PHASE_CHARGING, { delayMs: 30 }) });
    const pending = client.vitals();
    await client.close();
    expect((await pending).data.evse_state).toBe(11);
    await expect(client.vitals()).rejects.toThrow(/closed/);
  });
});

describe('createChargerClient: logging', () => {
  function capture(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
    const written: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => written.push(line) });
    return { logger, lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown>) };
  }

  it('logs a repeated failure once, counts the rest, and logs the recovery', async () => {
    let failing = true;
    const { logger, lines } = capture();
    const { client } = await setUp(
      {
        '/api/1/vitals': (req, res) =>
          failing ? send('busy', { status: 503 })(req, res) : send(VITALS_SPLIT_PHASE_CHARGING)(req, res),
      },
      { logger },
    );
    for (let i = 0; i < 5; i += 1) await failureOf(client.vitals());
    failing = false;
    await client.vitals();
    await delay(10);
    const logged = lines().map((line) => ({ level: line.level, msg: line.msg, kind: line.kind }));
    expect(logged).toEqual([
      { level: 40, msg: 'charger request failed; further failures of this kind are only counted', kind: 'http_status' },
      { level: 30, msg: 'charger answering again', kind: undefined },
    ]);
    expect(lines()[1]?.failedRequests).toBe(5);
    expect(lines()[0]).toMatchObject({ module: 'twc-client', host: client.host, status: 503 });
    expect(failuresOnly(client)).toEqual({ http_status: 5 });
  });

  it('logs each kind of repair once per endpoint', async () => {
    const { logger, lines } = capture();
    const { client } = await setUp(
      { '/api/1/vitals': send(VITALS_SPLIT_PHASE_CHARGING.replace('"grid_hz":59.918', '"grid_hz":nan')) },
      { logger },
    );
    for (let i = 0; i < 4; i += 1) await client.vitals();
    expect(lines().map((line) => line.repair)).toEqual(['non_finite_number']);
    expect(client.stats().repairs).toBe(4);
  });
});
