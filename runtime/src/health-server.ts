/**
 * A service's `GET /health`, on loopback, for the container healthcheck and
 * a person with a shell in the container: the service's status as JSON, 200
 * while it is healthy (by default: while the process runs its event loop),
 * 503 otherwise.
 */
import { createServer, type Server } from 'node:http';

export interface HealthServer {
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0: any free port); `port()` of the result says which. */
export async function startHealthServer(
  port: number,
  status: () => Record<string, unknown>,
  healthy: () => boolean = () => true,
): Promise<HealthServer & { port: number }> {
  const server: Server = createServer((request, response) => {
    if (request.url !== '/health') {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: 'not found' }));
      return;
    }
    const ok = healthy();
    response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status: ok ? 'ok' : 'unhealthy', ...status() }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
