import { InfluxDB, Point } from '@influxdata/influxdb-client';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestBucket, influxApi, servers, uniqueKeyPrefix, uniqueName, uniqueTopicRoot } from '../src/vitest.js';

// These tests prove the environment is the real thing: a real InfluxDB 2.x
// (Flux, buckets, tasks), a real Redis and a real Mosquitto broker.

describe('InfluxDB 2.x', () => {
  it('reports a 2.x server', async () => {
    const response = await fetch(`${servers().influx.url}/health`);
    const health = (await response.json()) as { status: string; version: string };
    expect(health.status).toBe('pass');
    expect(health.version).toMatch(/^v?2\.\d+\.\d+/);
  });

  it('stores points written by the client and returns them through Flux', async () => {
    const { influx } = servers();
    const bucket = await createTestBucket('smoke-write');
    const client = new InfluxDB({ url: influx.url, token: influx.token });
    const writeApi = client.getWriteApi(influx.org, bucket, 'ms');
    const base = Date.UTC(2026, 0, 15, 12, 0, 0);
    for (let i = 0; i < 10; i++) {
      writeApi.writePoint(
        new Point('smoke')
          .tag('charger_id', 'SIM1')
          .floatField('power_w', 1000 + i)
          .timestamp(new Date(base + i * 5000)),
      );
    }
    await writeApi.close();

    const rows = await client.getQueryApi(influx.org).collectRows<{ _value: number; charger_id: string }>(
      `from(bucket: "${bucket}")
        |> range(start: 2026-01-15T00:00:00Z, stop: 2026-01-16T00:00:00Z)
        |> filter(fn: (r) => r._measurement == "smoke" and r._field == "power_w")`,
    );
    expect(rows.map((row) => row._value)).toEqual([1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009]);
    expect(new Set(rows.map((row) => row.charger_id))).toEqual(new Set(['SIM1']));
  });

  it('creates a task that a forced run executes, writing into another bucket', async () => {
    const { influx } = servers();
    const source = await createTestBucket('smoke-task-src');
    const target = await createTestBucket('smoke-task-dst');
    const client = new InfluxDB({ url: influx.url, token: influx.token });
    const writeApi = client.getWriteApi(influx.org, source, 's');
    const now = Math.floor(Date.now() / 1000);
    for (const [offset, value] of [
      [-50, 2],
      [-40, 4],
      [-30, 6],
    ] as const) {
      writeApi.writePoint(new Point('smoke').floatField('v', value).timestamp(now + offset));
    }
    await writeApi.close();

    const flux = `option task = {name: "${uniqueName('smoke-task')}", every: 1h}
from(bucket: "${source}")
  |> range(start: -1h)
  |> filter(fn: (r) => r._measurement == "smoke")
  |> mean()
  |> set(key: "_measurement", value: "smoke_mean")
  |> map(fn: (r) => ({r with _time: now()}))
  |> to(bucket: "${target}", org: "${influx.org}")`;
    const task = await influxApi<{ id: string; status: string }>('POST', '/api/v2/tasks', {
      orgID: influx.orgId,
      flux,
    });
    expect(task.status).toBe('active');

    const run = await influxApi<{ id: string }>('POST', `/api/v2/tasks/${task.id}/runs`, {});
    let status = 'scheduled';
    for (let attempt = 0; attempt < 100 && !['success', 'failed', 'canceled'].includes(status); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      // A forced run can take a moment to become visible under its id: not found yet means pending.
      const runs = await influxApi<{ runs: { id: string; status: string }[] }>('GET', `/api/v2/tasks/${task.id}/runs`);
      status = runs.runs.find((candidate) => candidate.id === run.id)?.status ?? 'scheduled';
    }
    expect(status).toBe('success');

    const rows = await client
      .getQueryApi(influx.org)
      .collectRows<{ _value: number }>(
        `from(bucket: "${target}") |> range(start: -1h, stop: 1h) |> filter(fn: (r) => r._measurement == "smoke_mean")`,
      );
    expect(rows.map((row) => row._value)).toEqual([4]);
  });
});

describe('Redis', () => {
  const redis = new Redis(servers().redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const subscriber = redis.duplicate();
  const prefix = uniqueKeyPrefix('smoke');
  afterAll(async () => {
    redis.disconnect();
    subscriber.disconnect();
  });

  it('round-trips a value and a pub/sub message', async () => {
    await redis.set(`${prefix}greeting`, 'hello', 'EX', 60);
    expect(await redis.get(`${prefix}greeting`)).toBe('hello');
    expect(await redis.ttl(`${prefix}greeting`)).toBeGreaterThan(0);

    const channel = `${prefix}channel`;
    await subscriber.subscribe(channel);
    const received = new Promise<string>((resolve) =>
      subscriber.once('message', (_channel, message) => resolve(message)),
    );
    expect(await redis.publish(channel, 'ping')).toBe(1);
    expect(await received).toBe('ping');
  });
});

describe('Mosquitto', () => {
  it('delivers a retained message to a client that subscribes later, with qos 1', async () => {
    const root = uniqueTopicRoot('smoke');
    const publisher = await mqtt.connectAsync(servers().mqtt.url, { clientId: uniqueName('pub') });
    await publisher.publishAsync(`${root}/state`, 'online', { retain: true, qos: 1 });
    await publisher.endAsync();

    const subscriber = await mqtt.connectAsync(servers().mqtt.url, { clientId: uniqueName('sub') });
    const message = new Promise<{ topic: string; payload: string; retain: boolean; qos: number }>((resolve) => {
      subscriber.once('message', (topic, payload, packet) =>
        resolve({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos }),
      );
    });
    await subscriber.subscribeAsync(`${root}/#`, { qos: 1 });
    expect(await message).toEqual({ topic: `${root}/state`, payload: 'online', retain: true, qos: 1 });

    // Clear the retained message so the broker holds nothing of this test.
    await subscriber.publishAsync(`${root}/state`, '', { retain: true, qos: 1 });
    await subscriber.endAsync();
  });
});
