import { type ChargerStatus, type LiveVitals, liveKeys } from '@twc/core/contracts/redis';
import { freePort, makeTempDir, startInfluxd } from '@twc/testenv';
import { servers } from '@twc/testenv/vitest';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator } from '../../src/simulator/simulator-server.js';
import { startCollector, tempDir, waitFor } from './harness.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function simulator(options: Parameters<typeof createSimulator>[0]) {
  const sim = createSimulator(options);
  const chargers = await sim.start();
  cleanups.push(() => sim.stop());
  return { sim, chargers };
}

async function countRows(queryApi: { collectRows: <T>(q: string) => Promise<T[]> }, flux: string): Promise<number> {
  return (await queryApi.collectRows<unknown>(flux)).length;
}

describe('collector service against the simulator', () => {
  it('writes every measurement with the serial as identity, keeps one request in flight, and fills Redis', async () => {
    const { sim, chargers } = await simulator({ chargers: 2, scenario: 'session', acceleration: 30, seed: 11 });
    const collector = await startCollector({
      chargers: chargers.map((c, i) => `car${i}=${c.host}`).join(','),
      spoolDir: tempDir('spool', cleanups),
      simulator: sim,
    });
    cleanups.push(() => collector.service.stop());
    await waitFor(() => collector.service.status().chargers.every((c) => c.vitalsPolls >= 8), 15_000, 'vitals polls');
    await collector.service.stop();

    const status = collector.service.status();
    expect(status.writer.rejectedLines).toBe(0);
    expect(status.writer.spool.files).toBe(0);
    expect(status.chargers.map((c) => c.chargerId)).toEqual(chargers.map((c) => c.serial));
    for (const [index] of chargers.entries()) expect(sim.stats(index).overlaps).toBe(0);

    const { queryApi, rawBucket } = collector;
    for (const measurement of ['twc_vitals', 'twc_lifetime', 'twc_version', 'twc_wifi', 'twc_health']) {
      const rows = await queryApi.collectRows<{ charger_id: string; charger_name: string }>(
        `from(bucket: "${rawBucket}") |> range(start: -1d, stop: 1d)
          |> filter(fn: (r) => r._measurement == "${measurement}") |> group(columns: ["charger_id", "charger_name"]) |> count()`,
      );
      expect(rows.map((row) => `${row.charger_name}=${row.charger_id}`).sort(), measurement).toEqual(
        chargers.map((c, i) => `car${i}=${c.serial}`).sort(),
      );
    }
    // Booleans stay booleans and integers integers (one type per field for the life of the bucket).
    const [typed] = await queryApi.collectRows<{ vehicle_connected: unknown; evse_state: unknown; power_w: unknown }>(
      `from(bucket: "${rawBucket}") |> range(start: -1d, stop: 1d)
        |> filter(fn: (r) => r._measurement == "twc_vitals" and r.charger_id == "${chargers[0]?.serial}")
        |> filter(fn: (r) => r._field == "vehicle_connected" or r._field == "evse_state" or r._field == "power_w")
        |> last() |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`,
    );
    expect(typeof typed?.vehicle_connected).toBe('boolean');
    expect(Number.isInteger(typed?.evse_state)).toBe(true);
    expect(typeof typed?.power_w).toBe('number');

    const redis = new Redis(servers().redis.url);
    cleanups.push(() => redis.disconnect());
    const live = JSON.parse(
      (await redis.get(liveKeys.vitals(collector.keyPrefix, chargers[0]?.serial ?? ''))) ?? '{}',
    ) as LiveVitals;
    expect(live.charger_name).toBe('car0');
    expect(typeof live.vitals.power_w).toBe('number');
    const statuses = await redis.hgetall(liveKeys.chargers(collector.keyPrefix));
    const first = JSON.parse(statuses[chargers[0]?.serial ?? ''] ?? '{}') as ChargerStatus;
    expect(first).toMatchObject({ charger_name: 'car0', online: true, host: chargers[0]?.host });
    expect(first.firmware_version).toMatch(/^\d+\.\d+\.\d+\+g[0-9a-f]+$/);
  });

  it('goes offline once and back online once across a Wi-Fi drop-out, and survives every fault mode', async () => {
    const { sim, chargers } = await simulator({ chargers: 1, scenario: 'session', acceleration: 10, seed: 5 });
    const collector = await startCollector({
      chargers: `garage=${chargers[0]?.host}`,
      spoolDir: tempDir('spool', cleanups),
      simulator: sim,
    });
    cleanups.push(() => collector.service.stop());
    await waitFor(() => collector.service.status().chargers[0]?.online === true, 10_000, 'charger online');

    sim.injectFault(0, { kind: 'wifi-dropout', durationMs: 3000 });
    await waitFor(() => collector.service.status().chargers[0]?.online === false, 10_000, 'charger offline');
    await waitFor(() => collector.service.status().chargers[0]?.online === true, 15_000, 'charger back online');

    for (const fault of [
      { kind: 'invalid-json-nan', count: 2, path: '/api/1/vitals' },
      { kind: 'invalid-json-truncated', count: 2, path: '/api/1/vitals' },
      { kind: 'http-500', count: 1 },
      { kind: 'drop-connection', count: 1 },
      { kind: 'slow-first-byte', delayMs: 1500, count: 1, path: '/api/1/vitals' },
      { kind: 'reboot' },
      { kind: 'session-energy-reset' },
    ] as const) {
      // One at a time: each fault is seen by the next polls before the next one is set.
      const before = collector.service.status().chargers[0]?.vitalsPolls ?? 0;
      sim.injectFault(0, fault);
      await waitFor(
        () => (collector.service.status().chargers[0]?.vitalsPolls ?? 0) >= before + 4,
        10_000,
        `polling to go on after ${fault.kind}`,
      );
    }
    expect(sim.stats(0).faults).toMatchObject({
      'invalid-json-nan': 2,
      'invalid-json-truncated': 2,
      'http-500': 1,
      'drop-connection': 1,
      'slow-first-byte': 1,
      reboot: 1,
      'session-energy-reset': 1,
    });
    await collector.service.stop();

    const charger = (line: { charger?: string }) => line.charger === 'garage';
    const offline = collector.lines.filter((line) => charger(line) && line.msg === 'charger offline');
    const online = collector.lines.filter((line) => charger(line) && line.msg === 'charger online');
    // One offline for the drop-out; the faults after it are single failures that never reach three in a row.
    expect(offline).toHaveLength(1);
    // Once at start, once when back.
    expect(online).toHaveLength(2);
    expect(sim.stats(0).overlaps).toBe(0);
    const repairs = await collector.queryApi.collectRows<{ _value: number }>(
      `from(bucket: "${collector.rawBucket}") |> range(start: -1d, stop: 1d)
        |> filter(fn: (r) => r._measurement == "twc_health" and r._field == "repairs_total") |> last()`,
    );
    expect(repairs[0]?._value).toBeGreaterThanOrEqual(4);
  }, 60_000);

  it('treats a known serial at a new address as the same charger', async () => {
    const spoolDir = tempDir('spool', cleanups);
    const first = await simulator({ chargers: 1, scenario: 'idle', seed: 21 });
    const run1 = await startCollector({
      chargers: `garage=${first.chargers[0]?.host}`,
      spoolDir,
      simulator: first.sim,
    });
    await waitFor(() => (run1.service.status().chargers[0]?.vitalsPolls ?? 0) >= 3, 10_000, 'first run');
    await run1.service.stop();
    await first.sim.stop();

    // The same charger (same seed, same serial) comes back on another port, as after a DHCP change.
    const second = await simulator({ chargers: 1, scenario: 'idle', seed: 21 });
    expect(second.chargers[0]?.host).not.toBe(first.chargers[0]?.host);
    const run2 = await startCollector({
      chargers: `garage=${second.chargers[0]?.host}`,
      spoolDir,
      simulator: second.sim,
      rawBucket: run1.rawBucket,
      sessionsBucket: run1.sessionsBucket,
      pricesBucket: run1.pricesBucket,
      keyPrefix: run1.keyPrefix,
    });
    await waitFor(() => (run2.service.status().chargers[0]?.vitalsPolls ?? 0) >= 3, 10_000, 'second run');
    await run2.service.stop();

    const ids = await run1.queryApi.collectRows<{ _value: string }>(
      `import "influxdata/influxdb/schema"
       schema.tagValues(bucket: "${run1.rawBucket}", tag: "charger_id", start: -1d)`,
    );
    expect(ids.map((row) => row._value)).toEqual([first.chargers[0]?.serial]);
  }, 40_000);

  it('keeps collecting into InfluxDB while Redis is unreachable', async () => {
    const { sim, chargers } = await simulator({ chargers: 1, scenario: 'session', acceleration: 30, seed: 13 });
    const collector = await startCollector({
      chargers: `garage=${chargers[0]?.host}`,
      spoolDir: tempDir('spool', cleanups),
      simulator: sim,
      env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}` },
    });
    cleanups.push(() => collector.service.stop());
    setTimeout(
      () => console.log('DBG', JSON.stringify(collector.service.status()), JSON.stringify(collector.lines.slice(-20))),
      8000,
    );
    await waitFor(() => (collector.service.status().chargers[0]?.vitalsPolls ?? 0) >= 10, 15_000, 'vitals polls');
    await collector.service.stop();
    expect(collector.service.status().redis.failedCommands).toBeGreaterThan(0);
    const stored = await countRows(
      collector.queryApi,
      `from(bucket: "${collector.rawBucket}") |> range(start: -1d, stop: 1d)
        |> filter(fn: (r) => r._measurement == "twc_vitals" and r._field == "power_w")`,
    );
    expect(stored).toBeGreaterThanOrEqual(10);
    // Logged once, not at every sample.
    expect(collector.lines.filter((line) => line.msg.startsWith('Redis unavailable; live state'))).toHaveLength(1);
  }, 40_000);

  it('forgets a charger removed from the configuration', async () => {
    const { sim, chargers } = await simulator({ chargers: 2, scenario: 'idle', seed: 8 });
    const spoolDir = tempDir('spool', cleanups);
    const run1 = await startCollector({
      chargers: chargers.map((c, i) => `car${i}=${c.host}`).join(','),
      spoolDir,
      simulator: sim,
    });
    await waitFor(() => run1.service.status().chargers.every((c) => c.online === true), 10_000, 'both online');
    await run1.service.stop();
    const redis = new Redis(servers().redis.url);
    cleanups.push(() => redis.disconnect());
    expect(Object.keys(await redis.hgetall(liveKeys.chargers(run1.keyPrefix))).sort()).toEqual(
      chargers.map((c) => c.serial).sort(),
    );

    const run2 = await startCollector({
      chargers: `car0=${chargers[0]?.host}`,
      spoolDir,
      simulator: sim,
      rawBucket: run1.rawBucket,
      sessionsBucket: run1.sessionsBucket,
      pricesBucket: run1.pricesBucket,
      keyPrefix: run1.keyPrefix,
    });
    await run2.service.stop();
    expect(Object.keys(await redis.hgetall(liveKeys.chargers(run1.keyPrefix)))).toEqual([chargers[0]?.serial]);
    expect(await redis.exists(liveKeys.vitals(run1.keyPrefix, chargers[1]?.serial ?? ''))).toBe(0);
  });

  it('spools through a real InfluxDB outage while polling and stores every sample exactly once', async () => {
    const dir = makeTempDir('collector-outage');
    const influx = await startInfluxd(dir);
    cleanups.push(async () => {
      await influx.stop();
    });
    const { sim, chargers } = await simulator({ chargers: 1, scenario: 'session', acceleration: 10, seed: 3 });
    const collector = await startCollector({
      chargers: `garage=${chargers[0]?.host}`,
      spoolDir: tempDir('spool', cleanups),
      simulator: sim,
      influx: { url: influx.url, token: influx.token, org: influx.org },
      rawBucket: influx.bucket,
      sessionsBucket: influx.bucket,
      pricesBucket: influx.bucket,
    });
    cleanups.push(() => collector.service.stop());
    const samples: number[] = [];
    collector.service.onVitals((sample) => samples.push(sample.timeMs));

    await waitFor(() => samples.length >= 6, 10_000, 'samples before the outage');
    await influx.process.kill();
    const atKill = samples.length;
    await waitFor(() => samples.length >= atKill + 10, 10_000, 'samples during the outage');
    expect(collector.service.status().writer.spool.files).toBeGreaterThan(0);
    await influx.restart();
    await waitFor(() => samples.length >= atKill + 16, 10_000, 'samples after the outage');
    // The spool is replayed with a backoff; it drains on its own once InfluxDB answers.
    await waitFor(() => collector.service.status().writer.spool.files === 0, 45_000, 'the spool to drain');
    await collector.service.stop();
    expect(collector.service.status().writer.spool.files).toBe(0);

    const stored = await collector.queryApi.collectRows<{ _time: string }>(
      `from(bucket: "${influx.bucket}") |> range(start: -1d, stop: 1d)
        |> filter(fn: (r) => r._measurement == "twc_vitals" and r._field == "power_w")`,
    );
    expect(stored.map((row) => Date.parse(row._time))).toEqual(samples);
    expect(
      await countRows(
        collector.queryApi,
        `from(bucket: "${influx.bucket}") |> range(start: -1d, stop: 1d) |> filter(fn: (r) => r._measurement == "twc_vitals" and r._field == "session_s")`,
      ),
    ).toBe(samples.length);
  }, 90_000);
});
