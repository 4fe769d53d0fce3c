import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';

export interface AppOptions {
  logger?: FastifyServerOptions['logger'];
}

/**
 * The API as a Fastify instance, built without listening so tests can use
 * `app.inject()`. `server.ts` adds the listening socket and graceful close.
 */
export async function buildApp(options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false });

  // Liveness: answers as long as the process serves HTTP; open without auth.
  app.get('/health', async () => ({ status: 'ok' }));

  return app;
}
