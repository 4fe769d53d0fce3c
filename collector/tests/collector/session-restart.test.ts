import { join } from 'node:path';
import { checkpointFromJson, sessionKeys } from '@twc/core/contracts/redis';
import { FIVE_MINUTES_MS, HOUR_MS } from '@twc/core/prices/comed-clock';
import { pricePoints } from '@twc/core/prices/price-plan';
import { initialSessionState } from '@twc/core/sessions/session-machine';
import { createInfluxWriter } from '@twc/runtime/influx-writer';
import { silentLogger } from '@twc/runtime/logger';
import { createSpool } from '@twc/runtime/spool';
import { freePort, ManagedProcess } from '@twc/testenv';
import { createTestBucket, servers } from '@twc/testenv/vitest';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { generatedPriceCents } from '../../src/simulator/comed-server.js';
import { createSimulator, type Simulator } from '../../src/simulator/simulator-server.js';
import { startCollector, tempDir, waitFor } from './harness.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SEED = 42;
const ACCELERATION = 120;
// 22:00 in Chicago (CDT) on 1 June 2026: an evening session across an hour boundary.
const SIM_START = Date.UTC(2026, 5, 2, 3, 0);
const COLLECTOR_MAIN = join(import.meta.dirname, '../../src/collector/main.ts');

async function seedPrices(bucket: string): Promise<void> {
  const { influx } = servers();
  const writer = createInfluxWriter({
    ...influx,
    spool: createSpool({ dir: tempDir('price-spool', cleanups), maxBytes: 1e7, logger: silentLogger() }),
    logger: silentLogger(),
  });
  const prices = [];
  for (let stamp = SIM_START - HOUR_MS; stamp <= SIM_START + 8 * HOUR_MS; stamp += FIVE_MINUTES_MS) {
    prices.push({ timeMs: stamp, priceCentsPerKwh: generatedPriceCents(SEED, stamp) });
  }
  writer.write(bucket, 'durable', pricePoints(prices, SIM_START + 9 * HOUR_MS));
  await writer.close();
}

async function startSimulator(basePort: number): Promise<Simulator> {
  const sim = createSimulator({
    chargers: 1,
    basePort,
    scenario: 'session',
    acceleration: ACCELERATION,
    seed: SEED,
    startTimeMs: SIM_START,
  });
  await sim.start();
  cleanups.push(() => sim.stop());
  return sim;
}

interface StoredSessionRow {
  session_id: string;
  start_time: string;
  energy_wh: number;
  total_cost: number;
  supply_cost: number;
  provisional: boolean;
  energy_by_interval: string;
}

async function storedSessions(
  queryApi: { collectRows: <T>(q: string) => Promise<T[]> },
  bucket: string,
): Promise<StoredSessionRow[]> {
  return queryApi.collectRows<StoredSessionRow>(
    `from(bucket: "${bucket}") |> range(start: 2026-06-01T00:00:00Z, stop: 2026-06-03T00:00:00Z)
      |> filter(fn: (r) => r._measurement == "twc_session")
      |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`,
  );
}

const chargingEnergyWh = (sim: Simulator) => sim.truth(0).sessions[0]?.energyWh ?? 0;
const unplugged = (sim: Simulator) => {
  const session = sim.truth(0).sessions[0];
  return session?.unplugMs !== null && session?.unplugMs !== undefined && session.unplugMs < sim.simTimeMs();
};

