import { cheapestWindow } from '@twc/core/sessions/cheapest-window';
import { isValidTimeZone } from '@twc/core/time/wall-clock';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { currentPriceFromInflux, dailyPrices, fiveMinutePrices, freshen, hourlyPrices } from '../data/prices.js';
import { badRequest, notFound } from '../errors.js';
import { currentPriceSchema, errorSchema, isoTime, pricePointSchema } from '../schemas.js';

const DAY_MS = 86_400_000;

/** The longest range each resolution answers, and the default when `from` is not given. */
const LIMITS = {
  '5min': { maxMs: 31 * DAY_MS, defaultMs: DAY_MS },
  hour: { maxMs: 366 * DAY_MS, defaultMs: 7 * DAY_MS },
  day: { maxMs: 3700 * DAY_MS, defaultMs: 30 * DAY_MS },
} as const;

const historyQuery = z.object({
  from: isoTime.optional().meta({ description: 'start of the range (default: depends on resolution)' }),
  to: isoTime.optional().meta({ description: 'end of the range (default: now)' }),
  resolution: z.enum(['5min', 'hour', 'day']).default('hour'),
  tz: z.string().optional().meta({ description: 'time zone of day buckets (default: TIMEZONE)' }),
});

const cheapestQuery = z.object({
  hours: z.coerce.number().int().min(1).max(24).default(4).meta({ description: 'length of the window in hours' }),
  from: isoTime.optional().meta({ description: 'earliest start of the window (default: 24 hours before `before`)' }),
  before: isoTime.optional().meta({ description: 'the window must end by then (default: now)' }),
});

export async function priceRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/price/current',
    {
      schema: {
        tags: ['prices'],
        summary: 'The current ComEd price',
        description:
          'The latest 5-minute price and the running hour average, cached by the price poller in Redis; `stale` is judged at read time (no 5-minute price for 15 minutes). From InfluxDB when Redis has none.',
        response: { 200: currentPriceSchema, 404: errorSchema, 503: errorSchema },
      },
    },
    async () => {
      const nowMs = app.now();
      const cached = await app.live.price();
      if (cached) return { ...freshen(cached, nowMs), source: 'live' as const };
      const stored = await currentPriceFromInflux(app.influx, nowMs);
      if (!stored) throw notFound('no price has been recorded yet');
      return { ...stored, source: 'influxdb' as const };
    },
  );

  routes.get(
    '/price/history',
    {
      schema: {
        tags: ['prices'],
        summary: 'ComEd prices over a range: 5-minute, hourly, or per calendar day',
        description:
          "Each point covers [start, end): the 5-minute intervals and the hours that start in [from, to), or the calendar days that [from, to) touches. A 5-minute price is stamped by ComEd with the start of its interval; an hour's price is the average of its twelve 5-minute prices (the hour ending H averages those stamped H-60 to H-5 min). Day buckets are calendar days in the user's time zone (23 or 25 hours across DST changes), holding the prices stamped in them. Ranges are capped: 31 days at 5min, 366 at hour, about 10 years at day.",
        querystring: historyQuery,
        response: {
          200: z.object({
            resolution: z.enum(['5min', 'hour', 'day']),
            time_zone: z.string(),
            from: isoTime,
            to: isoTime,
            points: z.array(pricePointSchema),
          }),
          400: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request) => {
      const { resolution } = request.query;
      const timeZone = request.query.tz ?? app.config.timeZone;
      if (!isValidTimeZone(timeZone)) throw badRequest('tz', `unknown time zone "${timeZone}"`);
      const limits = LIMITS[resolution];
      const toMs = request.query.to === undefined ? app.now() : Date.parse(request.query.to);
      const fromMs = request.query.from === undefined ? toMs - limits.defaultMs : Date.parse(request.query.from);
      if (toMs <= fromMs) throw badRequest('to', 'must be after from');
      if (toMs - fromMs > limits.maxMs) {
        throw badRequest('from', `the range is longer than ${limits.maxMs / DAY_MS} days at resolution ${resolution}`);
      }
      const points =
        resolution === '5min'
          ? await fiveMinutePrices(app.influx, fromMs, toMs)
          : resolution === 'hour'
            ? await hourlyPrices(app.influx, fromMs, toMs)
            : await dailyPrices(app.influx, fromMs, toMs, timeZone);
      return {
        resolution,
        time_zone: timeZone,
        from: new Date(fromMs).toISOString(),
        to: new Date(toMs).toISOString(),
        points,
      };
    },
  );

  routes.get(
    '/price/cheapest-window',
    {
      schema: {
        tags: ['prices'],
        summary: 'The cheapest contiguous window of N hours between two instants',
        description:
          'Slides an N-hour window over the known 5-minute prices of the intervals inside [from, before] and returns the one with the lowest average price; windows holding a missing interval are skipped. ComEd publishes prices as they happen, so this answers "when was power cheapest", e.g. last night, for planning the next charge.',
        querystring: cheapestQuery,
        response: {
          200: z.object({
            hours: z.number().int(),
            from: isoTime,
            before: isoTime,
            window: z
              .object({ start: isoTime, end: isoTime, avg_price_cents_kwh: z.number() })
              .nullable()
              .meta({ description: 'null when no complete window of known prices fits' }),
          }),
          400: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request) => {
      const { hours } = request.query;
      const beforeMs = request.query.before === undefined ? app.now() : Date.parse(request.query.before);
      const fromMs = request.query.from === undefined ? beforeMs - DAY_MS : Date.parse(request.query.from);
      if (beforeMs <= fromMs) throw badRequest('before', 'must be after from');
      if (beforeMs - fromMs > LIMITS['5min'].maxMs) throw badRequest('from', 'the range is longer than 31 days');
      const prices = await fiveMinutePrices(app.influx, fromMs, beforeMs);
      const slots = prices.map((price) => ({
        startMs: Date.parse(price.start),
        centsPerKwh: price.avg_price_cents_kwh,
      }));
      const best = cheapestWindow(slots, hours * 12, { earliestStartMs: fromMs, deadlineMs: beforeMs });
      return {
        hours,
        from: new Date(fromMs).toISOString(),
        before: new Date(beforeMs).toISOString(),
        window: best
          ? {
              start: new Date(best.startMs).toISOString(),
              end: new Date(best.endMs).toISOString(),
              avg_price_cents_kwh: best.avgCentsPerKwh,
            }
          : null,
      };
    },
  );
}
