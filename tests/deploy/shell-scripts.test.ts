import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, run } from './stack.js';

const SCRIPTS = ['setup.sh', 'scripts/verify.sh', 'scripts/backup.sh', 'scripts/restore.sh'];
/** Scripts a developer or CI runs: the test command and what it calls. */
const DEVELOPER_SCRIPTS = ['scripts/test.sh', 'scripts/build-influxd.sh', 'scripts/install-schemathesis.sh'];

/** An install folder without .env, holding only the scripts. */
function bareInstall(): string {
  const dir = mkdtempSync(join(tmpdir(), 'twc-scripts-'));
  mkdirSync(join(dir, 'scripts'));
  for (const script of SCRIPTS) copyFileSync(join(REPO_ROOT, script), join(dir, script));
  return dir;
}

describe('shell scripts', () => {
  it.each([...SCRIPTS, ...DEVELOPER_SCRIPTS])('%s passes shellcheck, style checks included', async (script) => {
    const result = await run('shellcheck', ['--shell=bash', '--severity=style', script], { cwd: REPO_ROOT });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it.each([
    ['scripts/verify.sh', [], /no \.env here: run \.\/setup\.sh first/],
    ['scripts/backup.sh', [], /no \.env here: nothing to back up/],
    ['scripts/restore.sh', [], /usage: \.\/scripts\/restore\.sh/],
    ['scripts/restore.sh', ['--yes', 'backups/none'], /backups\/none\/influxdb\.tar is missing: not a complete backup/],
  ])('%s %j refuses with a clear message when there is nothing to work on', async (script, args, message) => {
    const dir = bareInstall();
    const result = await run('bash', [join(dir, script), ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir },
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });
});