describe('a session across collector crashes', () => {
  it('survives kill -9 twice (once with its Redis checkpoint lost) and equals an uninterrupted run', async () => {
    const { influx, redis } = servers();
    const pricesBucket = await createTestBucket('prices');
    await seedPrices(pricesBucket);
    const env = { SESSION_GAP_S: '600', POLL_VITALS_S: '0.25' };

    // The car plugs in one simulated minute after the simulation starts (half a
    // real second): both collectors must be watching by then, or they would see
    // the session already under way and could not count its first minutes. So
    // the separate collector process starts first, with the clock the
    // simulation will have, and the simulators start on ports chosen ahead.
    const [portA, portB] = [await freePort(), await freePort()];
    const plannedRealStartMs = Date.now() + 3000;
    const rawB = await createTestBucket('raw-b');
    const sessionsB = await createTestBucket('sessions-b');
    const prefixB = `t-restart-${Date.now()}:`;
    const logDir = tempDir('collector-b', cleanups);
    // Run B: a separate collector process, killed with SIGKILL mid-charge.
    const collectorB = new ManagedProcess({
      name: 'collector',
      command: process.execPath,
      args: ['--import', 'tsx', '--conditions=twc-source', COLLECTOR_MAIN],
      logFile: join(logDir, 'collector.log'),
      env: {
        PATH: process.env.PATH,
        CHARGERS: `garage=127.0.0.1:${portB}`,
        POLL_VITALS_S: '0.25',
        POLL_LIFETIME_S: '1',
        POLL_VERSION_S: '2',
        POLL_WIFI_S: '1',
        BACKOFF_MAX_S: '0.25',
        SESSION_GAP_S: '600',
        INFLUXDB_URL: influx.url,
        INFLUXDB_TOKEN: influx.token,
        INFLUXDB_ORG: influx.org,
        INFLUXDB_BUCKET_RAW: rawB,
        INFLUXDB_BUCKET_SESSIONS: sessionsB,
        INFLUXDB_BUCKET_PRICES: pricesBucket,
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: prefixB,
        SPOOL_DIR: join(logDir, 'spool'),
        HEALTH_PORT: '0',
        LOG_LEVEL: 'info',
        SIM_CLOCK_SIM_START_MS: String(SIM_START),
        SIM_CLOCK_REAL_START_MS: String(plannedRealStartMs),
        SIM_CLOCK_ACCELERATION: String(ACCELERATION),
      },
    });
    cleanups.push(() => collectorB.stop());
    collectorB.start();

    await new Promise((resolve) => setTimeout(resolve, plannedRealStartMs - Date.now()));
    const simB = await startSimulator(portB);
    const simA = await startSimulator(portA);
    // Run A: uninterrupted, in this process.
    const runA = await startCollector({
      chargers: `garage=${simA.chargers()[0]?.host}`,
      spoolDir: tempDir('spool-a', cleanups),
      simulator: simA,
      pricesBucket,
      env,
    });
    cleanups.push(() => runA.service.stop());

    const redisClient = new Redis(redis.url);
    cleanups.push(() => redisClient.disconnect());
    const serial = simB.chargers()[0]?.serial ?? '';
    const checkpoint = () => redisClient.get(sessionKeys.state(prefixB, serial));

    await waitFor(() => chargingEnergyWh(simB) > 2000, 60_000, 'the car to have taken 2 kWh');
    await waitFor(
      async () => ((await checkpoint()) ?? '').includes('"session":{'),
      10_000,
      'an open session checkpoint',
    );
    await collectorB.kill();
    collectorB.start();

    await waitFor(() => chargingEnergyWh(simB) > 5000, 60_000, 'the car to have taken 5 kWh');
    await collectorB.kill();
    // Redis lost the checkpoint: the restarted collector rebuilds it from InfluxDB's recent vitals.
    await redisClient.del(sessionKeys.state(prefixB, serial));
    collectorB.start();

    await waitFor(() => unplugged(simA) && unplugged(simB), 120_000, 'both cars to leave');
    await waitFor(
      async () =>
        (await storedSessions(runA.queryApi, runA.sessionsBucket)).length > 0 &&
        (await storedSessions(runA.queryApi, sessionsB)).length > 0,
      30_000,
      'both sessions to be stored',
    );
    await runA.service.stop();
    await collectorB.stop();
    expect(collectorB.tail(200)).toContain('session state rebuilt from InfluxDB');

    const [a, ...moreA] = await storedSessions(runA.queryApi, runA.sessionsBucket);
    const [b, ...moreB] = await storedSessions(runA.queryApi, sessionsB);
    expect(moreA).toEqual([]);
    expect(moreB).toEqual([]);
    if (!a || !b) throw new Error('sessions missing');
    const truthA = simA.truth(0).sessions[0]?.energyWh ?? Number.NaN;
    const truthB = simB.truth(0).sessions[0]?.energyWh ?? Number.NaN;
    expect(Math.abs(a.energy_wh - truthA) / truthA, `run A ${a.energy_wh} Wh vs truth ${truthA}`).toBeLessThan(0.001);
    expect(
      Math.abs(b.energy_wh - truthB) / truthB,
      `run B ${b.energy_wh} Wh vs truth ${truthB}; A ${a.energy_by_interval} B ${b.energy_by_interval} log:\n${collectorB.tail(60)}`,
    ).toBeLessThan(0.001);
    expect(Math.abs(b.energy_wh - a.energy_wh) / a.energy_wh).toBeLessThan(0.001);
    // Both derive the plug-in from session_s at their first sample; a reply's latency
    // (stretched by the acceleration) moves that by up to a poll interval of simulated time.
    expect(Math.abs(Date.parse(b.start_time) - Date.parse(a.start_time))).toBeLessThanOrEqual(
      0.25 * ACCELERATION * 1000,
    );
    expect(a.provisional).toBe(false);
    expect(b.provisional).toBe(false);
    expect(Math.abs(b.total_cost - a.total_cost)).toBeLessThan(0.005);
    expect(a.total_cost).toBeGreaterThan(0);
  }, 240_000);
});

describe('a checkpoint written before the price clock was corrected', () => {
  it('carries on with its intervals named by their start, the same energy in the same five minutes', () => {
    const state = initialSessionState('ACB123');
    const old = JSON.stringify({
      ...state,
      session: {
        id: 'ACB123-1',
        energyByInterval: [
          { intervalEndMs: 1_800_000_300_000, energyWh: 12.5 },
          { intervalEndMs: 1_800_000_600_000, energyWh: 30 },
        ],
      },
    });
    expect(checkpointFromJson(old).session?.energyByInterval).toEqual([
      { startMs: 1_800_000_000_000, energyWh: 12.5 },
      { startMs: 1_800_000_300_000, energyWh: 30 },
    ]);
    // A checkpoint of this version goes through unchanged.
    const current = JSON.stringify({ ...state, session: { energyByInterval: [{ startMs: 5, energyWh: 1 }] } });
    expect(checkpointFromJson(current)).toEqual(JSON.parse(current));
  });
});
