import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Authorization,
  type InitInstance,
  listAuthorizations,
  listBuckets,
  listTasks,
  readBucket,
  startInitInstance,
  type Task,
} from './init-script.js';

const DAY_S = 86_400;
const BUCKETS = ['twc_raw', 'twc_1m', 'twc_5m', 'twc_1h', 'twc_sessions', 'twc_prices'];
const DESCRIPTIONS = {
  grafana: 'twc-dashboard grafana (read-only)',
  api: 'twc-dashboard api (read-only)',
  collector: 'twc-dashboard collector',
  'comed-poller': 'twc-dashboard comed-poller',
} as const;
type Consumer = keyof typeof DESCRIPTIONS;

let instance: InitInstance;
beforeAll(async () => {
  instance = await startInitInstance('influx-init');
});
afterAll(async () => {
  await instance?.stop();
});

function retentionS(rules: { everySeconds: number }[]): number {
  return rules[0]?.everySeconds ?? 0;
}

async function bucketIds(): Promise<Record<string, string>> {
  return Object.fromEntries((await listBuckets(instance)).map((bucket) => [bucket.name, bucket.id]));
}

function tokenFile(consumer: Consumer): string {
  return readFileSync(join(instance.tokensDir, `${consumer}.token`), 'utf8');
}

/** Permissions as sorted `action:bucket name` strings. */
function grants(authorization: Authorization, namesById: Record<string, string>): string[] {
  return authorization.permissions
    .map((permission) => `${permission.action}:${namesById[permission.resource.id ?? ''] ?? permission.resource.type}`)
    .sort();
}

/** Everything the script manages, minus what InfluxDB's scheduler changes on its own. */
async function snapshot() {
  const tasks = (await listTasks(instance)).map((task) => {
    const { latestCompleted, lastRunStatus, lastRunError, ...stable } = task as Task & Record<string, unknown>;
    return stable;
  });
  return {
    buckets: await listBuckets(instance),
    tasks,
    authorizations: await listAuthorizations(instance),
    files: Object.fromEntries(Object.keys(DESCRIPTIONS).map((consumer) => [consumer, tokenFile(consumer as Consumer)])),
  };
}

async function write(bucket: string, token: string, measurement = 'token_probe'): Promise<number> {
  const response = await fetch(`${instance.influx.url}/api/v2/write?org=twc&bucket=${bucket}&precision=s`, {
    method: 'POST',
    headers: { authorization: `Token ${token}` },
    body: `${measurement} value=1 ${Math.floor(Date.now() / 1000)}`,
  });
  await response.arrayBuffer();
  return response.status;
}

async function read(bucket: string, token: string): Promise<number> {
  const response = await fetch(`${instance.influx.url}/api/v2/query?org=twc`, {
    method: 'POST',
    headers: { authorization: `Token ${token}`, 'content-type': 'application/vnd.flux' },
    body: `from(bucket: "${bucket}") |> range(start: -1h) |> limit(n: 1)`,
  });
  await response.arrayBuffer();
  return response.status;
}

