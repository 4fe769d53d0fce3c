import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { exampleOf } from '../../src/docs/api-markdown.js';
import { API_DOC_PATH, apiMarkdown } from '../../src/docs/write-api-doc.js';
import { createTestStack } from '../seed.js';

describe('docs/API.md', () => {
  it('matches the OpenAPI document (regenerate: pnpm exec tsx --conditions twc-source api/src/docs/write-api-doc.ts)', async () => {
    const stack = await createTestStack('api-doc');
    const app = await buildApp({ config: stack.config({ AUTH_MODE: 'apikey', API_KEYS: 'api-doc-key-0123456789' }) });
    try {
      await app.ready();
      const expected = apiMarkdown(app.swagger());
      const actual = readFileSync(API_DOC_PATH, 'utf8');
      expect(actual === expected, 'docs/API.md is out of date with the OpenAPI document').toBe(true);
      // A section for every operation: each method of each path.
      for (const [path, item] of Object.entries((app.swagger() as { paths: Record<string, object> }).paths)) {
        for (const method of Object.keys(item)) expect(actual).toContain(`## ${method.toUpperCase()} ${path}`);
      }
      expect(actual).toContain('## WS /ws/live');
    } finally {
      await app.close();
      await stack.close();
    }
  });

  it('declares the credentials, and the 401 and 429 answers every protected route may give', async () => {
    const stack = await createTestStack('api-doc-auth');
    const app = await buildApp({ config: stack.config() });
    try {
      await app.ready();
      const document = app.swagger() as unknown as {
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
        components: { securitySchemes: Record<string, unknown> };
        security: unknown[];
      };
      expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['apiKey', 'bearer']);
      expect(document.security).toContainEqual({ bearer: [] });
      // Every operation of every path, the POST-only steering routes among them.
      for (const [path, item] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(item)) {
          const codes = Object.keys(operation.responses);
          const probe = path === '/health' || path === '/ready';
          expect(codes.includes('401'), `${method} ${path} 401`).toBe(!probe);
          expect(codes.includes('429'), `${method} ${path} 429`).toBe(!probe);
        }
      }
    } finally {
      await app.close();
      await stack.close();
    }
  });

  it('builds examples from schema examples, then from types', () => {
    const document = {
      info: { title: '', version: '' },
      paths: {},
      components: { schemas: { T: { type: 'string', example: 'x' } } },
    };
    expect(
      exampleOf(document, {
        type: 'object',
        properties: {
          a: { $ref: '#/components/schemas/T' },
          b: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] },
          c: { type: ['number', 'null'] },
          d: { type: 'array', items: { enum: ['5min', 'hour'] } },
          e: { type: 'integer', default: 50 },
        },
      }),
    ).toEqual({ a: 'x', b: '2026-01-15T18:00:00.000Z', c: 0, d: ['5min'], e: 50 });
  });
});
