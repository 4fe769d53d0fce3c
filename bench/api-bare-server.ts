/**
 * The API benchmark's baseline: a bare Fastify app with one route at the
 * status route's path, answering a fixed body (the API's own status answer,
 * passed in BARE_BODY) with no schema, hooks, plugins or Redis. Run as its
 * own process by api-bench.ts; BARE_FASTIFY_FROM names the package.json whose
 * dependencies hold the same fastify the API uses.
 */
import { createRequire } from 'node:module';
import type * as FastifyModule from 'fastify';

const port = Number(process.env.BARE_PORT);
const body = JSON.parse(process.env.BARE_BODY ?? 'null') as unknown;
const from = process.env.BARE_FASTIFY_FROM;
if (!Number.isInteger(port) || port <= 0 || typeof body !== 'object' || body === null || !from) {
  process.stderr.write('usage: BARE_PORT=<port> BARE_BODY=<JSON object> BARE_FASTIFY_FROM=<package.json> node ...\n');
  process.exit(2);
}

const fastify = (createRequire(from)('fastify') as typeof FastifyModule).default;
const app = fastify({ logger: false });
app.get('/api/v1/chargers/:id/status', async () => body);
app.get('/health', async () => ({ status: 'ok' }));

process.once('SIGTERM', () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});

await app.listen({ host: '127.0.0.1', port });
