import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { ApiConfig } from '../../config.js';
import { credentialOf } from './auth.js';

/**
 * Requests per client and window, counted in Redis so every API replica
 * shares the count. A client is its credential when it sends one (several
 * people behind one NAT are not one client), its address otherwise. While
 * Redis is down requests are let through rather than refused.
 */
export async function registerRateLimit(
  app: FastifyInstance,
  settings: ApiConfig['rateLimit'],
  redis: Redis,
  keyPrefix: string,
): Promise<void> {
  if (!settings.enabled) return;
  await app.register(rateLimit, {
    global: true,
    max: settings.max,
    timeWindow: settings.windowMs,
    redis,
    nameSpace: `${keyPrefix}ratelimit:`,
    skipOnError: true,
    keyGenerator: (request) => {
      const credential = credentialOf(request);
      return credential === undefined
        ? `ip:${request.ip}`
        : `key:${createHash('sha256').update(credential).digest('hex').slice(0, 32)}`;
    },
  });
}
