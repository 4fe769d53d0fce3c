import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound } from '../errors.js';
import { REPORT_FILE } from '../reports/report-scheduler.js';
import { errorSchema } from '../schemas.js';

export async function reportRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const dir = app.config.reports.dir;

  routes.get(
    '/reports',
    {
      schema: {
        tags: ['reports'],
        summary: 'Monthly PDF reports generated after each month ends',
        response: {
          200: z.object({
            reports: z.array(
              z.object({
                name: z.string().meta({ example: 'twc-report-2026-01.pdf' }),
                month: z.string().meta({ example: '2026-01' }),
                size_bytes: z.number().int(),
                created: z.string(),
                url: z.string().meta({ example: '/api/v1/reports/twc-report-2026-01.pdf' }),
              }),
            ),
          }),
        },
      },
    },
    async () => {
      const names = await readdir(dir).catch(() => [] as string[]);
      const reports = await Promise.all(
        names
          .filter((name) => REPORT_FILE.test(name))
          .sort()
          .reverse()
          .map(async (name) => {
            const info = await stat(join(dir, name));
            return {
              name,
              month: (REPORT_FILE.exec(name) as RegExpExecArray)[1] as string,
              size_bytes: info.size,
              created: info.mtime.toISOString(),
              url: `/api/v1/reports/${name}`,
            };
          }),
      );
      return { reports };
    },
  );

  routes.get(
    '/reports/:name',
    {
      schema: {
        tags: ['reports'],
        summary: 'One monthly PDF report',
        params: z.object({
          name: z
            .string()
            .regex(REPORT_FILE, { message: 'must be a report name, twc-report-YYYY-MM.pdf' })
            .meta({ example: 'twc-report-2026-01.pdf' }),
        }),
        response: {
          200: { description: 'the report', content: { 'application/pdf': { schema: z.string() } } },
          400: errorSchema,
          404: errorSchema,
        },
      },
    },
    async (request, reply) => {
      // The name matched REPORT_FILE, so it cannot leave the directory.
      const path = join(dir, request.params.name);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) throw notFound(`report ${request.params.name} does not exist`);
      return reply
        .type('application/pdf')
        .header('content-length', info.size)
        .header('content-disposition', `attachment; filename="${request.params.name}"`)
        .send(createReadStream(path) as unknown as string);
    },
  );
}
