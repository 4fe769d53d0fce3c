import { STATUS_CODES } from 'node:http';
import type { Logger } from '@twc/runtime/logger';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { ApiConfig } from './config.js';
import { ApiError } from './errors.js';
import { createLiveHub } from './live/live-hub.js';
import { serializeRequest } from './logging/request-log.js';
import { createControlAlerts } from './notify/control-alerts.js';
import { createNotifier } from './notify/notifiers.js';
import { createInfluxReader, type InfluxReader, registerInflux } from './plugins/app/influx.js';
import { createLiveStore, type LiveStore, registerLiveStore } from './plugins/app/redis.js';
import { registerRequestGuard } from './plugins/app/request-guard.js';
import { registerAuth } from './plugins/external/auth.js';
import { registerCors } from './plugins/external/cors.js';
import { registerOriginCheck } from './plugins/external/origin-check.js';
import { registerRateLimit } from './plugins/external/rate-limit.js';
import { registerSwagger } from './plugins/external/swagger.js';
import { registerWebsocket } from './plugins/external/websocket.js';
import { createReportScheduler, type ReportScheduler } from './reports/report-scheduler.js';
import { chargerRoutes } from './routes/chargers.js';
import { costRoutes } from './routes/cost.js';
import { exportRoutes } from './routes/export.js';
import { healthRoutes } from './routes/health.js';
import { liveRoutes } from './routes/live.js';
import { planRoutes } from './routes/plan.js';
import { priceRoutes } from './routes/price.js';
import { reportRoutes } from './routes/reports.js';
import { statusPageRoutes } from './routes/status-page.js';

export interface AppOptions {
  config: ApiConfig;
  /** The process logger; silent when not given (tests). */
  logger?: Logger;
  /** The clock, for tests that pin "now". */
  now?: () => number;
  /** Adapters to use instead of the ones built from the config. */
  influx?: InfluxReader;
  live?: LiveStore;
}

declare module 'fastify' {
  interface FastifyInstance {
    config: ApiConfig;
    now: () => number;
    scheduler: ReportScheduler;
  }
}

