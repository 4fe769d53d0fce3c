/**
 * Every dashboard panel's queries over "Last 1 year" at 10 chargers, with
 * Grafana's macros substituted as tests/grafana/dashboards.ts does it
 * (v.windowPeriod for the panel's maxDataPoints), on a year of the ComEd
 * stand-in's 5-minute prices and hourly averages and a year of sessions: ten
 * chargers, one evening session each a day, costed and written by the
 * product's own cost engine, what-if and point builders. Panels that read the
 * charger tiers (twc_raw ... twc_1h) are not measured: a year of the 5-minute
 * tier at ten chargers takes too long to write for a benchmark. A dashboard's
 * time is all its measured queries sent at once, as Grafana sends a
 * dashboard's panels. Rewrites the dashboards-bench section of docs/PERFORMANCE.md.
 *
 *   pnpm bench:dashboards             # about 3 minutes
 *   pnpm bench:dashboards --no-write  # prints only
 */
import { rmSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generatedPriceCents } from '@twc/collector/simulator/comed-prices';
import type { PointData } from '@twc/core/contracts/influx-schema';
import type { PricePoint } from '@twc/core/prices/comed-parse';
import { pricePoints } from '@twc/core/prices/price-plan';
import { createComedProvider } from '@twc/core/prices/pricing';
import { TARIFF_DEFAULTS } from '@twc/core/prices/tariff';
import { costSession } from '@twc/core/sessions/cost';
import type { ChargingSession } from '@twc/core/sessions/session-machine';
import { sessionPoints } from '@twc/core/sessions/session-points';
import { whatIf } from '@twc/core/sessions/what-if';
import { type InfluxServer, makeTempDir, startInfluxd } from '@twc/testenv';
import {
  durationMs,
  fluxQueries,
  grafanaIntervalMs,
  interpolate,
  loadDashboards,
  panelMaxDataPoints,
  panelRange,
} from '../tests/grafana/dashboards.js';
import { writePoints } from '../tests/grafana/seed.js';
import { timeFluxQuery } from '../tests/influxdb/task-flux.js';
import { writeDocSection } from './doc-section.js';

const DOC = fileURLToPath(new URL('../docs/PERFORMANCE.md', import.meta.url));
const DOC_START = '<!-- dashboards-bench:start -->';
const DOC_END = '<!-- dashboards-bench:end -->';
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const FIVE_MINUTES_MS = 300_000;
const CHARGERS = 10;
/** 03:00 in Chicago, 15 January 2026: the end of the seeded year. */
const END_MS = Date.UTC(2026, 0, 15, 9);
const YEAR_MS = 365 * DAY_MS;
const SEED = 7;
const RUNS = 3;
const TIERS = /from\(bucket: tier\)|"twc_(raw|1m|5m|1h)"/;

