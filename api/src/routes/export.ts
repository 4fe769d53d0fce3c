import { Readable } from 'node:stream';
import { isValidTimeZone } from '@twc/core/time/wall-clock';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ExportFormat, exportLines } from '../data/exports.js';
import { badRequest } from '../errors.js';
import { renderMonthlyReport } from '../reports/monthly-report.js';
import { monthlyReportData, parseMonth } from '../reports/report-data.js';
import { errorSchema, instantParam } from '../schemas.js';

const DAY_MS = 86_400_000;
const MAX_RANGE_MS = 3700 * DAY_MS;

const exportQuery = z.object({
  dataset: z.enum(['sessions', 'vitals', 'prices', 'dayahead']),
  from: instantParam.optional().meta({ description: 'start (default: 30 days before `to`)' }),
  to: instantParam.optional().meta({ description: 'end, exclusive (default: now)' }),
  charger: z.string().min(1).max(64).optional().meta({ description: 'one charger id (sessions, vitals)' }),
});

export async function exportRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  for (const format of ['csv', 'json'] as const satisfies ExportFormat[]) {
    routes.get(
      `/export/${format}`,
      {
        schema: {
          tags: ['exports'],
          summary:
            format === 'csv' ? 'Export a dataset as CSV' : 'Export a dataset as JSON lines (one JSON object per line)',
          description:
            format === 'csv'
              ? "Streamed as InfluxDB returns rows. Vitals: one row per 5-second sample. Prices: ComEd 5-minute prices. Dayahead: ComEd's day-ahead price of each hour that starts in the range."
              : 'Streamed as InfluxDB returns rows. Vitals come in the replay format `{"t": <epoch ms>, "vitals": {...}}`, fields named as the charger names them; `charger` is then required (a replay file holds one charger).',
          querystring: exportQuery,
          response: {
            200: {
              description: format === 'csv' ? 'CSV, a header line first' : 'JSON lines',
              content: { [format === 'csv' ? 'text/csv' : 'application/x-ndjson']: { schema: z.string() } },
            },
            400: errorSchema,
            503: errorSchema,
          },
        },
      },
      async (request, reply) => {
        const { dataset, charger } = request.query;
        const toMs = request.query.to === undefined ? app.now() : Date.parse(request.query.to);
        const fromMs = request.query.from === undefined ? toMs - 30 * DAY_MS : Date.parse(request.query.from);
        if (toMs <= fromMs) throw badRequest('to', 'must be after from');
        if (toMs - fromMs > MAX_RANGE_MS) throw badRequest('from', 'the range is longer than about ten years');
        if (format === 'json' && dataset === 'vitals' && charger === undefined) {
          throw badRequest('charger', 'is required for the vitals JSON export (a replay file holds one charger)');
        }
        if ((dataset === 'prices' || dataset === 'dayahead') && charger !== undefined) {
          throw badRequest('charger', `does not apply to ${dataset}`);
        }
        const lines = await exportLines(app.influx, { dataset, fromMs, toMs, chargerId: charger }, format);
        const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
        const name = `twc-${dataset}${charger ? `-${charger.replace(/[^\w.-]/g, '_')}` : ''}-${day(fromMs)}-${day(toMs)}`;
        return (
          reply
            .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
            .header('content-disposition', `attachment; filename="${name}.${format === 'csv' ? 'csv' : 'jsonl'}"`)
            // A stream is sent as is, never through the response schema's serializer.
            .send(Readable.from(lines) as unknown as string)
        );
      },
    );
  }

  routes.get(
    '/export/report',
    {
      schema: {
        tags: ['exports'],
        summary: 'Monthly report as a PDF',
        description:
          "Summary figures, daily energy and cost, daily ComEd price and every session of a calendar month in the user's time zone.",
        querystring: z.object({
          month: z.string().meta({ description: 'YYYY-MM', example: '2026-01' }),
          tz: z.string().optional().meta({ description: 'IANA time zone (default: TIMEZONE)' }),
        }),
        response: {
          200: { description: 'the report', content: { 'application/pdf': { schema: z.string() } } },
          400: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const month = parseMonth(request.query.month);
      if (!month) throw badRequest('month', 'must be a month, YYYY-MM');
      const timeZone = request.query.tz ?? app.config.timeZone;
      if (!isValidTimeZone(timeZone)) throw badRequest('tz', `unknown time zone "${timeZone}"`);
      const data = await monthlyReportData(app.influx, month, timeZone, app.now());
      const pdf = await renderMonthlyReport(data);
      return reply
        .type('application/pdf')
        .header('content-disposition', `attachment; filename="twc-report-${data.month}.pdf"`)
        .send(pdf as unknown as string);
    },
  );
}
