import { createHash, timingSafeEqual } from 'node:crypto';
import jwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiConfig } from '../../config.js';
import { ApiError } from '../../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without credentials even when auth is on. */
    public?: boolean;
  }
}

/** The credential a request carries: bearer header, X-API-Key header, or `token` query parameter (WebSocket, links). */
export function credentialOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string' && /^bearer\s+/i.test(header)) return header.replace(/^bearer\s+/i, '').trim();
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '') return apiKey;
  const query = request.query as Record<string, unknown> | undefined;
  const token = query?.token;
  return typeof token === 'string' && token !== '' ? token : undefined;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Compares against every key in constant time per key, so timing does not reveal a prefix. */
export function matchesApiKey(candidate: string, keys: readonly string[]): boolean {
  const hashed = digest(candidate);
  let found = false;
  for (const key of keys) found = timingSafeEqual(hashed, digest(key)) || found;
  return found;
}

function isPublic(request: FastifyRequest): boolean {
  if (request.routeOptions.config?.public === true) return true;
  // The interactive docs are static assets plus the API's description: no data.
  return request.url === '/docs' || request.url.startsWith('/docs/');
}

/**
 * Optional authentication (AUTH_MODE): off by default; `jwt` checks an HS256
 * token signed with JWT_SECRET, `apikey` one of API_KEYS. When on, every
 * route needs it except those marked public (/health, /ready, the status page
 * shell, the docs).
 */
export async function registerAuth(app: FastifyInstance, auth: ApiConfig['auth']): Promise<void> {
  if (auth.mode === 'none') return;
  if (auth.mode === 'jwt') {
    await app.register(jwt, { secret: auth.jwtSecret as string, verify: { algorithms: ['HS256'] } });
  }
  const unauthorized = () => new ApiError(401, 'missing or invalid credentials');
  app.addHook('onRequest', async (request, reply) => {
    if (isPublic(request)) return;
    const credential = credentialOf(request);
    let ok = false;
    if (credential !== undefined) {
      if (auth.mode === 'apikey') {
        ok = matchesApiKey(credential, auth.apiKeys);
      } else {
        try {
          app.jwt.verify(credential);
          ok = true;
        } catch {
          ok = false;
        }
      }
    }
    if (!ok) {
      reply.header('www-authenticate', 'Bearer');
      throw unauthorized();
    }
  });
}
