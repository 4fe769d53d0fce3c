/**
 * Workspace packages as their images run them: compiled by tsc, started with
 * plain node. Each package goes to a folder of its own in a temporary
 * directory, with its package.json (whose exports send plain node to dist/)
 * and a node_modules linked entry by entry to the package's own, except that
 * `@twc/core`, `@twc/runtime` and the like point at the compiled copies. The
 * working tree's dist/ folders are left alone.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));

export type WorkspacePackage = 'core' | 'runtime' | 'collector' | 'api';

/** A file each build must have written, to tell a build that emitted nothing. */
const BUILT_FILE: Record<WorkspacePackage, string> = {
  core: 'prices/comed-clock.js',
  runtime: 'logger.js',
  collector: 'collector/main.js',
  api: 'server.js',
};

export function tsc(args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), ...args], {
    encoding: 'utf8',
  });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

/** A package directory's node_modules, linked entry by entry so some entries can point elsewhere. */
export function linkNodeModules(from: string, to: string, replace: Record<string, string>): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from)) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@') && Object.keys(replace).some((name) => name.startsWith(`${entry}/`))) {
      linkNodeModules(join(from, entry), join(to, entry), {});
      continue;
    }
    symlinkSync(join(from, entry), join(to, entry), 'dir');
  }
  for (const [name, target] of Object.entries(replace)) {
    rmSync(join(to, name), { force: true });
    symlinkSync(target, join(to, name), 'dir');
  }
}

/**
 * Compiles `packages` into `dir/<package>/dist` and links them together;
 * returns each compiled package's folder. tsc emits despite type errors: the
 * figures stay meaningful, so that is a warning, not a failure.
 */
export function buildPackages(dir: string, packages: WorkspacePackage[]): Record<WorkspacePackage, string> {
  const built = Object.fromEntries(packages.map((name) => [name, join(dir, name)])) as Record<WorkspacePackage, string>;
  for (const name of packages) {
    const outDir = join(built[name], 'dist');
    const result = tsc(['-p', join(REPO, name, 'tsconfig.build.json'), '--outDir', outDir, '--sourceMap', 'false']);
    if (!existsSync(join(outDir, BUILT_FILE[name]))) throw new Error(`tsc did not build ${name}:\n${result.output}`);
    if (!result.ok)
      console.error(`warning: tsc reported errors while building ${name}:\n${result.output.slice(0, 2000)}`);
    copyFileSync(join(REPO, name, 'package.json'), join(built[name], 'package.json'));
    const ownModules = join(REPO, name, 'node_modules');
    const compiled = Object.fromEntries(
      packages
        .filter((other) => existsSync(join(ownModules, '@twc', other)))
        .map((other) => [`@twc/${other}`, built[other]]),
    );
    if (existsSync(ownModules)) linkNodeModules(ownModules, join(built[name], 'node_modules'), compiled);
  }
  return built;
}
