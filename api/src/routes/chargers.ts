import type { ChargerStatus, LiveSession, LiveVitals } from '@twc/core/contracts/redis';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  chargerFromStatus,
  chargerInInflux,
  chargersFromInflux,
  lastVitalsFromInflux,
  vitalsFromLive,
} from '../data/chargers.js';
import { listSessions, sessionFromLive } from '../data/sessions.js';
import { badRequest, notFound } from '../errors.js';
import { chargerIdParams, chargerSchema, errorSchema, instantParam, sessionSchema, statusSchema } from '../schemas.js';

const sessionsQuery = z.object({
  from: instantParam.optional().meta({ description: 'sessions that started at or after this instant' }),
  to: instantParam.optional().meta({ description: 'sessions that started before this instant (default: now)' }),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
  cursor: z
    .string()
    .regex(/^\d{1,16}$/, { message: 'must be the next_cursor of a previous page' })
    .optional()
    .meta({ description: 'next_cursor of the previous page: sessions started before it' }),
});

/** A charger known to Redis or InfluxDB; 404 otherwise. */
export async function requireKnownCharger(app: FastifyInstance, id: string): Promise<void> {
  const statuses = await app.live.chargers();
  if (statuses?.some((status) => status.charger_id === id)) return;
  if (await chargerInInflux(app.influx, id)) return;
  throw notFound(`charger ${id} is unknown`);
}

export async function chargerRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  const requireCharger = (id: string) => requireKnownCharger(app, id);

  routes.get(
    '/chargers',
    {
      schema: {
        tags: ['chargers'],
        summary: 'Configured chargers with serial, name, online state and last contact',
        description:
          "From the collector's live state in Redis; from InfluxDB (twc_version) when Redis is empty or down.",
        response: { 200: z.object({ chargers: z.array(chargerSchema) }), 503: errorSchema },
      },
    },
    async () => {
      const statuses = await app.live.chargers();
      if (statuses !== undefined && statuses.length > 0) {
        return {
          chargers: statuses.map(chargerFromStatus).sort((a, b) => a.name.localeCompare(b.name)),
        };
      }
      return { chargers: await chargersFromInflux(app.influx, app.now()) };
    },
  );

  routes.get(
    '/chargers/:id/status',
    {
      schema: {
        tags: ['chargers'],
        summary: 'Live state of a charger',
        description:
          'The latest vitals from Redis (`source: live`); when Redis has none, the last InfluxDB sample (`source: influxdb`) and how old it is.',
        params: chargerIdParams,
        response: { 200: statusSchema, 404: errorSchema, 503: errorSchema },
      },
      // The hottest route (a status page polls it for every charger): its answer is
      // built here and typed by the same schema, so it is written out as it is,
      // without checking it against the schema again at run time; the route tests
      // and the end-to-end suite's schema fuzzing check what it sends.
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (request) => {
      const { id } = request.params;
      const nowMs = app.now();
      // The live hub hears every publish: a charger it has heard from needs no Redis read.
      const heard = app.hub.latest(id);
      let live: LiveVitals | undefined;
      let status: ChargerStatus | undefined;
      let liveSession: LiveSession | undefined;
      if (heard?.vitals) {
        live = heard.vitals;
        status = await app.live.chargerStatus(id);
        if (heard.session === undefined) {
          const stored = await app.live.session(id);
          app.hub.rememberSession(id, stored ?? null);
          liveSession = stored;
        } else {
          liveSession = heard.session ?? undefined;
        }
      } else {
        ({ vitals: live, status, session: liveSession } = (await app.live.chargerLive(id)) ?? {});
      }
      const session = liveSession?.open ? sessionFromLive(liveSession) : null;
      if (live) {
        const timeMs = Date.parse(live.time);
        return {
          charger_id: id,
          charger_name: live.charger_name,
          source: 'live' as const,
          time: new Date(timeMs).toISOString(),
          age_s: Math.max(0, (nowMs - timeMs) / 1000),
          online: status?.online ?? null,
          vitals: vitalsFromLive(live),
          session,
        };
      }
      const last = await lastVitalsFromInflux(app.influx, id);
      if (!last) throw notFound(`charger ${id} is unknown`);
      return {
        charger_id: id,
        charger_name: last.chargerName,
        source: 'influxdb' as const,
        time: new Date(last.timeMs).toISOString(),
        age_s: Math.max(0, (nowMs - last.timeMs) / 1000),
        online: status?.online ?? null,
        vitals: last.vitals,
        session,
      };
    },
  );

  routes.get(
    '/chargers/:id/sessions',
    {
      schema: {
        tags: ['chargers', 'sessions'],
        summary: 'Charging sessions of a charger, newest first, with their cost',
        description:
          'Paginated with limit/offset or with cursor (next_cursor of the previous page). The open session, if any, comes first on the first page (in addition to `limit` closed sessions), marked `open: true`.',
        params: chargerIdParams,
        querystring: sessionsQuery,
        response: {
          200: z.object({
            sessions: z.array(sessionSchema),
            limit: z.number().int(),
            offset: z.number().int(),
            next_cursor: z.string().nullable(),
          }),
          400: errorSchema,
          404: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { limit, offset, cursor } = request.query;
      const fromMs = request.query.from === undefined ? 0 : Date.parse(request.query.from);
      let toMs = request.query.to === undefined ? app.now() + 1 : Date.parse(request.query.to);
      if (toMs <= fromMs) throw badRequest('to', 'must be after from');
      if (cursor !== undefined) toMs = Math.min(toMs, Number(cursor));
      await requireCharger(id);
      const closed =
        toMs > fromMs ? await listSessions(app.influx, { chargerId: id, fromMs, toMs, limit, offset }) : [];
      const sessions = [...closed];
      if (offset === 0 && cursor === undefined) {
        const live = await app.live.session(id);
        if (live?.open && live.session.startTimeMs >= fromMs && live.session.startTimeMs < toMs) {
          const open = sessionFromLive(live);
          sessions.unshift(open);
          // A tracker may also have written the open session: show it once.
          const duplicate = sessions.findIndex((session, index) => index > 0 && session.id === open.id);
          if (duplicate > 0) sessions.splice(duplicate, 1);
        }
      }
      const last = closed.at(-1);
      return {
        sessions,
        limit,
        offset,
        next_cursor: closed.length === limit && last ? String(Date.parse(last.start_time)) : null,
      };
    },
  );
}
