/**
 * docs/API.md rendered from the OpenAPI document, so the reference is
 * generated from the same zod schemas as the validation. Example answers are
 * built from each schema: its `example` values where the schema gives one,
 * otherwise a placeholder of the right type. Pure.
 */

type Schema = Record<string, unknown>;
interface OpenApiDocument {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}
interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: Schema }[];
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}

const SAMPLE_TIME = '2026-01-15T18:00:00.000Z';

function resolve(document: OpenApiDocument, schema: Schema | undefined): Schema {
  if (!schema) return {};
  const ref = schema.$ref;
  if (typeof ref === 'string') {
    const name = ref.replace('#/components/schemas/', '');
    return resolve(document, document.components?.schemas?.[name]);
  }
  return schema;
}

/** The schema without its null alternative: `{anyOf: [X, null]}` and `type: [T, 'null']` become X and T. */
function nonNull(document: OpenApiDocument, raw: Schema): { schema: Schema; nullable: boolean } {
  const schema = resolve(document, raw);
  if (Array.isArray(schema.anyOf)) {
    const options = (schema.anyOf as Schema[]).filter((option) => option.type !== 'null');
    if (options.length === 1 && options.length < schema.anyOf.length) {
      return { schema: resolve(document, options[0]), nullable: true };
    }
  }
  if (Array.isArray(schema.type) && schema.type.includes('null')) {
    const types = schema.type.filter((type) => type !== 'null');
    return { schema: { ...schema, type: types.length === 1 ? types[0] : types }, nullable: true };
  }
  return { schema, nullable: false };
}

export function exampleOf(document: OpenApiDocument, raw: Schema, depth = 0): unknown {
  const { schema } = nonNull(document, raw);
  if ('example' in schema) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if ('default' in schema) return schema.default;
  if (depth > 8) return null;
  switch (schema.type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      return Object.fromEntries(
        Object.entries(properties).map(([name, property]) => [name, exampleOf(document, property, depth + 1)]),
      );
    }
    case 'array':
      return [exampleOf(document, (schema.items ?? {}) as Schema, depth + 1)];
    case 'string':
      return schema.format === 'date-time' ? SAMPLE_TIME : 'string';
    case 'integer':
      return 0;
    case 'number':
      return 0;
    case 'boolean':
      return false;
    default:
      return null;
  }
}

function typeOf(document: OpenApiDocument, raw: Schema | undefined): string {
  if (!raw) return '';
  const { schema, nullable } = nonNull(document, raw);
  let text: string;
  if (Array.isArray(schema.enum)) text = schema.enum.map((value) => `\`${String(value)}\``).join(' \\| ');
  else if (schema.format === 'date-time') text = 'date-time (ISO 8601)';
  else text = String(schema.type ?? 'any');
  const limits: string[] = [];
  if (typeof schema.minimum === 'number') limits.push(`min ${schema.minimum}`);
  if (typeof schema.maximum === 'number') limits.push(`max ${schema.maximum}`);
  if ('default' in schema) limits.push(`default \`${String(schema.default)}\``);
  return `${text}${nullable ? ' or null' : ''}${limits.length > 0 ? ` (${limits.join(', ')})` : ''}`;
}

const cell = (text: string | undefined) => (text ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Routes the OpenAPI document cannot describe (a WebSocket, an HTML page), documented by their route modules. */
export interface ExtraSection {
  title: string;
  summary: string;
  body: string;
}

export function renderApiMarkdown(document: OpenApiDocument, extra: readonly ExtraSection[] = []): string {
  const out: string[] = [
    '# API reference',
    '',
    '<!-- Generated from the OpenAPI document by api/src/docs/write-api-doc.ts; do not edit by hand. -->',
    '',
    `${document.info.title}, version ${document.info.version}.`,
    '',
    document.info.description ?? '',
    '',
    'The OpenAPI 3 document is served at `/api/v1/openapi.json`, interactive docs at `/docs`.',
    'Errors are JSON: `{"statusCode": 400, "error": "Bad Request", "message": "from: Invalid ISO datetime"}`;',
    'a bad parameter is named first in the message.',
    '',
    '## Endpoints',
    '',
  ];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      out.push(
        `- [\`${method.toUpperCase()} ${path}\`](#${anchor(method, path)}) ${operation.summary ?? ''}`.trimEnd(),
      );
    }
  }
  for (const section of extra) {
    out.push(`- [\`${section.title}\`](#${anchor('', section.title)}) ${section.summary}`);
  }
  out.push('');
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      out.push(`## ${method.toUpperCase()} ${path}`, '');
      if (operation.summary) out.push(`${operation.summary}.`, '');
      if (operation.description) out.push(operation.description, '');
      const parameters = operation.parameters ?? [];
      if (parameters.length > 0) {
        out.push('| parameter | in | type | required | description |', '|---|---|---|---|---|');
        for (const parameter of parameters) {
          const description = parameter.description ?? (parameter.schema?.description as string | undefined);
          out.push(
            `| \`${parameter.name}\` | ${parameter.in} | ${cell(typeOf(document, parameter.schema))} | ${parameter.required ? 'yes' : 'no'} | ${cell(description)} |`,
          );
        }
        out.push('');
      }
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const content = Object.entries(response.content ?? {});
        const [type, body] = content[0] ?? [];
        out.push(
          `**${status}**${type ? ` \`${type}\`` : ''}${response.description && response.description !== 'Default Response' ? `: ${response.description}` : ''}`,
          '',
        );
        if (type === 'application/json' && body?.schema) {
          out.push('```json', JSON.stringify(exampleOf(document, body.schema), null, 2), '```', '');
        }
      }
    }
  }
  for (const section of extra) out.push(`## ${section.title}`, '', `${section.summary}.`, '', section.body, '');
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

function anchor(method: string, path: string): string {
  return `${method} ${path}`
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}
