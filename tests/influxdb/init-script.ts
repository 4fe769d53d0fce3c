/**
 * Runs influxdb/scripts/init.sh the way the official image does, against an
 * influxd of its own (onboarded like the image's set-up, with org `twc`), so
 * that its buckets, tasks and tokens never meet other test files' data.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { InfluxDB } from '@influxdata/influxdb-client';
import { type InfluxServer, makeTempDir, startInfluxd } from '@twc/testenv';

const run = promisify(execFile);

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const INIT_SCRIPT = join(REPO_ROOT, 'influxdb/scripts/init.sh');
export const TASKS_DIR = join(REPO_ROOT, 'influxdb/tasks');

export interface InitRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface InitInstance {
  influx: InfluxServer;
  /** Where the script writes the tokens (INFLUXDB_TOKENS_DIR). */
  tokensDir: string;
  dir: string;
  /** Runs init.sh with the image's environment plus `env`. */
  init(env?: Record<string, string>): Promise<InitRun>;
  /** Calls the HTTP API with a token (the admin token unless given); never throws on a status. */
  api<T = unknown>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export async function startInitInstance(label: string): Promise<InitInstance> {
  const dir = makeTempDir(label);
  const tokensDir = join(dir, 'tokens');
  mkdirSync(tokensDir);
  const influx = await startInfluxd(join(dir, 'influxd'));
  return {
    influx,
    tokensDir,
    dir,
    async init(env = {}) {
      // Only what the image provides, never the developer's INFLUX* settings.
      const base: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        INFLUX_HOST: influx.url,
        DOCKER_INFLUXDB_INIT_MODE: 'setup',
        DOCKER_INFLUXDB_INIT_ORG: influx.org,
        DOCKER_INFLUXDB_INIT_BUCKET: influx.bucket,
        DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: influx.token,
        INFLUXDB_TOKENS_DIR: tokensDir,
      };
      try {
        const { stdout, stderr } = await run('bash', [INIT_SCRIPT], { env: { ...base, ...env }, timeout: 60_000 });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const failed = error as { code?: number; stdout?: string; stderr?: string };
        if (typeof failed.code !== 'number') throw error;
        return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
      }
    },
    async api<T>(method: string, path: string, body?: unknown, token = influx.token) {
      const response = await fetch(`${influx.url}${path}`, {
        method,
        headers: { authorization: `Token ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON (a CSV query result): the text as it is.
      }
      return { status: response.status, body: parsed as T };
    },
    async stop() {
      await influx.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Bucket {
  id: string;
  name: string;
  retentionRules: { everySeconds: number }[];
}

export interface Task {
  id: string;
  name: string;
  status: string;
  every: string;
  offset?: string;
  flux: string;
}

export interface Authorization {
  id: string;
  description: string;
  token: string;
  status: string;
  permissions: { action: string; resource: { type: string; id?: string; name?: string } }[];
}

export async function listBuckets(instance: InitInstance): Promise<Bucket[]> {
  const { body } = await instance.api<{ buckets: Bucket[] }>(
    'GET',
    `/api/v2/buckets?orgID=${instance.influx.orgId}&limit=100`,
  );
  return body.buckets;
}

export async function listTasks(instance: InitInstance): Promise<Task[]> {
  const { body } = await instance.api<{ tasks: Task[] }>('GET', `/api/v2/tasks?orgID=${instance.influx.orgId}`);
  return body.tasks;
}

export async function listAuthorizations(instance: InitInstance): Promise<Authorization[]> {
  const { body } = await instance.api<{ authorizations: Authorization[] }>(
    'GET',
    `/api/v2/authorizations?orgID=${instance.influx.orgId}`,
  );
  return body.authorizations;
}

export interface TypedRow {
  measurement: string;
  field: string;
  timeMs: number;
  value: unknown;
  /** The annotated CSV type of `_value`: double, long, boolean, string. */
  type: string;
  tags: Record<string, string>;
}

/** Every point of a bucket in [startMs, stopMs), with its value's type. */
export async function readBucket(
  instance: { influx: { url: string; token: string; org: string } },
  bucket: string,
  startMs: number,
  stopMs: number,
): Promise<TypedRow[]> {
  const { url, token, org } = instance.influx;
  const api = new InfluxDB({ url, token }).getQueryApi(org);
  const flux = `from(bucket: "${bucket}")
    |> range(start: ${new Date(startMs).toISOString()}, stop: ${new Date(stopMs).toISOString()})`;
  const rows: TypedRow[] = [];
  for await (const { values, tableMeta } of api.iterateRows(flux)) {
    const row = tableMeta.toObject(values);
    const tags: Record<string, string> = {};
    for (const column of tableMeta.columns) {
      if (!column.label.startsWith('_') && column.label !== 'result' && column.label !== 'table') {
        tags[column.label] = String(row[column.label]);
      }
    }
    rows.push({
      measurement: String(row._measurement),
      field: String(row._field),
      timeMs: Date.parse(String(row._time)),
      value: row._value,
      type: tableMeta.column('_value').dataType,
      tags,
    });
  }
  return rows;
}

/** The measurements the collector writes to the raw bucket: the ones the tiers downsample. */
export const RAW_MEASUREMENTS = [
  'twc_vitals',
  'twc_lifetime',
  'twc_version',
  'twc_wifi',
  'twc_health',
  'collector_spool',
] as const;

/**
 * Forces a run of a task as if scheduled at `scheduledForMs` (its now()) and
 * waits for it to finish; throws with the run's log unless it succeeded.
 */
export async function forceRun(instance: InitInstance, taskName: string, scheduledForMs: number): Promise<void> {
  const task = (await listTasks(instance)).find((candidate) => candidate.name === taskName);
  if (!task) throw new Error(`no task ${taskName}`);
  const created = await instance.api<{ id: string; message?: string }>('POST', `/api/v2/tasks/${task.id}/runs`, {
    scheduledFor: new Date(scheduledForMs).toISOString(),
  });
  if (created.status !== 201) throw new Error(`force run of ${taskName}: ${created.status} ${created.body.message}`);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const { body } = await instance.api<{ status: string; log?: { message: string }[] }>(
      'GET',
      `/api/v2/tasks/${task.id}/runs/${created.body.id}`,
    );
    if (body.status === 'success') return;
    if (body.status === 'failed' || body.status === 'canceled') {
      throw new Error(`${taskName} run ${body.status}: ${(body.log ?? []).map((entry) => entry.message).join('\n')}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`${taskName} run did not finish within 20 s`);
}