describe('influxdb init script', () => {
  it('refuses a malformed retention or bucket name before touching anything', async () => {
    const before = await listBuckets(instance);
    const badRetention = await instance.init({ INFLUXDB_RETENTION_1M: '30 days' });
    expect(badRetention.code).not.toBe(0);
    expect(badRetention.stderr).toContain('INFLUXDB_RETENTION_1M="30 days"');
    const tooShort = await instance.init({ INFLUXDB_RETENTION_RAW: '30m' });
    expect(tooShort.code).not.toBe(0);
    expect(tooShort.stderr).toContain('at least 1h');
    const badName = await instance.init({ INFLUXDB_BUCKET_RAW: 'raw"data' });
    expect(badName.code).not.toBe(0);
    expect(badName.stderr).toContain('INFLUXDB_BUCKET_RAW');
    const badToken = await instance.init({ DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: 'not-the-admin-token' });
    expect(badToken.code).not.toBe(0);
    expect(badToken.stderr).toContain('HTTP 401');
    expect(await listBuckets(instance)).toEqual(before);
  });

  it('creates the buckets with their retentions, the downsampling tasks and one token per consumer', async () => {
    // The image passes a Docker-secret admin token through a file it reads into an unexported variable.
    const adminTokenFile = join(instance.dir, 'admin-token');
    writeFileSync(adminTokenFile, `${instance.influx.token}\n`);
    const result = await instance.init({
      DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: '',
      DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE: adminTokenFile,
    });
    expect(result.stderr).toContain('done');
    expect(result.code).toBe(0);

    const buckets = await listBuckets(instance);
    const retention = Object.fromEntries(buckets.map((bucket) => [bucket.name, retentionS(bucket.retentionRules)]));
    expect(retention).toMatchObject({
      twc_raw: 7 * DAY_S,
      twc_1m: 30 * DAY_S,
      twc_5m: 365 * DAY_S,
      twc_1h: 0,
      twc_sessions: 0,
      twc_prices: 0,
    });
    // The image's own set-up bucket is left alone.
    expect(retention).toHaveProperty(instance.influx.bucket);

    const tasks = await listTasks(instance);
    expect(tasks.map((task) => [task.name, task.status, task.every]).sort()).toEqual([
      ['twc-downsample-1h', 'active', '1h'],
      ['twc-downsample-1m', 'active', '1m'],
      ['twc-downsample-5m', 'active', '5m'],
    ]);
    for (const task of tasks) {
      expect(task.flux).toContain('from(bucket: "twc_raw")');
      expect(task.flux).toContain('org: "twc"');
      expect(task.flux).not.toMatch(/@[A-Z_]+@/);
    }
    expect(tasks.find((task) => task.name === 'twc-downsample-1m')?.flux).toContain('destination = "twc_1m"');

    const namesById = Object.fromEntries(Object.entries(await bucketIds()).map(([name, id]) => [id, name]));
    const authorizations = await listAuthorizations(instance);
    const byDescription = new Map(authorizations.map((authorization) => [authorization.description, authorization]));
    const expected: Record<Consumer, string[]> = {
      grafana: BUCKETS.map((bucket) => `read:${bucket}`).sort(),
      api: BUCKETS.map((bucket) => `read:${bucket}`).sort(),
      collector: ['read:twc_prices', 'read:twc_raw', 'read:twc_sessions', 'write:twc_raw', 'write:twc_sessions'],
      'comed-poller': ['read:twc_prices', 'write:twc_prices'],
    };
    for (const [consumer, description] of Object.entries(DESCRIPTIONS) as [Consumer, string][]) {
      const authorization = byDescription.get(description);
      expect(authorization, description).toBeDefined();
      expect(authorization?.status).toBe('active');
      expect(grants(authorization as Authorization, namesById), description).toEqual(expected[consumer]);
      expect(tokenFile(consumer)).toBe(authorization?.token);
      expect(tokenFile(consumer)).not.toBe(instance.influx.token);
    }
    expect(new Set(Object.keys(DESCRIPTIONS).map((consumer) => tokenFile(consumer as Consumer))).size).toBe(4);
  });

  it('changes nothing when run again', async () => {
    const before = await snapshot();
    const result = await instance.init();
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(/created|updated|deleted|written|->/);
    expect(await snapshot()).toEqual(before);
  });

  it('finds the admin token in the influx CLI configuration the image writes at set-up', async () => {
    const configs = join(instance.dir, 'influx-configs');
    writeFileSync(
      configs,
      `[other]\n  url = "http://elsewhere:8086"\n  token = "not-this-one"\n  org = "x"\n\n` +
        `[default]\n  url = "http://localhost:9999"\n  token = "${instance.influx.token}"\n  org = "twc"\n  active = true\n`,
    );
    const before = await snapshot();
    const result = await instance.init({ DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: '', INFLUX_CONFIGS_PATH: configs });
    expect(result.stderr).toContain('done');
    expect(result.code).toBe(0);
    expect(await snapshot()).toEqual(before);
  });

  it('gives each token exactly the access its consumer needs', async () => {
    const allowed: Record<Consumer, { write: string[]; read: string[] }> = {
      grafana: { write: [], read: BUCKETS },
      api: { write: [], read: BUCKETS },
      collector: { write: ['twc_raw', 'twc_sessions'], read: ['twc_raw', 'twc_prices', 'twc_sessions'] },
      'comed-poller': { write: ['twc_prices'], read: ['twc_prices'] },
    };
    const denied = { write: 403, read: 404 };
    const outcomes: string[] = [];
    const expected: string[] = [];
    for (const consumer of Object.keys(allowed) as Consumer[]) {
      const token = tokenFile(consumer);
      for (const bucket of BUCKETS) {
        outcomes.push(`${consumer} write ${bucket}: ${await write(bucket, token)}`);
        expected.push(`${consumer} write ${bucket}: ${allowed[consumer].write.includes(bucket) ? 204 : denied.write}`);
        // InfluxDB answers a query on a bucket the token cannot read as if the bucket did not exist.
        outcomes.push(`${consumer} read ${bucket}: ${await read(bucket, token)}`);
        expected.push(`${consumer} read ${bucket}: ${allowed[consumer].read.includes(bucket) ? 200 : denied.read}`);
      }
      const createBucket = await instance.api(
        'POST',
        '/api/v2/buckets',
        { orgID: instance.influx.orgId, name: `by-${consumer}`, retentionRules: [] },
        token,
      );
      expect(createBucket.status, `${consumer} creates a bucket`).toBeGreaterThanOrEqual(401);
      const listTokens = await instance.api<{ authorizations?: unknown[] }>(
        'GET',
        '/api/v2/authorizations',
        undefined,
        token,
      );
      expect(listTokens.body.authorizations ?? [], `${consumer} lists tokens`).toEqual([]);
    }
    expect(outcomes).toEqual(expected);
  });

  it('updates in place what the configuration changed, keeping data, ids and the other tokens', async () => {
    const ids = await bucketIds();
    const before = await listAuthorizations(instance);
    const idOf = (list: Authorization[], consumer: Consumer) =>
      list.filter((authorization) => authorization.description === DESCRIPTIONS[consumer]).map((a) => a.id);
    const collectorToken = tokenFile('collector');
    const grafanaToken = tokenFile('grafana');
    expect(await write('twc_raw', collectorToken, 'kept_probe')).toBe(204);

    // An older version of a task, as a previous release of this project would have left it.
    const tasks = await listTasks(instance);
    const task1m = tasks.find((task) => task.name === 'twc-downsample-1m') as Task;
    const task1h = tasks.find((task) => task.name === 'twc-downsample-1h') as Task;
    const edited = await instance.api('PATCH', `/api/v2/tasks/${task1m.id}`, {
      flux: task1m.flux.replace('lookback = 30m', 'lookback = 10m').replace(/^\/\/ twc-task-sha256: \w+\n/, ''),
    });
    expect(edited.status).toBe(200);
    // A token file lost with its volume is written again from InfluxDB.
    rmSync(join(instance.tokensDir, 'collector.token'));

    const env = { INFLUXDB_RETENTION_RAW: '3d', INFLUXDB_BUCKET_1H: 'twc_1h_v2' };
    const result = await instance.init(env);
    expect(result.stderr).toContain('done');
    expect(result.code).toBe(0);

    const buckets = await listBuckets(instance);
    const raw = buckets.find((bucket) => bucket.name === 'twc_raw');
    expect(raw?.id).toBe(ids.twc_raw);
    expect(retentionS(raw?.retentionRules ?? [])).toBe(3 * DAY_S);
    const probes = await readBucket(instance, 'twc_raw', Date.now() - 3_600_000, Date.now() + 60_000);
    expect(probes.filter((row) => row.measurement === 'kept_probe')).toHaveLength(1);
    // The old 1-hour bucket and its data stay; the new one is added.
    expect(buckets.map((bucket) => bucket.name)).toEqual(expect.arrayContaining(['twc_1h', 'twc_1h_v2']));

    const tasksAfter = await listTasks(instance);
    expect(tasksAfter.map((task) => task.id).sort()).toEqual(tasks.map((task) => task.id).sort());
    expect(tasksAfter.find((task) => task.id === task1m.id)?.flux).toContain('lookback = 30m');
    expect(tasksAfter.find((task) => task.id === task1h.id)?.flux).toContain('destination = "twc_1h_v2"');

    // Tokens that read the renamed bucket are replaced; the others are kept as they were.
    const after = await listAuthorizations(instance);
    expect(idOf(after, 'collector')).toEqual(idOf(before, 'collector'));
    expect(idOf(after, 'comed-poller')).toEqual(idOf(before, 'comed-poller'));
    expect(tokenFile('collector')).toBe(collectorToken);
    for (const consumer of ['grafana', 'api'] as const) {
      expect(idOf(after, consumer)).toHaveLength(1);
      expect(idOf(after, consumer)).not.toEqual(idOf(before, consumer));
      expect(await read('twc_1h_v2', tokenFile(consumer))).toBe(200);
      expect(await read('twc_1h', tokenFile(consumer))).toBe(404);
    }
    expect(await read('twc_raw', grafanaToken)).toBe(401);

    const again = await instance.init(env);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/created|updated|deleted|written|->/);
  });
});
