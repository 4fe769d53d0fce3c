import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Replaces what stands between two marker comments of a document, so each
 * benchmark rewrites only its own section of docs/PERFORMANCE.md.
 */
export function writeDocSection(doc: string, startMarker: string, endMarker: string, markdown: string): void {
  const text = readFileSync(doc, 'utf8');
  const start = text.indexOf(startMarker);
  const end = text.indexOf(endMarker);
  if (start === -1 || end < start) throw new Error(`${doc} has no ${startMarker} ... ${endMarker} section to fill`);
  writeFileSync(doc, `${text.slice(0, start + startMarker.length)}\n${markdown}\n${text.slice(end)}`);
}
