/** CSV as RFC 4180 describes it, one line at a time so exports can stream. Pure. */

/**
 * A text cell a spreadsheet would run as a formula (=, +, -, @ first) gets a
 * leading apostrophe: a charger name is user input (OWASP "CSV injection").
 */
function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(cell).join(',')}\r\n`;
}
