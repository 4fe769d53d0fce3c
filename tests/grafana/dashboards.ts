/**
 * Reads the provisioned dashboards and turns their Flux queries into what
 * Grafana sends to InfluxDB: the same macro substitution as Grafana's Flux
 * data source (pkg/tsdb/influxdb/flux/macros.go: every `word.timeRangeStart`,
 * `word.timeRangeStop`, `word.windowPeriod`, `word.defaultBucket`,
 * `word.bucket`, `word.organization` is replaced, whatever the word), then
 * the template variables the dashboard defines.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GRAFANA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'grafana');
export const DASHBOARDS_DIR = join(GRAFANA_DIR, 'dashboards');
export const DATASOURCE_UID = 'twc-influxdb';

export interface Panel {
  id?: number;
  type: string;
  title: string;
  gridPos?: { w: number; h: number; x: number; y: number };
  maxDataPoints?: number;
  interval?: string;
  datasource?: { type?: string; uid?: string };
  targets?: { refId: string; query?: string; datasource?: { type?: string; uid?: string } }[];
  fieldConfig?: { defaults?: { unit?: string }; overrides?: unknown[] };
  timeFrom?: string;
  panels?: Panel[];
}

export interface TemplateVariable {
  name: string;
  type: string;
  query?: string | { query?: string };
  datasource?: { type?: string; uid?: string };
  current?: { value?: string | string[] };
  options?: { value: string; selected?: boolean }[];
}

export interface Dashboard {
  uid: string;
  title: string;
  id?: number;
  schemaVersion: number;
  time: { from: string; to: string };
  panels: Panel[];
  templating: { list: TemplateVariable[] };
}

export interface DashboardFile {
  file: string;
  text: string;
  dashboard: Dashboard;
}

export function loadDashboards(): DashboardFile[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(DASHBOARDS_DIR, file), 'utf8');
      return { file, text, dashboard: JSON.parse(text) as Dashboard };
    });
}

/** Every panel, rows' nested panels included. */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

export interface FluxQuery {
  dashboard: string;
  /** Panel title and refId, or `variable <name>`. */
  source: string;
  panel?: Panel;
  flux: string;
  /** A panel's own relative range (Grafana's "relative time" override), e.g. `30d`. */
  timeFrom?: string;
}

export function variableQuery(variable: TemplateVariable): string | undefined {
  if (typeof variable.query === 'string') return variable.query;
  return variable.query?.query;
}

export function fluxQueries(file: DashboardFile): FluxQuery[] {
  const { dashboard } = file;
  const queries: FluxQuery[] = [];
  for (const variable of dashboard.templating.list) {
    const flux = variableQuery(variable);
    if (variable.type === 'query' && flux) {
      queries.push({ dashboard: dashboard.title, source: `variable ${variable.name}`, flux });
    }
  }
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      if (!target.query) continue;
      queries.push({
        dashboard: dashboard.title,
        source: `${panel.title} [${target.refId}]`,
        panel,
        flux: target.query,
        timeFrom: panel.timeFrom,
      });
    }
  }
  return queries;
}

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  M: 30 * 86_400_000,
  y: 365 * 86_400_000,
};

/** A Grafana relative duration such as `30d`, `12w` or `1y`, in milliseconds (months and years approximate). */
export function durationMs(text: string): number {
  const match = /^(\d+)([smhdwMy])$/.exec(text);
  const unit = match?.[2];
  if (!match || unit === undefined) throw new Error(`unsupported relative time "${text}"`);
  return Number(match[1]) * (UNIT_MS[unit] as number);
}

/**
 * The range a panel queries: the dashboard's, or its relative time override
 * as Grafana reads one (rangeUtil.describeTextRange): `30d` is the 30 days to
 * now, `+24h` the 24 hours from now. Now is where the dashboard's range ends.
 */
export function panelRange(
  timeFrom: string | undefined,
  range: { fromMs: number; toMs: number },
): { fromMs: number; toMs: number } {
  if (!timeFrom) return range;
  if (timeFrom.startsWith('+')) return { fromMs: range.toMs, toMs: range.toMs + durationMs(timeFrom.slice(1)) };
  return { fromMs: range.toMs - durationMs(timeFrom), toMs: range.toMs };
}

/**
 * The width in pixels this project assumes a panel has when it sets no
 * maxDataPoints: Grafana then asks for as many points as the panel is wide
 * (PanelModel.runAllPanelQueries: `maxDataPoints: this.maxDataPoints ||
 * Math.floor(width)`), and the width depends on the screen. The rule here is
 * a dashboard 1,920 pixels wide, a full-HD screen, divided into Grafana's 24
 * grid columns; a narrower screen asks for fewer points and gets a longer
 * v.windowPeriod, so an aggregated query stays within its panel there too.
 */
