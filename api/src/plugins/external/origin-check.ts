import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../../errors.js';

/**
 * Names a browser on the home network reaches the API by without anyone
 * configuring them: addresses, `localhost`, single-label names (`raspberrypi`,
 * a Compose service) and the local suffixes home routers and mDNS hand out.
 * A public name (`evil.example`) pointed at a LAN address (DNS rebinding)
 * is none of these.
 */
// .svc and .cluster.local: Kubernetes service names inside a cluster.
const LOCAL_SUFFIXES = [
  '.local',
  '.lan',
  '.home',
  '.internal',
  '.home.arpa',
  '.localdomain',
  '.localhost',
  '.svc',
  '.cluster.local',
];

/** The host of a Host header or an origin's authority, without port or IPv6 brackets, lower case. */
function hostnameOf(authority: string): string {
  const trimmed = authority.trim().toLowerCase();
  if (trimmed.startsWith('[')) return trimmed.slice(1, trimmed.indexOf(']'));
  const colon = trimmed.lastIndexOf(':');
  return colon >= 0 && trimmed.indexOf(':') === colon ? trimmed.slice(0, colon) : trimmed;
}

export function isLocalHostname(hostname: string): boolean {
  const name = hostname.replace(/\.$/, '');
  if (isIP(name) !== 0 || name === 'localhost' || !name.includes('.')) return true;
  return LOCAL_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

function originHostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * Host and Origin checks. Every request must name a host the API is known by
 * (local names, or API_ALLOWED_HOSTS; `*` turns the check off): with auth off,
 * the default, a web page could otherwise reach the API through DNS
 * rebinding. A WebSocket upgrade from a browser (it sends Origin) must come
 * from the API's own origin or one of CORS_ORIGINS: browsers apply no
 * same-origin rule to WebSockets, so any page a person on the LAN opens
 * could otherwise read the live feed. Clients that send no Origin (Home
 * Assistant, scripts) are not browsers and pass.
 */
export function registerOriginCheck(
  app: FastifyInstance,
  settings: { allowedHosts: readonly string[]; corsOrigins: readonly string[] },
): void {
  const anyHost = settings.allowedHosts.includes('*');
  const hosts = new Set(settings.allowedHosts.map((host) => hostnameOf(host)));
  const anyOrigin = settings.corsOrigins.includes('*');
  const origins = new Set(settings.corsOrigins.map((origin) => originHostOf(origin)).filter(Boolean));

  function hostAllowed(request: FastifyRequest): boolean {
    if (anyHost) return true;
    const host = request.headers.host;
    if (typeof host !== 'string' || host === '') return false;
    const name = hostnameOf(host);
    return hosts.has(name) || isLocalHostname(name);
  }

  app.addHook('onRequest', async (request) => {
    if (!hostAllowed(request)) {
      throw new ApiError(421, 'this API does not answer for that host name (API_ALLOWED_HOSTS)');
    }
    const origin = request.headers.origin;
    const upgrade = String(request.headers.upgrade ?? '').toLowerCase() === 'websocket';
    if (!upgrade || origin === undefined || anyOrigin) return;
    const originHost = originHostOf(origin);
    const ownHost = String(request.headers.host ?? '').toLowerCase();
    if (originHost !== undefined && (originHost === ownHost || origins.has(originHost))) return;
    throw new ApiError(403, 'WebSocket connections are accepted from the API’s own pages and CORS_ORIGINS only');
  });
}
