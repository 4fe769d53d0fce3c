import { type ChargeWindow, cheapestChargeWindow } from '@twc/core/prices/charge-window';
import { HOUR_MS } from '@twc/core/prices/comed-clock';
import { estimatesOf, forecastAhead, isForecastStale } from '@twc/core/prices/forecast-snapshot';
import { cheapestWindow } from '@twc/core/sessions/cheapest-window';
import { isValidTimeZone } from '@twc/core/time/wall-clock';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { currentPriceFromInflux, dailyPrices, fiveMinutePrices, freshen, hourlyPrices } from '../data/prices.js';
import { badRequest, notFound, unavailable } from '../errors.js';
import {
  currentPriceSchema,
  errorSchema,
  instantParam,
  isoTime,
  plannedChargeSchema,
  priceForecastSchema,
  pricePointSchema,
} from '../schemas.js';

const DAY_MS = 86_400_000;

/** The longest range each resolution answers, and the default when `from` is not given. */
const LIMITS = {
  '5min': { maxMs: 31 * DAY_MS, defaultMs: DAY_MS },
  hour: { maxMs: 366 * DAY_MS, defaultMs: 7 * DAY_MS },
  day: { maxMs: 3700 * DAY_MS, defaultMs: 30 * DAY_MS },
} as const;

const historyQuery = z.object({
  from: instantParam.optional().meta({ description: 'start of the range (default: depends on resolution)' }),
  to: instantParam.optional().meta({ description: 'end of the range (default: now)' }),
  resolution: z.enum(['5min', 'hour', 'day']).default('hour'),
  tz: z.string().optional().meta({ description: 'time zone of day buckets (default: TIMEZONE)' }),
});

const cheapestQuery = z.object({
  hours: z.coerce
    .number()
    .int()
    .min(1)
    .max(24)
    .optional()
    .meta({ description: 'length of the window in hours (default 4 unless kwh is given)' }),
  kwh: z.coerce
    .number()
    .positive()
    .max(250)
    .optional()
    .meta({ description: 'ahead only: the energy to charge, at power_kw, instead of hours' }),
  power_kw: z.coerce
    .number()
    .positive()
    .max(50)
    .default(11.5)
    .meta({ description: "ahead only: the charging power, kW (default 11.5: a Wall Connector's 48 A at 240 V)" }),
  from: instantParam.optional().meta({
    description: 'earliest start of the window (default: 24 hours before `before`, or now when `before` is ahead)',
  }),
  before: instantParam.optional().meta({
    description: 'the window must end by then (default: now); in the future, the window is planned on the forecast',
  }),
});

const forecastQuery = z.object({
  hours: z.coerce.number().int().min(1).max(48).default(48).meta({ description: 'hours ahead, from the current one' }),
});

