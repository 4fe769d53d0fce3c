import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, run } from './stack.js';

const TSX = join(REPO_ROOT, 'node_modules/.bin/tsx');
const SCRIPT = join(REPO_ROOT, 'scripts/test-summary.ts');

/** A vitest JSON report as its json reporter writes it (only the fields the summary reads). */
function report(files: { name: string; status: string; message?: string; tests: string[] }[]): string {
  return JSON.stringify({
    numTotalTests: files.reduce((sum, file) => sum + file.tests.length, 0),
    testResults: files.map((file) => ({
      name: file.name,
      status: file.status,
      message: file.message ?? '',
      assertionResults: file.tests.map((status, i) => ({ title: `test ${i}`, status })),
    })),
  });
}

async function summary(reportText: string | undefined, checks: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'twc-summary-'));
  const path = join(dir, 'report.json');
  if (reportText !== undefined) writeFileSync(path, reportText);
  const result = await run(TSX, [SCRIPT, path, ...checks], { cwd: REPO_ROOT });
  const lines = result.stdout.trimEnd().split('\n');
  return { code: result.code, last: lines.at(-1), stdout: result.stdout };
}

describe('the test command closing line', () => {
  it('counts passed and failed tests from the report and ends with them alone on a line', async () => {
    const result = await summary(
      report([
        { name: 'a.test.ts', status: 'passed', tests: ['passed', 'passed', 'passed'] },
        { name: 'b.test.ts', status: 'failed', tests: ['passed', 'failed', 'skipped'] },
      ]),
    );
    expect(result.last).toBe('4 passed, 1 failed, 1 skipped');
    expect(result.code).toBe(1);
  });

  it('exits 0 when everything passed', async () => {
    const result = await summary(report([{ name: 'a.test.ts', status: 'passed', tests: ['passed', 'passed'] }]));
    expect(result.last).toBe('2 passed, 0 failed');
    expect(result.code).toBe(0);
  });

  it('counts a file that failed to load as a failure and says why', async () => {
    const result = await summary(
      report([
        { name: 'a.test.ts', status: 'passed', tests: ['passed'] },
        { name: 'broken.test.ts', status: 'failed', message: 'SyntaxError: Unexpected token\n at x', tests: [] },
      ]),
    );
    expect(result.stdout).toContain('broken.test.ts failed outside its tests: SyntaxError: Unexpected token');
    expect(result.last).toBe('1 passed, 1 failed');
    expect(result.code).toBe(1);
  });

  it('counts each failed static check, and a missing report, as a failure', async () => {
    const checks = await summary(report([{ name: 'a.test.ts', status: 'passed', tests: ['passed'] }]), [
      'lint',
      'typecheck',
    ]);
    expect(checks.stdout).toContain('lint failed');
    expect(checks.last).toBe('1 passed, 2 failed');
    expect(checks.code).toBe(1);

    const missing = await summary(undefined);
    expect(missing.stdout).toContain('vitest wrote no report');
    expect(missing.last).toBe('0 passed, 1 failed');
    expect(missing.code).toBe(1);
  });

  it('fails a run in which no test ran', async () => {
    const result = await summary(report([]));
    expect(result.last).toBe('0 passed, 0 failed');
    expect(result.code).toBe(1);
  });
});
