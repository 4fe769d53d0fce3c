/**
 * Parses the Wall Connector's not-quite-JSON. Its firmware prints floats with
 * printf, so a sensor without a reading comes out as a bare `nan` or `inf`,
 * and under load a response sometimes ends before the object's closing brace.
 * Both are repaired here; anything else that is not JSON is refused.
 */

export type JsonRepair = 'non_finite_number' | 'missing_closing_brace';

export interface RepairedJson {
  value: unknown;
  /** Each kind of repair that was needed, once, in the order first met; empty for valid JSON. */
  repairs: JsonRepair[];
}

export class InvalidJsonError extends Error {
  override readonly name = 'InvalidJsonError';
}

// Spellings printf and friends use for non-finite doubles (glibc prints `-nan`, newlib `nan`, JavaScript `NaN`).
const NON_FINITE_WORD = /^(?:nan|inf|infinity)$/i;
const JSON_LITERALS = new Set(['true', 'false', 'null']);
const CLOSER_OF: Record<string, string> = { '{': '}', '[': ']' };
const SNIPPET_CHARS = 80;

function isWordChar(char: string): boolean {
  return (char >= 'a' && char <= 'z') || (char >= 'A' && char <= 'Z');
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > SNIPPET_CHARS ? `${flat.slice(0, SNIPPET_CHARS)}...` : flat;
}

function parseError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Parses `text` as JSON, replacing bare non-finite numbers with null and
 * appending the closing braces and brackets of a truncated document. String
 * contents are never touched. Throws InvalidJsonError when the text is still
 * not JSON after repair.
 */
export function repairJson(text: string): RepairedJson {
  if (text.trim() === '') throw new InvalidJsonError('empty body, expected JSON');
  try {
    return { value: JSON.parse(text), repairs: [] };
  } catch {
    // Fall through to the repairing scan; valid JSON never needs it.
  }

  const repairs: JsonRepair[] = [];
  const note = (repair: JsonRepair) => {
    if (!repairs.includes(repair)) repairs.push(repair);
  };
  const open: string[] = [];
  let out = '';
  let inString = false;
  let i = 0;
  while (i < text.length) {
    const char = text.charAt(i);
    if (inString) {
      out += char;
      if (char === '\\' && i + 1 < text.length) {
        out += text.charAt(i + 1);
        i += 2;
        continue;
      }
      if (char === '"') inString = false;
      i += 1;
      continue;
    }
    if (char === '"') {
      inString = true;
    } else if (char === '{' || char === '[') {
      open.push(char);
    } else if (char === '}' || char === ']') {
      open.pop();
    } else if ((char === '-' || char === '+') && isWordChar(text.charAt(i + 1))) {
      const word = readWord(text, i + 1);
      if (NON_FINITE_WORD.test(word)) {
        out += 'null';
        note('non_finite_number');
        i += 1 + word.length;
        continue;
      }
    } else if (isWordChar(char)) {
      const word = readWord(text, i);
      if (!JSON_LITERALS.has(word) && NON_FINITE_WORD.test(word)) {
        out += 'null';
        note('non_finite_number');
      } else {
        out += word;
      }
      i += word.length;
      continue;
    }
    out += char;
    i += 1;
  }

  if (open.length > 0 && !inString) {
    out = out.trimEnd();
    for (let depth = open.length - 1; depth >= 0; depth -= 1) out += CLOSER_OF[open[depth] ?? '{'];
    note('missing_closing_brace');
  }

  try {
    return { value: JSON.parse(out), repairs };
  } catch (error) {
    const tried = repairs.length > 0 ? ` (after repairing ${repairs.join(', ')})` : '';
    throw new InvalidJsonError(`not JSON${tried}: ${parseError(error)}; body starts with "${snippet(text)}"`);
  }
}

function readWord(text: string, start: number): string {
  let end = start;
  while (end < text.length && isWordChar(text.charAt(end))) end += 1;
  return text.slice(start, end);
}
