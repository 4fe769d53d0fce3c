import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { ApiConfig } from '../../config.js';

/**
 * Requests per client and window, counted in Redis so every API replica
 * shares the count. A client is its credential once auth verified it
 * (several people behind one NAT are not one client), its address
 * otherwise: a made-up credential must not buy a fresh count. Registered
 * after auth, whose hook sets the verified client. While Redis is down
 * requests are let through rather than refused.
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
    keyGenerator: (request) => request.verifiedClient ?? `ip:${request.ip}`,
  });
}
