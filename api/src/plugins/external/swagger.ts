import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { createJsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { errorSchema } from '../../schemas.js';

export const API_DESCRIPTION = [
  'REST, WebSocket and exports of the Tesla Wall Connector dashboard: live charger state, charging',
  'sessions with their cost at ComEd hourly prices, price history, cost summaries and exports.',
  '',
  'Authentication is optional (AUTH_MODE=none|jwt|apikey). When it is on, every route but',
  '/health and /ready needs a bearer token (a JWT signed HS256 with JWT_SECRET, or one of',
  'API_KEYS), sent as `Authorization: Bearer <token>`, `X-API-Key: <key>` or the `token`',
  'query parameter (for the WebSocket and links).',
  '',
  'A JWT must carry `exp`, and live at most JWT_MAX_AGE_S (a year by default), counted from',
  '`iat` or, without one, from now. To mint one valid for 90 days with JWT_SECRET in the',
  'environment:',
  '',
  '```sh',
  'node -e \'const c=require("node:crypto"),b=(o)=>Buffer.from(JSON.stringify(o)).toString("base64url"),',
  'now=Math.floor(Date.now()/1000),t=b({alg:"HS256",typ:"JWT"})+"."+b({sub:"home-assistant",iat:now,exp:now+90*86400});',
  'console.log(t+"."+c.createHmac("sha256",process.env.JWT_SECRET).update(t).digest("base64url"))\'',
  '```',
  '',
  'A client address that fails authentication 10 times within a minute is answered 429 (with',
  '`Retry-After`) until the minute is over, and each failure is answered a little later than the',
  'one before. Requests are limited per client (RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_S, 429 past',
  'it): per verified credential, otherwise per address.',
].join('\n');

/**
 * The answers every route may give besides its own: 401 when auth is on (not
 * on public routes), 429 past the rate limit or after repeated failed
 * authentication. Declared once here, for the routes registered after.
 */
function declareCommonAnswers(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const schema = route.schema as { hide?: boolean; response?: Record<string, unknown> } | undefined;
    if (!schema?.response || schema.hide) return;
    const config = route.config as { public?: boolean; rateLimit?: unknown } | undefined;
    const common: Record<number, unknown> = {};
    if (config?.public !== true) common[401] = errorSchema;
    if (config?.rateLimit !== false) common[429] = errorSchema;
    schema.response = { ...common, ...schema.response };
  });
}

/** OpenAPI 3 generated from the routes' zod schemas, served at /api/v1/openapi.json, and the interactive docs at /docs. */
export async function registerSwagger(app: FastifyInstance): Promise<void> {
  declareCommonAnswers(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Tesla Wall Connector dashboard API', version: '1.0.0', description: API_DESCRIPTION },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'a JWT (AUTH_MODE=jwt) or an API key (AUTH_MODE=apikey)',
          },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
      security: [{}, { bearer: [] }, { apiKey: [] }],
    },
    transform: createJsonSchemaTransform({ skipList: [] }),
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/api/v1/openapi.json', { schema: { hide: true }, config: { public: true } }, async () => app.swagger());
}
