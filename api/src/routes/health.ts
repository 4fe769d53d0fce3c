import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

const readySchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  influxdb: z.boolean(),
  redis: z.boolean(),
});

/** Probes for the orchestrator: open without auth and not rate limited. */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  routes.get(
    '/health',
    {
      config: { public: true, rateLimit: false },
      schema: {
        tags: ['health'],
        summary: 'Liveness: answers while the process serves HTTP',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  routes.get(
    '/ready',
    {
      config: { public: true, rateLimit: false },
      schema: {
        tags: ['health'],
        summary: 'Readiness: InfluxDB and Redis reachable (503 otherwise)',
        response: {
          200: readySchema.meta({ example: { status: 'ready', influxdb: true, redis: true } }),
          503: readySchema.meta({ example: { status: 'not_ready', influxdb: true, redis: false } }),
        },
      },
    },
    async (_request, reply) => {
      const [influxdb, redis] = await Promise.all([app.influx.ping(), app.live.ping()]);
      const ready = influxdb && redis;
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', influxdb, redis });
    },
  );
}
