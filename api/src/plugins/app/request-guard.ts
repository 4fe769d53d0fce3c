import type { FastifyInstance } from 'fastify';
import { badRequest } from '../../errors.js';

/** C0 controls and DEL: no id, name, date or zone holds one. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;

function offending(values: unknown): string | undefined {
  if (values === null || typeof values !== 'object') return undefined;
  for (const [name, value] of Object.entries(values)) {
    const texts = Array.isArray(value) ? value : [value];
    if (
      CONTROL_CHARACTER.test(name) ||
      texts.some((text) => typeof text === 'string' && CONTROL_CHARACTER.test(text))
    ) {
      return name;
    }
  }
  return undefined;
}

/**
 * Refuses path and query parameters holding control characters before any
 * route sees them: a NUL byte in a charger id ends the Flux string InfluxDB
 * parses, and InfluxDB answered with its compiler's text on our query.
 * Every route, including those added later, gets the check.
 */
export function registerRequestGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const name = offending(request.params) ?? offending(request.query);
    if (name !== undefined) {
      throw badRequest(name.replace(CONTROL_CHARACTERS, '?'), 'must not contain control characters');
    }
  });
}
