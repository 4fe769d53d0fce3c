/**
 * InfluxDB 2.x's delete API (`POST /api/v2/delete`), for the one place the
 * product removes points: re-deriving a stored series whose old points would
 * not all be overwritten (prices/hourly-rederive.ts). The token needs write
 * permission on the bucket.
 */
import { request } from 'undici';

export interface InfluxDeleteOptions {
  url: string;
  token: string;
  org: string;
  timeoutMs?: number;
}

export type DeletePoints = (
  bucket: string,
  measurement: string,
  /** Points stamped in [startMs, stopMs] are deleted (InfluxDB's bounds are inclusive). */
  startMs: number,
  stopMs: number,
) => Promise<void>;

export function createInfluxDelete(options: InfluxDeleteOptions): DeletePoints {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return async (bucket, measurement, startMs, stopMs) => {
    const url = new URL('/api/v2/delete', options.url);
    url.searchParams.set('org', options.org);
    url.searchParams.set('bucket', bucket);
    if (!/^[\w.-]+$/.test(measurement)) throw new Error(`not a measurement name: ${measurement}`);
    const response = await request(url, {
      method: 'POST',
      headers: { authorization: `Token ${options.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        start: new Date(startMs).toISOString(),
        stop: new Date(stopMs).toISOString(),
        predicate: `_measurement="${measurement}"`,
      }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.body.text();
    if (response.statusCode !== 204) {
      throw new Error(`InfluxDB refused to delete ${measurement} from ${bucket}: HTTP ${response.statusCode} ${text}`);
    }
  };
}
