/**
 * The test command's closing line: `N passed, N failed`, counted from
 * vitest's JSON report, printed after every other tool's output so a reader
 * of the log (a person or CI) finds one plain verdict at its end.
 *
 *   tsx scripts/test-summary.ts <vitest-json-report> [<failed static check> ...]
 *
 * A test file that fails to load holds no failed test but is a failure: it
 * counts as one. A static check that failed (lint, typecheck) counts as one
 * failure each. No report at all (vitest crashed) is one failure. Exits 1
 * when anything failed or nothing ran.
 */
import { readFileSync } from 'node:fs';

interface AssertionResult {
  status: string;
}
interface FileResult {
  name: string;
  status: string;
  message?: string;
  assertionResults?: AssertionResult[];
}
interface VitestReport {
  testResults?: FileResult[];
}

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
  /** Why something failed that is not a failed test: a file that did not load, a static check. */
  notes: string[];
}

export function summarize(report: VitestReport | undefined, failedChecks: readonly string[]): Summary {
  const summary: Summary = { passed: 0, failed: 0, skipped: 0, notes: [] };
  for (const check of failedChecks) {
    summary.failed++;
    summary.notes.push(`${check} failed`);
  }
  if (report === undefined) {
    summary.failed++;
    summary.notes.push('vitest wrote no report');
    return summary;
  }
  for (const file of report.testResults ?? []) {
    const results = file.assertionResults ?? [];
    let failedHere = 0;
    for (const result of results) {
      if (result.status === 'passed') summary.passed++;
      else if (result.status === 'failed') failedHere++;
      else summary.skipped++;
    }
    if (file.status === 'failed' && failedHere === 0) {
      failedHere = 1;
      summary.notes.push(`${file.name} failed outside its tests: ${(file.message ?? '').split('\n')[0]}`);
    }
    summary.failed += failedHere;
  }
  return summary;
}

function readReport(path: string): VitestReport | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as VitestReport;
  } catch {
    return undefined;
  }
}

const [reportPath, ...failedChecks] = process.argv.slice(2);
if (reportPath === undefined) {
  process.stderr.write('usage: test-summary <vitest-json-report> [<failed static check> ...]\n');
  process.exit(2);
}
const summary = summarize(readReport(reportPath), failedChecks);
for (const note of summary.notes) process.stdout.write(`[test] ${note}\n`);
const skipped = summary.skipped > 0 ? `, ${summary.skipped} skipped` : '';
process.stdout.write(`${summary.passed} passed, ${summary.failed} failed${skipped}\n`);
process.exit(summary.failed > 0 || summary.passed === 0 ? 1 : 0);