export const DASHBOARD_WIDTH_PX = 1920;

export function panelMaxDataPoints(panel: Panel): number {
  if (panel.maxDataPoints) return panel.maxDataPoints;
  const columns = panel.gridPos?.w ?? 24;
  return Math.floor((columns * DASHBOARD_WIDTH_PX) / 24);
}

/** The data source's minimum interval (jsonData.timeInterval in provisioning/datasources). */
export const DATASOURCE_MIN_INTERVAL_MS = 5000;

/**
 * Grafana's interval for a range and a number of points (rangeutil.ts,
 * calculateInterval and roundInterval): the range over the points, rounded to
 * the nearest of its steps (which may round down, to up to 1.5 times as many
 * windows as points asked for), at least the panel's or the data source's
 * minimum interval. This is v.windowPeriod.
 */
export function grafanaIntervalMs(rangeMs: number, maxDataPoints: number, minIntervalMs = DATASOURCE_MIN_INTERVAL_MS) {
  const raw = rangeMs / maxDataPoints;
  const steps: [number, number][] = [
    [15, 10],
    [35, 20],
    [75, 50],
    [150, 100],
    [350, 200],
    [750, 500],
    [1500, 1000],
    [3500, 2000],
    [7500, 5000],
    [12_500, 10_000],
    [17_500, 15_000],
    [25_000, 20_000],
    [45_000, 30_000],
    [90_000, 60_000],
    [210_000, 120_000],
    [450_000, 300_000],
    [750_000, 600_000],
    [1_050_000, 900_000],
    [1_500_000, 1_200_000],
    [2_700_000, 1_800_000],
    [5_400_000, 3_600_000],
    [9_000_000, 7_200_000],
    [16_200_000, 10_800_000],
    [32_400_000, 21_600_000],
    [86_400_000, 43_200_000],
    [604_800_000, 86_400_000],
    [1_814_400_000, 604_800_000],
    [3_628_800_000, 2_592_000_000],
  ];
  const rounded = steps.find(([below]) => raw < below)?.[1] ?? 31_536_000_000;
  return Math.max(rounded, minIntervalMs);
}

/** Go's time.Duration.String() for whole milliseconds, as Grafana prints v.windowPeriod. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const totalSeconds = ms / 1000;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

export interface Interpolation {
  fromMs: number;
  toMs: number;
  /** Grafana's interval for the panel: the range over its max data points, at least the data source's minimum. */
  windowMs?: number;
  defaultBucket: string;
  organization: string;
  /** Template variable values; `${name:regex}` gets the value regex-escaped, like Grafana's regex format. */
  variables: Record<string, string>;
  /** Production bucket name -> the bucket to query instead. */
  buckets: Record<string, string>;
}

const escapeRegex = (value: string) => value.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');

export function interpolate(flux: string, options: Interpolation): string {
  const from = new Date(options.fromMs).toISOString();
  const to = new Date(options.toMs).toISOString();
  const windowMs =
    options.windowMs ?? Math.max(10_000, Math.round((options.toMs - options.fromMs) / 1000 / 1000) * 1000);
  let text = flux.replace(/([a-zA-Z]+)\.([a-zA-Z]+)/g, (whole, _object: string, member: string) => {
    switch (member) {
      case 'timeRangeStart':
        return from;
      case 'timeRangeStop':
        return to;
      case 'windowPeriod':
        return goDuration(windowMs);
      case 'defaultBucket':
      case 'bucket':
        return `"${options.defaultBucket}"`;
      case 'organization':
        return `"${options.organization}"`;
      default:
        return whole;
    }
  });
  text = text.replace(/\$\{(\w+)(?::(\w+))?\}|\$(\w+)/g, (whole, braced?: string, format?: string, bare?: string) => {
    const name = braced ?? bare;
    if (name === undefined || name.startsWith('__')) return whole;
    const value = options.variables[name];
    if (value === undefined) throw new Error(`template variable ${name} has no value`);
    if (format === 'regex') return value === '.*' ? value : escapeRegex(value);
    if (format !== undefined) throw new Error(`variable format ${format} is not handled`);
    return value;
  });
  for (const [production, replacement] of Object.entries(options.buckets)) {
    text = text.split(`"${production}"`).join(`"${replacement}"`);
  }
  return text;
}
