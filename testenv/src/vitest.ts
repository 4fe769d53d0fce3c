/**
 * Helpers for test files: each file gets its own InfluxDB bucket, Redis key
 * prefix and MQTT topic root, so test files running in parallel never see
 * each other's data.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { ServerEndpoints } from './index.js';

export type { ServerEndpoints } from './index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    servers: ServerEndpoints;
  }
}

export function servers(): ServerEndpoints {
  return inject('servers');
}

/** A name no other test in this run uses: `label-<random>`. */
export function uniqueName(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/** A Redis key prefix, e.g. `t-collector-1a2b3c4d:`. */
export function uniqueKeyPrefix(label: string): string {
  return `t-${uniqueName(label)}:`;
}

/** An MQTT topic root, e.g. `t/collector-1a2b3c4d`. */
export function uniqueTopicRoot(label: string): string {
  return `t/${uniqueName(label)}`;
}

/** Calls the InfluxDB v2 HTTP API with the admin token; throws with the server's message on failure. */
export async function influxApi<T>(method: string, path: string, body?: unknown): Promise<T> {
  const { influx } = servers();
  const response = await fetch(`${influx.url}${path}`, {
    method,
    headers: { authorization: `Token ${influx.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} -> ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Creates a bucket of its own for a test file (infinite retention unless given). */
export async function createTestBucket(label: string, retentionSeconds = 0): Promise<string> {
  const { influx } = servers();
  const name = uniqueName(label);
  await influxApi('POST', '/api/v2/buckets', {
    orgID: influx.orgId,
    name,
    retentionRules: retentionSeconds > 0 ? [{ type: 'expire', everySeconds: retentionSeconds }] : [],
  });
  return name;
}
