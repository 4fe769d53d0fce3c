import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FieldType, SCHEMA, TIER_EXTREMES } from '@twc/core/contracts/influx-schema';
import { describe, expect, it } from 'vitest';
import { RAW_MEASUREMENTS, TASKS_DIR } from './init-script.js';

/** Kept forever at full resolution in their own buckets (sessions, prices): never downsampled. */
const FULL_RESOLUTION = [
  'twc_session',
  'twc_session_hour',
  'comed_price',
  'comed_price_hourly',
  'comed_price_published',
  'comed_price_check',
  'comed_price_dayahead',
  'comed_dayahead_check',
  'comed_price_forecast',
  'comed_tonight_window',
  'comed_forecast_accuracy',
  'charge_plan',
  'charge_control',
];

/** The field types each aggregate may be given. */
const ALLOWED_TYPES: Record<string, readonly FieldType[]> = {
  meanFields: ['float'],
  meanIntFields: ['int'],
  lastFields: ['float', 'int', 'bool', 'string'],
  maxFields: ['float', 'int'],
};

/** The extremes kept beside a mean, and the suffix of the field they are kept as. */
const EXTREME_RULES: Record<string, string> = { peakFields: '_max', lowFields: '_min' };

const TASK_FILES = readdirSync(TASKS_DIR).filter((name) => name.startsWith('downsample-') && name.endsWith('.flux'));

function rulesBlock(flux: string): string {
  const match = /\/\/ --- aggregate rules[^\n]*\n([\s\S]*?)\/\/ --- end of aggregate rules ---/.exec(flux);
  if (!match?.[1]) throw new Error('no aggregate rules block');
  return match[1];
}

/**
 * The rules of the block: `name = (r) => <predicate>`, each predicate a
 * disjunction of `r._measurement == "m" and (r._field == "f" or ...)`, read
 * as the `m.f` keys it selects. Anything else in a predicate (a contains(), a
 * concatenation, another column) would keep InfluxDB from filtering in
 * storage, and fails here.
 */
function ruleLists(block: string): Map<string, string[]> {
  const lists = new Map<string, string[]>();
  const code = block.replace(/^\s*\/\/.*$/gm, '');
  for (const match of code.matchAll(/^(\w+) = \(r\) =>\n([\s\S]*?)(?=^\w+ = |(?![\s\S]))/gm)) {
    const name = match[1] as string;
    const body = match[2] as string;
    const rest = body.replace(/r\._measurement == "\w+"|r\._field == "\w+"/g, '').replace(/\b(and|or)\b|[()\s]/g, '');
    if (rest !== '') throw new Error(`rule ${name} is not made of == comparisons joined by and/or: ${rest}`);
    const keys: string[] = [];
    let measurement: string | undefined;
    for (const token of body.matchAll(/r\._(measurement|field) == "(\w+)"/g)) {
      if (token[1] === 'measurement') measurement = token[2];
      else if (measurement === undefined) throw new Error(`rule ${name}: a field before any measurement`);
      else keys.push(`${measurement}.${token[2]}`);
    }
    lists.set(name, keys);
  }
  return lists;
}

function rulesOf(file: string): Map<string, string[]> {
  return ruleLists(rulesBlock(readFileSync(join(TASKS_DIR, file), 'utf8')));
}

describe('downsampling aggregate rules', () => {
  it('has one task per tier', () => {
    expect(TASK_FILES.sort()).toEqual(['downsample-1h.flux', 'downsample-1m.flux', 'downsample-5m.flux']);
  });

  it('classifies every measurement of the schema as downsampled or kept at full resolution', () => {
    const classified = [...RAW_MEASUREMENTS, ...FULL_RESOLUTION].sort();
    expect(Object.keys(SCHEMA).sort()).toEqual(classified);
  });

  it('gives every raw field exactly one aggregate that suits its type, and nothing else', () => {
    const lists = rulesOf('downsample-1m.flux');
    expect([...lists.keys()].sort()).toEqual([...Object.keys(ALLOWED_TYPES), ...Object.keys(EXTREME_RULES)].sort());
    const ruleOf = new Map<string, string[]>();
    for (const [list, keys] of lists) {
      if (list in EXTREME_RULES) continue;
      for (const key of keys) ruleOf.set(key, [...(ruleOf.get(key) ?? []), list]);
    }
    const problems: string[] = [];
    for (const measurement of RAW_MEASUREMENTS) {
      for (const [field, type] of Object.entries(SCHEMA[measurement].fields)) {
        const key = `${measurement}.${field}`;
        const rules = ruleOf.get(key) ?? [];
        if (rules.length !== 1) problems.push(`${key} (${type}) has ${rules.length} rules: ${rules.join(', ')}`);
        for (const rule of rules) {
          if (!ALLOWED_TYPES[rule]?.includes(type as FieldType)) problems.push(`${key} is ${type}: not for ${rule}`);
        }
        ruleOf.delete(key);
      }
    }
    for (const key of ruleOf.keys()) problems.push(`${key} has a rule but is not a raw field of the schema`);
    expect(problems).toEqual([]);
  });

  it('keeps the extremes of gauges beside their mean, as the fields the schema names for the tiers', () => {
    const lists = rulesOf('downsample-1m.flux');
    const means = new Set(lists.get('meanFields'));
    const kept: string[] = [];
    for (const [list, suffix] of Object.entries(EXTREME_RULES)) {
      for (const key of lists.get(list) ?? []) {
        expect(means.has(key), `${key} of ${list} is not averaged`).toBe(true);
        kept.push(`${key}${suffix}`);
      }
    }
    const declared = Object.entries(TIER_EXTREMES).flatMap(([measurement, fields]) =>
      Object.keys(fields).map((field) => `${measurement}.${field}`),
    );
    expect(kept.sort()).toEqual(declared.sort());
    // None of them is a raw field: the collector never writes them.
    for (const key of declared) {
      const [measurement, field] = key.split('.') as [keyof typeof SCHEMA, string];
      expect(Object.keys(SCHEMA[measurement].fields), key).not.toContain(field);
    }
  });

  it('uses the same rules in every tier', () => {
    const blocks = TASK_FILES.map((file) => rulesBlock(readFileSync(join(TASKS_DIR, file), 'utf8')));
    for (const block of blocks) expect(block).toBe(blocks[0]);
  });

  it('runs each tier as often as its window and looks back over several windows', () => {
    const seconds = (duration: string) => {
      const match = /^(\d+)([smh])$/.exec(duration);
      if (!match) throw new Error(`unexpected duration ${duration}`);
      return Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'];
    };
    for (const file of TASK_FILES) {
      const flux = readFileSync(join(TASKS_DIR, file), 'utf8');
      const tier = /^downsample-(\w+)\.flux$/.exec(file)?.[1] as string;
      const option = /^option task = \{name: "twc-downsample-(\w+)", every: (\w+), offset: (\w+)\}$/m.exec(flux);
      const window = /^window = (\w+)$/m.exec(flux)?.[1] as string;
      const lookback = /^lookback = (\w+)$/m.exec(flux)?.[1] as string;
      expect(option?.[1], file).toBe(tier);
      expect(option?.[2], file).toBe(tier);
      expect(window, file).toBe(tier);
      expect(seconds(option?.[3] as string), file).toBeLessThan(seconds(window));
      expect(seconds(lookback) / seconds(window), file).toBeGreaterThanOrEqual(6);
      expect(flux, file).toContain(`destination = "@BUCKET_${tier.toUpperCase()}@"`);
    }
  });
});
