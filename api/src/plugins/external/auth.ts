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

declare module 'fastify' {
  interface FastifyRequest {
    /** The client as the rate limiter counts it, once its credential was verified (a digest of it). */
    verifiedClient?: string;
  }
}

/** Failed attempts a client may make per window before it is refused outright. */
export const AUTH_FAILURES_MAX = 10;
export const AUTH_FAILURE_WINDOW_MS = 60_000;
/** Each failure in the window adds this much to the next refusal (up to 2 s): guessing gets slow. */
const FAILURE_DELAY_STEP_MS = 200;
const FAILURE_DELAY_MAX_MS = 2000;
/** Clients tracked at once; an attacker cycling addresses cannot grow the map without bound. */
const TRACKED_CLIENTS_MAX = 10_000;

/**
 * Failed authentications per client address, in memory: it must keep
 * working when Redis stalls, and each replica slowing its own share is
 * enough to make guessing a key hopeless.
 */
export function createAuthFailureTracker(now: () => number) {
  const failures = new Map<string, { count: number; windowStartMs: number }>();
  function current(client: string): { count: number; windowStartMs: number } | undefined {
    const entry = failures.get(client);
    if (entry && now() - entry.windowStartMs >= AUTH_FAILURE_WINDOW_MS) {
      failures.delete(client);
      return undefined;
    }
    return entry;
  }
  return {
    /** Seconds until the client may try again, when it has used up its failures; undefined otherwise. */
    blockedForS(client: string): number | undefined {
      const entry = current(client);
      if (!entry || entry.count < AUTH_FAILURES_MAX) return undefined;
      return Math.max(1, Math.ceil((entry.windowStartMs + AUTH_FAILURE_WINDOW_MS - now()) / 1000));
    },
    /** Counts a failure; answers how long to hold the refusal. */
    failed(client: string): number {
      let entry = current(client);
      if (!entry) {
        if (failures.size >= TRACKED_CLIENTS_MAX) {
          for (const [key, value] of failures) {
            if (now() - value.windowStartMs >= AUTH_FAILURE_WINDOW_MS) failures.delete(key);
          }
          if (failures.size >= TRACKED_CLIENTS_MAX) failures.delete(failures.keys().next().value as string);
        }
        entry = { count: 0, windowStartMs: now() };
        failures.set(client, entry);
      }
      entry.count++;
      return Math.min(entry.count * FAILURE_DELAY_STEP_MS, FAILURE_DELAY_MAX_MS);
    },
    size: () => failures.size,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Optional authentication (AUTH_MODE): off by default; `jwt` checks an HS256
 * token signed with JWT_SECRET, which must carry `exp` and live at most
 * JWT_MAX_AGE_S; `apikey` one of API_KEYS. When on, every route needs it
 * except those marked public (/health, /ready, the status page shell, the
 * docs). Failures are counted per client address: each one is answered a
 * little later, and past AUTH_FAILURES_MAX a minute the client gets 429
 * without its credential being looked at. A verified credential is what the
 * rate limiter counts by (several people behind one NAT are not one client).
 */
export async function registerAuth(app: FastifyInstance, auth: ApiConfig['auth']): Promise<void> {
  if (auth.mode === 'none') return;
  if (auth.mode === 'jwt') {
    await app.register(jwt, {
      secret: auth.jwtSecret as string,
      verify: { algorithms: ['HS256'], requiredClaims: ['exp'], maxAge: auth.jwtMaxAgeS * 1000 },
    });
  }
  const tracker = createAuthFailureTracker(() => Date.now());
  const unauthorized = () => new ApiError(401, 'missing or invalid credentials');

  /** A token verified, and no longer-lived than JWT_MAX_AGE_S allows (counted from `iat`, or from now without one). */
  function validJwt(token: string): boolean {
    try {
      const payload = app.jwt.verify<{ exp?: unknown; iat?: unknown }>(token);
      if (typeof payload.exp !== 'number') return false;
      const issuedS = typeof payload.iat === 'number' ? payload.iat : Date.now() / 1000;
      return payload.exp - issuedS <= auth.jwtMaxAgeS;
    } catch {
      return false;
    }
  }

  app.addHook('onRequest', async (request, reply) => {
    if (isPublic(request)) return;
    const blockedS = tracker.blockedForS(request.ip);
    if (blockedS !== undefined) {
      reply.header('retry-after', String(blockedS));
      throw new ApiError(429, `too many failed authentications; retry in ${blockedS} s`);
    }
    const credential = credentialOf(request);
    const ok =
      credential !== undefined &&
      (auth.mode === 'apikey' ? matchesApiKey(credential, auth.apiKeys) : validJwt(credential));
    if (!ok) {
      await sleep(tracker.failed(request.ip));
      reply.header('www-authenticate', 'Bearer');
      throw unauthorized();
    }
    request.verifiedClient = `key:${createHash('sha256').update(credential).digest('hex').slice(0, 32)}`;
  });
}
