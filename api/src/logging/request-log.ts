/**
 * What the request log says about a request. Fastify's own serializer logs
 * the whole URL, and `?token=` is the documented way to authenticate the
 * WebSocket, the status page and links, so every live client's credential
 * would land in the log. Query parameters that carry a credential are
 * replaced by `[redacted]`; headers are not logged at all (the process
 * logger also redacts `authorization` wherever it appears).
 */
import type { FastifyRequest } from 'fastify';

/** Query parameter names that carry a credential, compared in lower case. */
const CREDENTIAL_PARAMETERS = new Set([
  'token',
  'access_token',
  'id_token',
  'jwt',
  'api_key',
  'apikey',
  'api-key',
  'key',
  'password',
  'secret',
  'auth',
  'authorization',
]);

export const REDACTED = '[redacted]';

function decodedName(raw: string): string {
  // The query parser decodes names (`%74oken` is `token`, `+` a space), so the check must too.
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).trim().toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/** The URL with the value of every credential-carrying query parameter replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  const queryAt = url.indexOf('?');
  if (queryAt < 0) return url;
  const query = url
    .slice(queryAt + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals < 0 ? pair : pair.slice(0, equals);
      return CREDENTIAL_PARAMETERS.has(decodedName(name)) ? `${name}=${REDACTED}` : pair;
    })
    .join('&');
  return `${url.slice(0, queryAt)}?${query}`;
}

/** The `req` of a request's log lines: Fastify's fields, with the URL redacted. */
export function serializeRequest(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
