/**
 * Writes docs/API.md from the OpenAPI document:
 *   pnpm exec tsx --conditions twc-source api/src/docs/write-api-doc.ts
 * The document does not depend on the configuration or on the servers, so the
 * app is built with placeholders and never reaches InfluxDB or Redis.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildApp } from '../app.js';
import { loadApiConfig } from '../config.js';
import { LIVE_DESCRIPTION } from '../routes/live.js';
import { type ExtraSection, renderApiMarkdown } from './api-markdown.js';

export const API_DOC_PATH = resolve(import.meta.dirname, '../../../docs/API.md');

export const DOC_CONFIG_ENV = {
  INFLUXDB_TOKEN: 'placeholder',
  REDIS_URL: 'redis://127.0.0.1:1',
  REPORTS_ENABLED: 'false',
  LOG_LEVEL: 'silent',
};

export const EXTRA_SECTIONS: ExtraSection[] = [
  {
    title: 'WS /ws/live',
    summary: 'WebSocket: vitals, session and price updates as they happen',
    body: `${LIVE_DESCRIPTION}\n\n| parameter | in | type | required | description |\n|---|---|---|---|---|\n| \`charger\` | query | string | no | a charger id, or \`all\` (default) |\n| \`token\` | query | string | no | credentials when auth is on |\n\nExample message:\n\n\`\`\`json\n{"type": "price", "charger_id": null, "data": {"five_minute": {"time": "2026-01-15T18:00:00.000Z", "price_cents_kwh": 2.9}, "hour_average": null, "feed_time": "2026-01-15T18:00:00.000Z", "stale": false, "updated": "2026-01-15T18:00:04.000Z"}}\n\`\`\``,
  },
  {
    title: 'GET /',
    summary: 'The live status page (HTML)',
    body: 'Per charger: power, state, session energy and cost so far; the current price; a link to Grafana (GRAFANA_URL). Updated through the WebSocket. The page loads without credentials; with auth on it asks for a token and keeps it in the browser.',
  },
];

/** docs/API.md as it should read for this app. */
export function apiMarkdown(document: unknown): string {
  return renderApiMarkdown(document as never, EXTRA_SECTIONS);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const app = await buildApp({ config: loadApiConfig(DOC_CONFIG_ENV) });
  await app.ready();
  writeFileSync(API_DOC_PATH, apiMarkdown(app.swagger()));
  await app.close();
  process.stderr.write(`wrote ${API_DOC_PATH}\n`);
}