/** How far ahead the forecast reaches; a plan may not end later. */
const FORECAST_HORIZON_MS = 48 * HOUR_MS;

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
    '/price/forecast',
    {
      schema: {
        tags: ['prices'],
        summary: 'The price of each hour ahead, and where it comes from',
        description:
          "The comed-poller's estimate of each hour from the current one: `running` (the current hour's 5-minute prices so far), `day_ahead` (ComEd's day-ahead price, published around 16:30 Central for the next day) or `forecast` (beyond it: the median of the same hour of the week over the last four weeks, scaled by the recent level). Each carries the band about 80 % of hours fell in when the same estimates were backtested on the stored history. `tonight` is the coming night (TONIGHT_FROM_HOUR to TONIGHT_UNTIL_HOUR) with its cheapest TONIGHT_CHARGE_HOURS. Recomputed every five minutes; `stale` when it has not been, or the feed behind it has stalled.",
        querystring: forecastQuery,
        response: { 200: priceForecastSchema, 503: errorSchema },
      },
    },
    async (request) => {
      const nowMs = app.now();
      const forecast = await app.live.forecast();
      if (!forecast)
        throw unavailable('no forecast yet: the comed-poller publishes one within five minutes of starting');
      const ahead = forecastAhead(forecast, nowMs, request.query.hours);
      return {
        ...ahead,
        stale: isForecastStale(forecast, nowMs),
        hours: ahead.hours.map((hour) => ({
          start: new Date(Date.parse(hour.hour_ending) - HOUR_MS).toISOString(),
          ...hour,
        })),
      };
    },
  );

  routes.get(
    '/price/cheapest-window',
    {
      schema: {
        tags: ['prices'],
        summary: 'The cheapest window of N hours (or of an energy) between two instants, past or ahead',
        description:
          'With `before` in the past (the default: now), slides an N-hour window over the known 5-minute prices of the intervals inside [from, before] and returns the one with the lowest average; windows holding a missing interval are skipped: "when was power cheapest". With `before` ahead (up to 48 hours), plans on the forecast (GET /price/forecast): a charge of `hours` or of `kwh` at `power_kw`, starting now or on an hour boundary, each hour labelled with its source; ComEd bills each hour at its average, so only the last hour is partial. `charge_now` is the same charge started at once, `saving_usd` what waiting saves on the supply price (delivery charges are the same either way).',
        querystring: cheapestQuery,
        response: {
          200: z.object({
            mode: z.enum(['history', 'ahead']),
            hours: z.number().int().nullable(),
            kwh: z.number().nullable(),
            power_kw: z.number().nullable(),
            from: isoTime,
            before: isoTime,
            stale: z.boolean().meta({ description: 'ahead: the forecast planned on is stale' }),
            window: plannedChargeSchema
              .partial({ energy_kwh: true, supply_cost_usd: true, hours: true })
              .nullable()
              .meta({ description: 'null when no complete window of known prices fits' }),
            charge_now: plannedChargeSchema.nullable().meta({ description: 'ahead: the same charge started now' }),
            saving_usd: z.number().nullable().meta({ description: 'ahead: charge_now minus window, supply cost' }),
          }),
          400: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request) => {
      const nowMs = app.now();
      const { kwh } = request.query;
      if (kwh !== undefined && request.query.hours !== undefined)
        throw badRequest('kwh', 'give hours or kwh, not both');
      const beforeMs = request.query.before === undefined ? nowMs : Date.parse(request.query.before);
      if (beforeMs > nowMs) return planAhead(nowMs, beforeMs);
      if (kwh !== undefined) throw badRequest('kwh', 'only plans ahead: give a `before` in the future');
      const hours = request.query.hours ?? 4;
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
        mode: 'history' as const,
        hours,
        kwh: null,
        power_kw: null,
        from: new Date(fromMs).toISOString(),
        before: new Date(beforeMs).toISOString(),
        stale: false,
        window: best
          ? {
              start: new Date(best.startMs).toISOString(),
              end: new Date(best.endMs).toISOString(),
              avg_price_cents_kwh: best.avgCentsPerKwh,
            }
          : null,
        charge_now: null,
        saving_usd: null,
      };

      async function planAhead(nowMs: number, beforeMs: number) {
        if (beforeMs - nowMs > FORECAST_HORIZON_MS) {
          throw badRequest('before', 'at most 48 hours ahead: the reach of the forecast');
        }
        const fromMs = Math.max(nowMs, request.query.from === undefined ? nowMs : Date.parse(request.query.from));
        if (beforeMs <= fromMs) throw badRequest('before', 'must be after from');
        const forecast = await app.live.forecast();
        if (!forecast)
          throw unavailable('no forecast yet: the comed-poller publishes one within five minutes of starting');
        const { power_kw: powerKw } = request.query;
        const hours = kwh === undefined ? (request.query.hours ?? 4) : null;
        const need = hours === null ? { energyKwh: kwh as number } : { hours };
        const { best, now } = cheapestChargeWindow({ fromMs, beforeMs, powerKw, need }, estimatesOf(forecast, nowMs));
        return {
          mode: 'ahead' as const,
          hours,
          kwh: kwh ?? null,
          power_kw: powerKw,
          from: new Date(fromMs).toISOString(),
          before: new Date(beforeMs).toISOString(),
          stale: isForecastStale(forecast, nowMs),
          window: best ? plannedCharge(best) : null,
          charge_now: now ? plannedCharge(now) : null,
          saving_usd: best && now ? (now.supplyCents - best.supplyCents) / 100 : null,
        };
      }
    },
  );
}

function plannedCharge(window: ChargeWindow): z.infer<typeof plannedChargeSchema> {
  return {
    start: new Date(window.startMs).toISOString(),
    end: new Date(window.endMs).toISOString(),
    energy_kwh: window.energyKwh,
    avg_price_cents_kwh: window.avgPriceCentsPerKwh,
    supply_cost_usd: window.supplyCents / 100,
    hours: window.hours.map((hour) => ({
      hour_ending: new Date(hour.hourEndingMs).toISOString(),
      source: hour.source,
      price_cents_kwh: hour.priceCentsPerKwh,
      fraction: hour.fraction,
      energy_kwh: hour.energyKwh,
    })),
  };
}