async function createBucket(influx: InfluxServer, name: string): Promise<void> {
  const response = await fetch(`${influx.url}/api/v2/buckets`, {
    method: 'POST',
    headers: { authorization: `Token ${influx.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ orgID: influx.orgId, name, retentionRules: [] }),
  });
  if (!response.ok) throw new Error(`creating bucket ${name}: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

/** A charger's evening session on day `day`: plugged in between 17:00 and 21:00 Chicago time, 7.2 to 11.5 kW. */
function eveningSession(charger: number, day: number, fromMs: number): ChargingSession {
  const chargerId = `PGT${String(charger + 1).padStart(4, '0')}`;
  const startTimeMs = fromMs + day * DAY_MS + 23 * HOUR_MS + ((charger * 37 + day * 11) % 48) * FIVE_MINUTES_MS;
  const intervals = 12 + ((charger * 7 + day * 13) % 60);
  const whPerInterval = ((7200 + ((charger * 431 + day) % 4300)) * FIVE_MINUTES_MS) / HOUR_MS;
  const energyByInterval = Array.from({ length: intervals }, (_, k) => ({
    startMs: startTimeMs + k * FIVE_MINUTES_MS,
    energyWh: whPerInterval,
  }));
  const endTimeMs = startTimeMs + (intervals + 6) * FIVE_MINUTES_MS;
  return {
    id: `${chargerId}-${startTimeMs}`,
    chargerId,
    startTimeMs,
    endTimeMs,
    endReason: 'unplugged',
    lastSampleMs: endTimeMs,
    observedFromPlugIn: true,
    unobservedCounterWh: null,
    durationS: (endTimeMs - startTimeMs) / 1000,
    chargingS: (intervals * FIVE_MINUTES_MS) / 1000,
    energyWh: whPerInterval * intervals,
    peakPowerW: (whPerInterval * HOUR_MS) / FIVE_MINUTES_MS,
    avgPowerW: (whPerInterval * HOUR_MS) / FIVE_MINUTES_MS,
    maxHandleTempC: 30 + (day % 10),
    gaps: [],
    segments: 1,
    energyByInterval,
  };
}

async function seed(influx: InfluxServer): Promise<string> {
  for (const name of ['twc_raw', 'twc_1m', 'twc_5m', 'twc_1h', 'twc_sessions', 'twc_prices']) {
    await createBucket(influx, name);
  }
  const fromMs = END_MS - YEAR_MS - 2 * DAY_MS;
  const prices: PricePoint[] = [];
  for (let stampMs = fromMs; stampMs <= END_MS; stampMs += FIVE_MINUTES_MS) {
    prices.push({ timeMs: stampMs, priceCentsPerKwh: generatedPriceCents(SEED, stampMs) });
  }
  await writePoints(influx, 'twc_prices', pricePoints(prices, END_MS));
  const provider = createComedProvider({ prices, asOfMs: END_MS });
  const points: PointData[] = [];
  let last = '';
  for (let day = 0; day < 366; day++) {
    for (let charger = 0; charger < CHARGERS; charger++) {
      const session = eveningSession(charger, day, fromMs);
      if ((session.endTimeMs as number) > END_MS) continue;
      const cost = costSession(session.energyByInterval, provider, TARIFF_DEFAULTS);
      points.push(
        ...sessionPoints(session, `charger-${charger + 1}`, cost, whatIf(session, provider, TARIFF_DEFAULTS)),
      );
      last = session.id;
    }
  }
  await writePoints(influx, 'twc_sessions', points);
  return last;
}

interface PanelTime {
  dashboard: string;
  panel: string;
  queries: number;
  ms: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'no-write': { type: 'boolean' } }, strict: true });
  const startLoad = loadavg()[0] ?? 0;
  const dir = makeTempDir('dashboards-bench');
  const influx = await startInfluxd(dir);
  const panels: PanelTime[] = [];
  const dashboards: { title: string; ms: number; measured: number; skipped: number }[] = [];
  try {
    const session = await seed(influx);
    const variables = { charger: '.*', timezone: 'America/Chicago', temp_unit: 'C', window_hours: '4', session };
    for (const file of loadDashboards()) {
      const measured: { panel: string; flux: string }[] = [];
      const skipped = new Set<string>();
      for (const query of fluxQueries(file)) {
        const range = panelRange(query.timeFrom, { fromMs: END_MS - YEAR_MS, toMs: END_MS });
        const maxDataPoints = query.panel ? panelMaxDataPoints(query.panel) : 1000;
        const interval = query.panel?.interval ? durationMs(query.panel.interval) : undefined;
        const flux = interpolate(query.flux, {
          ...range,
          windowMs: grafanaIntervalMs(range.toMs - range.fromMs, maxDataPoints, interval),
          defaultBucket: 'twc_raw',
          organization: influx.org,
          variables,
          buckets: {},
        });
        const panel = query.panel?.title ?? query.source;
        if (TIERS.test(flux)) skipped.add(panel);
        else measured.push({ panel, flux });
      }
      for (const title of new Set(measured.map((entry) => entry.panel))) {
        if (skipped.has(title)) continue;
        const fluxes = measured.filter((entry) => entry.panel === title).map((entry) => entry.flux);
        const runs: number[] = [];
        for (let run = 0; run < RUNS; run++) {
          const started = performance.now();
          await Promise.all(fluxes.map((flux) => timeFluxQuery(influx, flux, END_MS)));
          runs.push(performance.now() - started);
        }
        panels.push({ dashboard: file.dashboard.title, panel: title, queries: fluxes.length, ms: Math.min(...runs) });
      }
      const all = measured.filter((entry) => !skipped.has(entry.panel)).map((entry) => entry.flux);
      const runs: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const started = performance.now();
        await Promise.all(all.map((flux) => timeFluxQuery(influx, flux, END_MS)));
        runs.push(performance.now() - started);
      }
      dashboards.push({
        title: file.dashboard.title,
        ms: Math.min(...runs),
        measured: panels.filter((panel) => panel.dashboard === file.dashboard.title).length,
        skipped: skipped.size,
      });
      process.stderr.write(`${file.dashboard.title}: ${Math.round(Math.min(...runs))} ms\n`);
    }
  } finally {
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown'}), Linux ${release()}, Node ${process.version}, load average ${startLoad.toFixed(2)} at the start. Rerun with \`pnpm bench:dashboards\`.`,
    '',
    `"Last 1 year" (a panel's own relative time where it has one), ${CHARGERS} chargers, a year of 5-minute prices and ${CHARGERS} sessions a day; the best of ${RUNS} runs, the result read to the end. A panel's queries and a dashboard's panels are sent at once, as Grafana sends them. Panels that read the charger tiers are not measured. Targets: every panel under 1 s, every dashboard under 3 s.`,
    '',
    '| dashboard | panels measured | panels not measured (charger tiers) | dashboard ms | slowest panel | its ms |',
    '|---|---|---|---|---|---|',
  ];
  for (const dashboard of dashboards) {
    const own = panels.filter((panel) => panel.dashboard === dashboard.title).sort((a, b) => b.ms - a.ms);
    lines.push(
      `| ${dashboard.title} | ${dashboard.measured} | ${dashboard.skipped} | ${Math.round(dashboard.ms)} | ${own[0]?.panel ?? '-'} | ${own[0] ? Math.round(own[0].ms) : '-'} |`,
    );
  }
  lines.push('', '| dashboard | panel | queries | ms |', '|---|---|---|---|');
  for (const panel of panels)
    lines.push(`| ${panel.dashboard} | ${panel.panel} | ${panel.queries} | ${Math.round(panel.ms)} |`);
  const slowPanels = panels.filter((panel) => panel.ms >= 1000);
  const slowDashboards = dashboards.filter((dashboard) => dashboard.ms >= 3000);
  lines.push(
    '',
    `- every measured panel under 1 s: ${slowPanels.length === 0 ? '**met**' : `**not met** (${slowPanels.map((panel) => `${panel.panel} ${Math.round(panel.ms)} ms`).join(', ')})`}`,
    `- every dashboard under 3 s (its measured panels): ${slowDashboards.length === 0 ? '**met**' : `**not met** (${slowDashboards.map((d) => `${d.title} ${Math.round(d.ms)} ms`).join(', ')})`}`,
  );
  const markdown = lines.join('\n');
  process.stdout.write(`${markdown}\n`);
  if (!values['no-write']) writeDocSection(DOC, DOC_START, DOC_END, markdown);
}

await main();
