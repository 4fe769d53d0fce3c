import { HOUR_MS } from '@twc/core/prices/comed-clock';
import { isValidTimeZone } from '@twc/core/time/wall-clock';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { changeBetween } from '../core/cost-summary.js';
import { isInfluxTime } from '../core/flux.js';
import {
  type CalendarPeriod,
  calendarPeriod,
  localDateAt,
  NonexistentLocalDateError,
  parseLocalDate,
  previousPeriod,
} from '../core/periods.js';
import { periodTotals } from '../data/cost-totals.js';
import { findSession, parseSessionId, sessionFromLive, sessionHours } from '../data/sessions.js';
import { badRequest, notFound, unavailable } from '../errors.js';
import { errorSchema, isoTime, sessionHourSchema, sessionSchema, totalsSchema } from '../schemas.js';

const periodSchema = z.object({
  start: isoTime,
  end: isoTime,
  start_date: z.string().meta({ example: '2026-01-01' }),
  end_date: z.string().meta({ example: '2026-01-31' }),
  hours: z.number().meta({ description: 'length in hours: 23 or 25 for a day with a DST change' }),
  totals: totalsSchema,
});

export async function costRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/cost/session/:id',
    {
      schema: {
        tags: ['cost', 'sessions'],
        summary: "A session's cost hour by hour, and what it would have cost otherwise",
        description:
          'Per hour (ComEd bills by the hour): energy, average price, supply cost, adders, tax, total. What-if: the same charge in the cheapest window while the car was plugged in, and at the flat rate.',
        params: z.object({ id: z.string().min(1).max(128).meta({ example: 'ACB12345678901-1768500000000' }) }),
        response: {
          200: z.object({
            session: sessionSchema,
            hours: z.array(sessionHourSchema),
            what_if: z.object({
              flat_rate_cost_usd: z.number().nullable(),
              cheapest_window_cost_usd: z.number().nullable(),
              saving_vs_flat_usd: z.number().nullable(),
              saving_vs_cheapest_usd: z.number().nullable(),
            }),
          }),
          400: errorSchema,
          404: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const parsed = parseSessionId(id);
      if (!parsed) throw notFound(`session ${id} is unknown`);
      if (!isInfluxTime(parsed.startTimeMs)) {
        throw badRequest('id', 'the start time it ends with (epoch milliseconds) is outside 1677-2262');
      }
      let session = await findSession(app.influx, id);
      if (!session) {
        // An open session is in Redis until the collector closes and stores it.
        const live = await app.live.session(parsed.chargerId);
        // Not stored and Redis cannot say: it may be the open session; unknown is not absent.
        if (live === undefined && !app.live.available()) {
          throw unavailable(`session ${id} is not stored, and the open sessions (Redis) cannot be read now`);
        }
        if (live?.session.id !== id) throw notFound(`session ${id} is unknown`);
        session = sessionFromLive(live);
      }
      const endMs = session.end_time === null ? app.now() : Date.parse(session.end_time);
      const hours = session.open
        ? []
        : await sessionHours(app.influx, {
            id,
            chargerId: parsed.chargerId,
            fromMs: parsed.startTimeMs,
            toMs: endMs + HOUR_MS,
          });
      return {
        session,
        hours,
        what_if: {
          flat_rate_cost_usd: session.flat_rate_cost_usd,
          cheapest_window_cost_usd: session.cheapest_window_cost_usd,
          saving_vs_flat_usd: session.saving_vs_flat_usd,
          saving_vs_cheapest_usd: session.saving_vs_cheapest_usd,
        },
      };
    },
  );

  routes.get(
    '/cost/summary',
    {
      schema: {
        tags: ['cost'],
        summary: 'Cost of a calendar day, week, month or year, against the period before',
        description:
          "Periods are calendar periods in the user's time zone (weeks start on Monday), DST-correct. Energy and cost count where the energy was drawn (session hours); sessions count in the period they started.",
        querystring: z.object({
          period: z.enum(['day', 'week', 'month', 'year']).default('month'),
          date: z
            .string()
            .optional()
            .meta({ description: 'a day in the period, YYYY-MM-DD (default: today)', example: '2026-01-15' }),
          tz: z
            .string()
            .optional()
            .meta({ description: 'IANA time zone (default: TIMEZONE)', example: 'America/Chicago' }),
          charger: z.string().min(1).max(64).optional().meta({ description: 'one charger id (default: all)' }),
        }),
        response: {
          200: z.object({
            period: z.enum(['day', 'week', 'month', 'year']),
            time_zone: z.string(),
            charger: z.string().nullable(),
            current: periodSchema,
            previous: periodSchema,
            change: z.object({
              energy_wh: z.number(),
              total_cost_usd: z.number(),
              energy_pct: z.number().nullable(),
              total_cost_pct: z.number().nullable(),
            }),
          }),
          400: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request) => {
      const { period: kind, charger } = request.query;
      const timeZone = request.query.tz ?? app.config.timeZone;
      if (!isValidTimeZone(timeZone)) throw badRequest('tz', `unknown time zone "${timeZone}"`);
      const date =
        request.query.date === undefined ? localDateAt(app.now(), timeZone) : parseLocalDate(request.query.date);
      if (!date) throw badRequest('date', 'must be a calendar date, YYYY-MM-DD');
      // InfluxDB's times run from 1677-09-21 to 2262-04-11; the year before and after are whole periods.
      if (date.year < 1678 || date.year > 2261) throw badRequest('date', 'must be between 1678-01-01 and 2261-12-31');
      let period: CalendarPeriod;
      try {
        period = calendarPeriod(kind, date, timeZone);
      } catch (error) {
        if (error instanceof NonexistentLocalDateError) throw badRequest('date', error.message);
        throw error;
      }
      const [current, previous] = await Promise.all([
        periodTotals(app.influx, period, charger),
        periodTotals(app.influx, previousPeriod(period, timeZone), charger),
      ]);
      return {
        period: kind,
        time_zone: timeZone,
        charger: charger ?? null,
        current,
        previous,
        change: changeBetween(current.totals, previous.totals),
      };
    },
  );
}
