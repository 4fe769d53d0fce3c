import { SCHEMA, TIER_EXTREMES } from '@twc/core/contracts/influx-schema';
import { describe, expect, it } from 'vitest';
import { allPanels, DATASOURCE_UID, fluxQueries, loadDashboards } from './dashboards.js';
import { PRODUCTION_BUCKETS } from './seed.js';

const CORE_PANELS = new Set([
  'timeseries',
  'stat',
  'gauge',
  'bargauge',
  'table',
  'barchart',
  'heatmap',
  'state-timeline',
  'text',
  'piechart',
  'histogram',
]);

/** Which bucket family holds each measurement. */
const TIERED = new Set(['twc_vitals', 'twc_lifetime', 'twc_version', 'twc_wifi', 'twc_health', 'collector_spool']);
function bucketsFor(measurement: string): string[] {
  if (TIERED.has(measurement)) {
    return [PRODUCTION_BUCKETS.raw, PRODUCTION_BUCKETS.m1, PRODUCTION_BUCKETS.m5, PRODUCTION_BUCKETS.h1];
  }
  if (['twc_session', 'twc_session_hour', 'charge_plan', 'charge_control'].includes(measurement)) {
    return [PRODUCTION_BUCKETS.sessions];
  }
  return [PRODUCTION_BUCKETS.prices];
}

const files = loadDashboards();
const queries = files.flatMap((file) => fluxQueries(file));
/** A measurement's fields: the schema's, and for a downsampled one the extremes its tiers keep too. */
const fieldsOf = (measurement: string): Record<string, string> => ({
  ...((SCHEMA as Record<string, { fields: Record<string, string> }>)[measurement]?.fields ?? {}),
  ...((TIER_EXTREMES as Record<string, Record<string, string>>)[measurement] ?? {}),
});

/** Every string appearing as `r.<name> == "<value>"` in a query. */
function comparisons(flux: string, column: string): string[] {
  const pattern = new RegExp(`r\\.${column}\\s*==\\s*"([^"]+)"`, 'g');
  return [...flux.matchAll(pattern)].map((match) => match[1] as string);
}

/** The dashboards' resolution rule, spelt once in every query that reads a tiered bucket. */
const TIER_RULE = /tier = if span <= int\(v: 6h\) and age <= int\(v: 7d\) then "twc_raw"[\s\S]*?else "twc_1h"/;

