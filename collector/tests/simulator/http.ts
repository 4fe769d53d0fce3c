/**
 * A bare HTTP client for the simulator tests: one fresh connection per
 * request (no pooling, no retries), so what a test sees is exactly what the
 * server did, including a destroyed socket or a refused connection.
 */
import { type IncomingHttpHeaders, request } from 'node:http';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** From sending the request to receiving the response headers. */
  firstByteMs: number;
}

export function httpRequest(host: string, path: string, method = 'GET', body?: string): Promise<Reply> {
  const [hostname, port] = host.split(':');
  return new Promise((resolve, reject) => {
    const startedMs = performance.now();
    const req = request(
      {
        hostname,
        port: Number(port),
        path,
        method,
        agent: false,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        const firstByteMs = performance.now() - startedMs;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            firstByteMs,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function getJson<T = Record<string, unknown>>(host: string, path: string): Promise<T> {
  const reply = await httpRequest(host, path);
  if (reply.status !== 200) throw new Error(`GET ${path} -> ${reply.status}: ${reply.body}`);
  return JSON.parse(reply.body) as T;
}

/** The error code a request fails with (ECONNRESET, ECONNREFUSED, ...), or "answered <status>". */
export async function failureOf(promise: Promise<Reply>): Promise<string> {
  try {
    const reply = await promise;
    return `answered ${reply.status}`;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}
