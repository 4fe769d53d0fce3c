/**
 * Helpers for the deployment tests: a scratch copy of the files a user's
 * install holds, setup.sh run with `docker` replaced by a recording stub, and
 * the compose file as a real Compose implementation resolves it.
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
    // A command that exits without reading its input closes the pipe: not an error of the test.
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input ?? '');
  });
}

/** A temporary folder holding what an install needs to run setup and compose. */
export function makeInstallDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `twc-${label}-`));
  for (const file of ['setup.sh', '.env.example', 'docker-compose.yml']) {
    copyFileSync(join(REPO_ROOT, file), join(dir, file));
  }
  chmodSync(join(dir, 'setup.sh'), 0o755);
  return dir;
}

/**
 * A `docker` that records each call, one line of arguments each, and answers
 * what setup.sh asks: Compose's version, the services, containers that are
 * healthy. DOCKER_STUB_COMPOSE_VERSION overrides the version it reports.
 */
const DOCKER_STUB = `#!/bin/sh
printf '%s\\n' "$*" >> "$DOCKER_STUB_LOG"
case "$*" in
  "compose version --short") echo "\${DOCKER_STUB_COMPOSE_VERSION:-2.29.7}" ;;
  "compose config --services") printf 'influxdb\\nredis\\nmosquitto\\ngrafana\\ncollector\\ncomed-poller\\napi\\n' ;;
  "compose ps -q "*) echo "container-$4" ;;
  "inspect "*) echo healthy ;;
esac
exit 0
`;

export interface SetupRun extends RunResult {
  /** The stub's record: the arguments of each docker call, in order. */
  dockerCalls: string[];
}

export async function runSetup(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<SetupRun> {
  const bin = join(dir, 'stub-bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'docker'), DOCKER_STUB, { mode: 0o755 });
  const log = join(dir, 'docker-calls.log');
  writeFileSync(log, '');
  const result = await run('./setup.sh', args, {
    cwd: dir,
    env: {
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: dir,
      TMPDIR: tmpdir(),
      DOCKER_STUB_LOG: log,
      TWC_SETUP_WAIT_S: '10',
      ...env,
    },
  });
  const dockerCalls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return { ...result, dockerCalls };
}

/** KEY=value lines of an env file (comments and blank lines left out). */
export function parseEnvFile(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match?.[1]) values.set(match[1], match[2] ?? '');
  }
  return values;
}

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number | null>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  restart?: string;
  mem_limit?: string | number;
  ports?: (string | { published?: number | string; target?: number | string })[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  depends_on?: Record<string, { condition?: string }> | string[];
  networks?: Record<string, unknown> | string[];
  network_mode?: string;
  profiles?: string[];
}

export interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, unknown>;
}

/**
 * `docker-compose config` in `dir` (its .env and any override file apply),
 * parsed. Debian's docker-compose implements the Compose file format without
 * a Docker engine.
 */
export async function composeConfig(dir: string, profiles: string[] = []): Promise<ComposeConfig> {
  const args = profiles.flatMap((profile) => ['--profile', profile]);
  const result = await run('docker-compose', [...args, 'config'], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir },
  });
  if (result.code !== 0) throw new Error(`docker-compose config failed (${result.code}):\n${result.stderr}`);
  return parseYaml(result.stdout) as ComposeConfig;
}

/** A service's environment as strings; Compose's `$$` escapes become `$` as in the container. */
export function serviceEnv(service: ComposeService): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, value === null ? '' : String(value)]),
  );
}

/** The healthcheck as the argv the engine runs (CMD) or a shell command line (CMD-SHELL). */
export function healthcheckArgv(service: ComposeService): string[] {
  const test = service.healthcheck?.test;
  if (!test) throw new Error('no healthcheck');
  const words = (typeof test === 'string' ? ['CMD-SHELL', test] : test).map((word) => word.replaceAll('$$', '$'));
  if (words[0] === 'CMD') return words.slice(1);
  if (words[0] === 'CMD-SHELL') return ['/bin/sh', '-c', words.slice(1).join(' ')];
  throw new Error(`unexpected healthcheck ${JSON.stringify(test)}`);
}

/** Published host ports of a service, from either port syntax. */
export function publishedPorts(service: ComposeService): number[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'string') {
      const parts = port.replace(/\/\w+$/, '').split(':');
      return Number(parts.length >= 2 ? parts[parts.length - 2] : parts[0]);
    }
    return Number(port.published ?? port.target);
  });
}

/** Named-volume mounts as target -> volume name (bind mounts left out). */
export function namedVolumeMounts(config: ComposeConfig, service: ComposeService): Map<string, string> {
  const names = new Set(Object.keys(config.volumes ?? {}));
  const mounts = new Map<string, string>();
  for (const volume of service.volumes ?? []) {
    const [source, target] =
      typeof volume === 'string' ? volume.split(':') : [volume.source ?? '', volume.target ?? ''];
    if (source && target && names.has(source)) mounts.set(target, source);
  }
  return mounts;
}

/** Bytes of a Compose memory value: 256m, 1g, 1073741824. */
export function memoryBytes(value: string | number | undefined): number {
  if (value === undefined) return Number.NaN;
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(value.trim());
  if (!match) return Number.NaN;
  const scale = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase()] ?? Number.NaN;
  return Number(match[1]) * scale;
}