describe('dashboard lint', () => {
  it('has the eight dashboards plus the session detail, each valid JSON with a stable unique uid and no id', () => {
    expect(files.map((file) => file.dashboard.uid).sort()).toEqual([
      'twc-daily-analysis',
      'twc-live-overview',
      'twc-monthly-summary',
      'twc-price-analysis',
      'twc-session-detail',
      'twc-session-history',
      'twc-system-health',
      'twc-weekly-trends',
      'twc-yearly-overview',
    ]);
    for (const { dashboard, file } of files) {
      expect(dashboard.id, file).toBeUndefined();
      expect(dashboard.schemaVersion, file).toBeGreaterThanOrEqual(39);
      expect(dashboard.uid.length, file).toBeLessThanOrEqual(40);
    }
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own ${...} syntax, not a template literal
  it('points every data source reference at the fixed uid and never at a ${DS_...} placeholder', () => {
    for (const { file, text, dashboard } of files) {
      expect(text, file).not.toContain('${DS_');
      const references: { type?: string; uid?: string }[] = [];
      const walk = (value: unknown) => {
        if (Array.isArray(value)) value.forEach(walk);
        else if (value && typeof value === 'object') {
          for (const [key, inner] of Object.entries(value)) {
            if (key === 'datasource' && inner && typeof inner === 'object') references.push(inner);
            else walk(inner);
          }
        }
      };
      walk(dashboard);
      expect(references.length, file).toBeGreaterThan(0);
      for (const reference of references) {
        // The built-in annotation source is Grafana's own, not a data source.
        if (reference.uid === '-- Grafana --') continue;
        expect(reference, file).toEqual({ type: 'influxdb', uid: DATASOURCE_UID });
      }
    }
  });

  it('gives every panel of a dashboard its own title', () => {
    for (const { file, dashboard } of files) {
      const titles = allPanels(dashboard).map((panel) => panel.title);
      expect(
        titles.filter((title, index) => titles.indexOf(title) !== index),
        file,
      ).toEqual([]);
    }
  });

  it('uses only core panel types, each with a unit', () => {
    for (const { file, dashboard } of files) {
      for (const panel of allPanels(dashboard)) {
        const where = `${file}: ${panel.title}`;
        expect(CORE_PANELS.has(panel.type), `${where} is a ${panel.type}`).toBe(true);
        if (panel.type === 'text' || panel.type === 'row') continue;
        expect(panel.fieldConfig?.defaults?.unit, `${where} has no unit`).toBeTruthy();
        expect(panel.targets?.length, `${where} has no query`).toBeGreaterThan(0);
      }
    }
  });

  it('reads only buckets, measurements and fields of our schema, each measurement from its own buckets', () => {
    expect(queries.length).toBeGreaterThan(60);
    for (const query of queries) {
      const where = `${query.dashboard} / ${query.source}`;
      const measurements = comparisons(query.flux, '_measurement');
      expect(measurements.length, `${where} names no measurement`).toBeGreaterThan(0);
      const known = Object.keys(SCHEMA);
      for (const measurement of measurements) expect(known, where).toContain(measurement);
      for (const field of comparisons(query.flux, '_field')) {
        const owners = measurements.filter((measurement) => field in fieldsOf(measurement));
        expect(owners, `${where}: field ${field} is in none of ${measurements.join(', ')}`).not.toEqual([]);
      }
      for (const priceType of comparisons(query.flux, 'price_type'))
        expect(['5min', 'hourly_avg']).toContain(priceType);

      const literalBuckets = [...query.flux.matchAll(/"(twc_[a-z0-9_]+)"/g)]
        .map((match) => match[1] as string)
        .filter((name) => !known.includes(name));
      const bucketNames = Object.values(PRODUCTION_BUCKETS) as string[];
      for (const bucket of literalBuckets) expect(bucketNames, `${where}: bucket ${bucket}`).toContain(bucket);
      const readsTier = /from\(bucket: tier\)/.test(query.flux);
      if (readsTier) expect(query.flux, `${where} reads a tier without the tier rule`).toMatch(TIER_RULE);
      for (const measurement of measurements) {
        const allowed = bucketsFor(measurement);
        const used = readsTier ? allowed : literalBuckets;
        expect(
          used.some((bucket) => allowed.includes(bucket)),
          `${where}: ${measurement} is not read from ${allowed.join(' or ')}`,
        ).toBe(true);
      }
      // Grafana replaces any `word.bucket` / `word.organization` in Flux text: never use them as names.
      expect(query.flux, where).not.toMatch(/[a-zA-Z]\.(bucket|organization)\b/);
    }
  });

  it('reads the raw measurements through the resolution rule, never from a fixed raw bucket, except live look-backs', () => {
    for (const query of queries) {
      if (query.source.startsWith('variable')) continue;
      const fixedRaw = /from\(bucket: "twc_raw"\)\s*\|> range\(start: v\.timeRangeStart/.test(query.flux);
      expect(fixedRaw, `${query.dashboard} / ${query.source}`).toBe(false);
    }
  });

  it('filters every charger measurement by the charger variable and defines the variables it uses', () => {
    for (const file of files) {
      const defined = new Set(file.dashboard.templating.list.map((variable) => variable.name));
      for (const query of fluxQueries(file)) {
        const where = `${query.dashboard} / ${query.source}`;
        for (const match of query.flux.matchAll(/\$\{(\w+)(?::\w+)?\}/g)) {
          expect(defined.has(match[1] as string), `${where} uses undefined $${match[1]}`).toBe(true);
        }
        const perCharger = comparisons(query.flux, '_measurement').some((measurement) =>
          (SCHEMA as Record<string, { tags: readonly string[] }>)[measurement]?.tags.includes('charger_name'),
        );
        if (perCharger && !query.source.startsWith('variable charger')) {
          // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own ${...} syntax, not a template literal
          expect(query.flux, where).toContain('r.charger_name =~ /^${charger:regex}$/');
        }
      }
    }
  });

  it('links each session in the history to the session detail dashboard with its id and time range', () => {
    const history = files.find((file) => file.dashboard.uid === 'twc-session-history');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own ${...} syntax, not a template literal
    expect(history?.text).toContain('/d/twc-session-detail/session-detail?var-session=${__data.fields.session_id}');
    const detail = files.find((file) => file.dashboard.uid === 'twc-session-detail');
    expect(detail?.dashboard.templating.list.map((variable) => variable.name)).toContain('session');
  });

  it('offers the time zone, temperature unit and charger variables with working defaults', () => {
    for (const { file, dashboard } of files) {
      const byName = new Map(dashboard.templating.list.map((variable) => [variable.name, variable]));
      const timezone = byName.get('timezone');
      if (timezone) expect(timezone.current?.value, file).toBe('America/Chicago');
      const tempUnit = byName.get('temp_unit');
      if (tempUnit)
        expect(
          tempUnit.options?.map((option) => option.value),
          file,
        ).toEqual(['C', 'F']);
      const usesTemperature = fluxQueries({ file, text: '', dashboard }).some((query) =>
        query.flux.includes('_temp_c"'),
      );
      if (usesTemperature && dashboard.uid !== 'twc-session-detail') expect(tempUnit, file).toBeDefined();
    }
  });
});
