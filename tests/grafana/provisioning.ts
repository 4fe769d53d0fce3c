/** Runs grafana/entrypoint.sh in render-only mode into a temporary provisioning directory. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { GRAFANA_DIR } from './dashboards.js';

export interface Rendered {
  status: number | null;
  stderr: string;
  dir: string;
  /** Parsed YAML of every rendered file, by path relative to the provisioning directory. */
  files: Record<string, unknown>;
}

export function renderProvisioning(env: Record<string, string>): Rendered {
  const dir = mkdtempSync(join(tmpdir(), 'twc-grafana-provisioning-'));
  const result = spawnSync('sh', [join(GRAFANA_DIR, 'entrypoint.sh')], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      TWC_GRAFANA_SRC: GRAFANA_DIR,
      GF_PATHS_PROVISIONING: dir,
      TWC_PROVISION_ONLY: '1',
      ...env,
    },
    encoding: 'utf8',
  });
  const files: Record<string, unknown> = {};
  for (const sub of ['datasources', 'dashboards', 'alerting']) {
    let names: string[] = [];
    try {
      names = readdirSync(join(dir, sub));
    } catch {
      continue;
    }
    for (const name of names) files[`${sub}/${name}`] = parse(readFileSync(join(dir, sub, name), 'utf8'));
  }
  return { status: result.status, stderr: result.stderr, dir, files };
}

export interface RuleQuery {
  refId: string;
  datasourceUid: string;
  relativeTimeRange?: { from: number; to: number };
  model: { query?: string; type?: string; expression?: string; conditions?: { evaluator: { params: number[] } }[] };
}

export interface Rule {
  uid: string;
  title: string;
  condition: string;
  data: RuleQuery[];
}

export function rulesOf(rendered: Rendered): Rule[] {
  const file = rendered.files['alerting/twc-rules.yaml'] as { groups: { rules: Rule[] }[] } | undefined;
  if (!file) throw new Error(`no rules rendered: ${rendered.stderr}`);
  return file.groups.flatMap((group) => group.rules);
}