/** `querystring.from` -> `from`: the name the client used. */
function fieldOf(instancePath: string, context: string | undefined): string {
  const path = instancePath.replace(/^\//, '').split('/').filter(Boolean).join('.');
  return path || context || 'request';
}

/**
 * The API as a Fastify instance, built without listening so tests can use
 * `app.inject()`; `server.ts` adds the socket and graceful close.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify({
    ...(options.logger
      ? { loggerInstance: options.logger.child({}, { serializers: { req: serializeRequest } }) }
      : { logger: false }),
    // X-Forwarded-For names the client only when the request comes from a proxy we were told of
    // (TRUST_PROXY): the default stack publishes the API directly, and a client could name itself
    // anyone to walk around the rate limit.
    trustProxy: config.http.trustProxy.length > 0 ? config.http.trustProxy.join(',') : false,
    // The whole request (headers and body) must arrive within requestTimeout, and a socket idle
    // for connectionTimeout is closed: slow clients cannot hold connections for good. Node checks
    // requestTimeout every connectionsCheckingInterval (30 s by default).
    requestTimeout: config.http.requestTimeoutMs,
    connectionTimeout: config.http.idleTimeoutMs,
    http: {
      headersTimeout: Math.min(config.http.requestTimeoutMs, 60_000),
      connectionsCheckingInterval: Math.min(Math.max(config.http.requestTimeoutMs / 4, 250), 30_000),
    },
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate('config', config);
  app.decorate('now', options.now ?? Date.now);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issue = error.validation[0];
      const message = `${fieldOf(issue?.instancePath ?? '', error.validationContext)}: ${issue?.message ?? 'invalid'}`;
      request.log.info({ err: message }, 'bad request');
      return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message });
    }
    const statusCode = typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
    if (statusCode >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ err: error.message, statusCode }, 'request refused');
    // Below 500 the message is for the client; above, only messages we wrote for it.
    const message = statusCode < 500 || error instanceof ApiError ? error.message : 'Internal Server Error';
    return reply.code(statusCode).send({ statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      statusCode: 404,
      error: 'Not Found',
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
    }),
  );

  const logger = options.logger;
  const child = (module: string) => (logger ? logger.child({ module }) : (app.log as unknown as Logger));
  // Requests read with the short timeout; the report scheduler, which no one waits for, with the long one.
  registerInflux(
    app,
    options.influx ??
      createInfluxReader({ ...config.influx, timeoutMs: config.influx.queryTimeoutMs, logger: child('influx') }),
  );
  const reportInflux = options.influx ?? createInfluxReader({ ...config.influx, logger: child('influx-reports') });
  const live = options.live ?? createLiveStore({ ...config.redis, logger: child('redis') });
  registerLiveStore(app, live);
  await live.connect();

  await registerCors(app, config.corsOrigins);
  // Before auth and rate limit: its onRequest hook marks upgrade requests, so a
  // refused upgrade's socket is closed after the answer.
  await registerWebsocket(app);
  registerOriginCheck(app, { allowedHosts: config.allowedHosts, corsOrigins: config.corsOrigins });
  // Auth first: the rate limiter counts by the client auth verified.
  await registerAuth(app, config.auth);
  // A charger may be named by its id (serial) or by the name it has in CHARGERS: routes see the id.
  app.addHook('preHandler', async (request) => {
    const params = request.params as { id?: unknown } | undefined;
    if (typeof params?.id === 'string' && request.routeOptions.url?.startsWith('/api/v1/chargers/:id')) {
      params.id = await app.live.chargerIdOf(params.id);
    }
    const query = request.query as { charger?: unknown } | undefined;
    if (typeof query?.charger === 'string' && query.charger !== 'all') {
      query.charger = await app.live.chargerIdOf(query.charger);
    }
  });
  await registerRateLimit(app, config.rateLimit, live);
  await registerSwagger(app);
  registerRequestGuard(app);

  const hub = createLiveHub({
    redisUrl: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    logger: child('live-hub'),
    ...config.websocket,
  });
  app.decorate('hub', hub);
  app.addHook('onReady', async () => {
    await hub.start();
  });
  app.addHook('preClose', async () => {
    await hub.stop();
  });

  await app.register(healthRoutes);
  await app.register(
    async (api) => {
      await api.register(chargerRoutes);
      await api.register(planRoutes);
      await api.register(priceRoutes);
      await api.register(costRoutes);
      await api.register(exportRoutes);
      await api.register(reportRoutes);
    },
    { prefix: '/api/v1' },
  );
  await app.register(liveRoutes);
  await app.register(statusPageRoutes);

  const notifier = createNotifier(config.notify, child('notify'));
  // A failed command to a car goes to the alert channels (once per charger per half hour, whichever replica).
  const controlAlerts = createControlAlerts({
    redisUrl: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    redis: live.client,
    notifier,
    chargerName: async (id) => (await live.chargerStatus(id))?.charger_name,
    logger: child('control-alerts'),
  });
  app.addHook('onReady', async () => controlAlerts.start());
  app.addHook('preClose', async () => controlAlerts.stop());
  const scheduler = createReportScheduler({
    dir: config.reports.dir,
    timeZone: config.timeZone,
    settings: {
      monthlyReports: true,
      daily: config.reports.daily,
      weekly: config.reports.weekly,
      notifyHour: config.reports.notifyHour,
    },
    influx: reportInflux,
    notifier,
    redis: live.client,
    keyPrefix: config.redis.keyPrefix,
    logger: child('report-scheduler'),
    now: app.now,
  });
  app.decorate('scheduler', scheduler);
  // REPORTS_ENABLED=false leaves everything scheduled to GET /export/report and to other replicas.
  if (config.reports.enabled) {
    app.addHook('onReady', async () => scheduler.start());
    app.addHook('preClose', async () => scheduler.stop());
  }
  return app;
}
