import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { LiveHub } from '../live/live-hub.js';

declare module 'fastify' {
  interface FastifyInstance {
    hub: LiveHub;
  }
}

export const LIVE_DESCRIPTION = [
  'Messages are JSON: `{"type": "vitals" | "session" | "price" | "forecast", "charger_id": <id or null>, "data": {...}}`,',
  'with `data` as the collector and the comed-poller publish it (LiveVitals, LiveSession, CurrentPrice, and',
  'PriceForecast with its next 24 hours, sent whenever it is recomputed, about every five minutes).',
  'Subscribe to one charger or all with the `charger` query parameter or a first message',
  '`{"subscribe": "<charger id>" | "all"}` (answered `{"type": "subscribed", ...}`). Prices and forecasts go to every client.',
  'The server pings every WS_HEARTBEAT_S seconds and drops clients that do not answer, or whose',
  'buffer stays over WS_MAX_BUFFERED_KB. With auth on, pass the credential as the `token` query parameter.',
].join(' ');

export async function liveRoutes(app: FastifyInstance): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/ws/live',
    {
      websocket: true,
      schema: {
        tags: ['live'],
        summary: 'WebSocket: vitals, session and price updates as they happen',
        description: LIVE_DESCRIPTION,
        querystring: z.object({
          charger: z.string().min(1).max(64).optional().meta({ description: 'a charger id, or `all` (default)' }),
          token: z
            .string()
            .optional()
            .meta({ description: 'credentials when auth is on (browsers cannot set headers)' }),
        }),
      },
    },
    (socket, request) => {
      app.hub.add(socket, request.query.charger ?? 'all');
    },
  );
}
