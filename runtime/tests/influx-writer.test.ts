import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from '@influxdata/influxdb-client';
import type { PointData } from '@twc/core/contracts/influx-schema';
import { makeTempDir, startInfluxd } from '@twc/testenv';
import { createTestBucket, servers } from '@twc/testenv/vitest';
import { afterEach, describe, expect, it } from 'vitest';
import { createInfluxWriter } from '../src/influx-writer.js';
import { silentLogger } from '../src/logger.js';
import { createSpool } from '../src/spool.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function spoolDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'twc-writer-spool-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const BASE = Date.UTC(2026, 5, 1, 12, 0, 0);
function vitalsPoint(i: number, chargerId = 'SIM0001'): PointData {
  return {
    measurement: 'twc_vitals',
    tags: { charger_id: chargerId, charger_name: 'garage' },
    fields: { power_w: 11_000 + i, session_s: i * 5, vehicle_connected: true, handle_temp_c: null },
    timeMs: BASE + i * 5000,
  };
}

async function queryRows(url: string, token: string, org: string, flux: string) {
  return new InfluxDB({ url, token }).getQueryApi(org).collectRows<Record<string, unknown>>(flux);
}

describe('influx writer', () => {
  it('writes points with their declared field types and leaves nulls out', async () => {
    const { influx } = servers();
    const bucket = await createTestBucket('writer');
    const writer = createInfluxWriter({
      ...influx,
      spool: createSpool({ dir: spoolDir(), maxBytes: 1e6, logger: silentLogger() }),
      logger: silentLogger(),
    });
    writer.write(bucket, 'vitals', [vitalsPoint(0), vitalsPoint(1)]);
    await writer.close();
    expect(writer.stats()).toMatchObject({ writtenLines: 2, spooledLines: 0 });

    const rows = await queryRows(
      influx.url,
      influx.token,
      influx.org,
      `from(bucket: "${bucket}") |> range(start: 2026-06-01T00:00:00Z, stop: 2026-06-02T00:00:00Z)
        |> filter(fn: (r) => r._measurement == "twc_vitals")`,
    );
    const byField = new Map(
      rows.filter((row) => Date.parse(String(row._time)) === BASE).map((r) => [r._field, r._value]),
    );
    expect(byField.get('power_w')).toBe(11_000);
    expect(byField.get('session_s')).toBe(0);
    expect(byField.get('vehicle_connected')).toBe(true);
    expect(byField.has('handle_temp_c')).toBe(false);
    expect(rows.length).toBe(6);
  });

  it('spools through a real InfluxDB outage and delivers every point exactly once, in order', async () => {
    const dir = makeTempDir('writer-outage');
    const influx = await startInfluxd(dir);
    cleanups.push(async () => {
      await influx.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    const spool = createSpool({ dir: spoolDir(), maxBytes: 1e6, logger: silentLogger() });
    const writer = createInfluxWriter({
      url: influx.url,
      token: influx.token,
      org: influx.org,
      spool,
      logger: silentLogger(),
      requestTimeoutMs: 2000,
      replayMinDelayMs: 50,
      replayMaxDelayMs: 200,
    });

    let i = 0;
    const writeSome = async (count: number) => {
      for (let n = 0; n < count; n++) writer.write(influx.bucket, 'vitals', [vitalsPoint(i++)]);
      await writer.flush();
    };
    await writeSome(10);
    expect(writer.stats().writtenLines).toBe(10);

    await influx.process.kill();
    await writeSome(10);
    await writeSome(10);
    expect(writer.stats().spool.files).toBeGreaterThan(0);
    expect(writer.stats().influxReachable).toBe(false);

    await influx.restart();
    await writeSome(5);
    for (let attempt = 0; attempt < 50 && writer.stats().spool.files > 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await writer.flush();
    }
    await writer.close();
    expect(writer.stats().spool.files).toBe(0);
    expect(writer.stats().spooledLines).toBe(writer.stats().replayedLines);

    const rows = await queryRows(
      influx.url,
      influx.token,
      influx.org,
      `from(bucket: "${influx.bucket}") |> range(start: 2026-06-01T00:00:00Z, stop: 2026-06-02T00:00:00Z)
        |> filter(fn: (r) => r._measurement == "twc_vitals" and r._field == "power_w")`,
    );
    expect(rows.map((row) => row._value)).toEqual(Array.from({ length: 35 }, (_, n) => 11_000 + n));
  }, 120_000);

  it('keeps what it could not write in the spool at close, for the next run', async () => {
    const dir = spoolDir();
    const writer = createInfluxWriter({
      url: 'http://127.0.0.1:9',
      token: 'unused',
      org: 'twc',
      spool: createSpool({ dir, maxBytes: 1e6, logger: silentLogger() }),
      logger: silentLogger(),
      requestTimeoutMs: 1000,
    });
    writer.write('raw', 'vitals', [vitalsPoint(0), vitalsPoint(1)]);
    writer.write('sessions', 'durable', [
      {
        measurement: 'twc_session',
        tags: { charger_id: 'SIM0001', charger_name: 'garage' },
        fields: { session_id: 'SIM0001-1', energy_wh: 1234.5 },
        timeMs: BASE,
      },
    ]);
    await writer.close();
    const reopened = createSpool({ dir, maxBytes: 1e6, logger: silentLogger() });
    expect(reopened.stats().files).toBe(2);
    expect(reopened.oldest()?.lines).toHaveLength(2);
  });
});
