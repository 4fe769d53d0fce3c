/**
 * The images' build steps and entrypoints, exercised without a Docker engine:
 * the `pnpm` steps of each Dockerfile's build stage run in a copy of the
 * working tree, then each service starts from the deployed folder as the
 * container would start it (its CMD or its compose command, its compose
 * environment pointed at the test servers) and must pass its own healthcheck
 * and stop cleanly on SIGTERM.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createComedServer } from '@twc/collector/simulator/comed-server';
import { createSimulator } from '@twc/collector/simulator/simulator-server';
import { freePort } from '@twc/testenv';
import { createTestBucket, servers, uniqueKeyPrefix, uniqueTopicRoot } from '@twc/testenv/vitest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type Instruction, imageCommand, parseDockerfile, stageChain } from './dockerfile.js';
import {
  type ComposeConfig,
  type ComposeService,
  composeConfig,
  healthcheckArgv,
  makeInstallDir,
  REPO_ROOT,
  run,
  runSetup,
  serviceEnv,
} from './stack.js';

/** The shell command of a RUN, without its BuildKit flags (--mount=...). */
function runCommand(instruction: Instruction): string {
  return instruction.args.replace(/^(--[\w-]+=\S+\s+)+/, '');
}

const DOCKERFILE = join(REPO_ROOT, 'Dockerfile');
const TARGETS = ['collector', 'api'] as const;
type Target = (typeof TARGETS)[number];

/** A copy of the working tree as a build context sees it: tracked and new files, not ignored ones. */
function copyWorkingTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'twc-image-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    try {
      mkdirSync(join(dir, dirname(file)), { recursive: true });
      cpSync(join(REPO_ROOT, file), join(dir, file));
    } catch (error) {
      // A tracked file deleted in the working tree is not in the build context either.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return dir;
}

/** The instructions of a target's final stage and of the stages its files are built in, base first. */
function targetStages(target: Target): { build: Instruction[]; final: Instruction[]; buildStage: string } {
  const stages = parseDockerfile(DOCKERFILE);
  const final = stageChain(stages, target).at(-1);
  const copy = final?.instructions.find((i) => i.op === 'COPY' && i.args.includes('--from='));
  const buildStage = /--from=(\S+)/.exec(copy?.args ?? '')?.[1];
  if (!final || !buildStage) throw new Error(`Dockerfile ${target}: the final stage copies from no build stage`);
  return {
    build: stageChain(stages, buildStage).flatMap((stage) => stage.instructions),
    final: final.instructions,
    buildStage,
  };
}

/**
 * Runs the pnpm steps of the stages a target is built in, in `context`, and
 * returns the folder its final stage copies (COPY --from=<stage>
 * <WORKDIR>/<folder>). Corepack and the pnpm store location are the image's
 * business: here the machine's pnpm (the packageManager version) and store
 * serve.
 */
async function buildLikeDockerfile(
  target: Target,
  context: string,
): Promise<{ deployDir: string; entrypoint: string[]; cmd: string[] }> {
  const { build, final, buildStage } = targetStages(target);
  const workdir = build.find((instruction) => instruction.op === 'WORKDIR')?.args ?? '/';
  for (const instruction of build.filter((i) => i.op === 'RUN')) {
    const command = runCommand(instruction);
    if (!command.startsWith('pnpm ')) continue;
    const result = await run('/bin/sh', ['-c', command], {
      cwd: context,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true' },
      timeoutMs: 300_000,
    });
    if (result.code !== 0) throw new Error(`${target}: RUN ${command} failed:\n${result.stdout}\n${result.stderr}`);
  }
  const copy = final.find((i) => i.op === 'COPY' && i.args.includes(`--from=${buildStage}`));
  const source = copy?.args.split(/\s+/).filter((word) => !word.startsWith('--'))[0];
  if (!source?.startsWith(`${workdir}/`)) throw new Error(`${target}: final stage copies nothing from ${workdir}`);
  return { deployDir: join(context, source.slice(workdir.length + 1)), ...imageCommand(DOCKERFILE, target) };
}

/** The target's HEALTHCHECK command line (shell form). */
function dockerfileHealthcheck(target: Target): string[] {
  const { final } = targetStages(target);
  const args = final.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
  const command = args.replace(/^(--[\w-]+=\S+\s+)*CMD\s+/, '');
  return ['/bin/sh', '-c', command];
}

interface Service {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const started: Service[] = [];

function startService(argv: string[], cwd: string, env: Record<string, string>): Service {
  const [command = '', ...args] = argv;
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const service = { child, output: () => output, exited };
  started.push(service);
  return service;
}

/** Runs `check` in `cwd` with `env` every 500 ms until it exits 0; fails with the service's output. */
async function waitHealthy(check: string[], cwd: string, env: Record<string, string>, service: Service, ms = 60_000) {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    const [command = '', ...args] = check;
    const result = await run(command, args, { cwd, env, timeoutMs: 10_000 });
    if (result.code === 0) return;
    last = `${result.stdout}${result.stderr}`;
    if (service.child.exitCode !== null) {
      throw new Error(`exited with ${service.child.exitCode} before it was healthy:\n${service.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`not healthy after ${ms} ms (${last}):\n${service.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function stopWithSigterm(service: Service): Promise<number | null> {
  service.child.kill('SIGTERM');
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000));
  const result = await Promise.race([service.exited, timeout]);
  if (result === 'timeout') throw new Error(`still running 30 s after SIGTERM:\n${service.output()}`);
  return result;
}

afterEach(() => {
  for (const service of started.splice(0)) {
    if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
  }
});

describe('the Dockerfile', () => {
  const packageManager = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).packageManager as string;
  const text = readFileSync(DOCKERFILE, 'utf8');

  it(`builds both images from one install on a pinned Node 24 LTS slim image, pnpm ${packageManager}`, () => {
    expect(text).toMatch(/^ARG NODE_IMAGE=node:24\.\d+\.\d+-\w+-slim$/m);
    expect(packageManager).toMatch(/^pnpm@10\.\d+\.\d+$/);
    // Corepack reads the pnpm version from package.json's packageManager.
    expect(text).toContain('RUN corepack enable');
    const [collectorBase, apiBase] = TARGETS.map((target) => targetStages(target).build[0]);
    expect(collectorBase).toEqual(apiBase);
    // Nothing tied to one CPU architecture: the same file builds amd64 and arm64.
    const instructions = parseDockerfile(DOCKERFILE).flatMap((stage) =>
      stage.instructions.map((i) => `${i.op} ${i.args}`),
    );
    expect(instructions.join('\n')).not.toMatch(/amd64|x86_64|arm64|aarch64|--platform/);
  });

  for (const target of TARGETS) {
    it(`${target}: installed once, deployed without its test tooling, run as a non-root user, with a healthcheck`, () => {
      const { build, final } = targetStages(target);
      const runs = build.filter((i) => i.op === 'RUN').map(runCommand);
      expect(runs.filter((command) => command === 'pnpm install --frozen-lockfile')).toHaveLength(1);
      expect(
        runs.some((command) => new RegExp(`^pnpm --filter @twc/${target} deploy --prod --legacy \\S+$`).test(command)),
      ).toBe(true);
      expect(final.find((i) => i.op === 'FROM')?.args).toBe(`\${NODE_IMAGE} AS ${target}`);
      expect(final.find((i) => i.op === 'USER')?.args).toBe('node');
      expect(final.some((i) => i.op === 'HEALTHCHECK')).toBe(true);
    });
  }

  it('copies every workspace manifest before the install, as pnpm checks the lockfile against all of them', () => {
    const workspace = parseYaml(readFileSync(join(REPO_ROOT, 'pnpm-workspace.yaml'), 'utf8')) as { packages: string[] };
    const copies = parseDockerfile(DOCKERFILE)
      .flatMap((stage) => stage.instructions)
      .filter((i) => i.op === 'COPY')
      .map((i) => i.args);
    expect(workspace.packages.length).toBeGreaterThan(5);
    for (const folder of workspace.packages) expect(copies, folder).toContain(`${folder}/package.json ${folder}/`);
  });

  it("builds neither image with the other's code", () => {
    const copied = (target: Target) =>
      targetStages(target)
        .build.filter((i) => i.op === 'COPY')
        .map((i) => i.args.split(/\s+/)[0])
        .filter((source) => !source?.endsWith('package.json'));
    expect(copied('collector')).not.toContain('api/');
    expect(copied('api')).not.toContain('collector/');
  });
});

describe('.dockerignore', () => {
  const patterns = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const ignored = (path: string) =>
    patterns.some((pattern) => {
      const plain = pattern.replace(/^\*\*\//, '').replace(/\/$/, '');
      return !pattern.startsWith('!') && (path === plain || path.startsWith(`${plain}/`));
    });

  it('keeps secrets and local state out of the build context', () => {
    for (const path of ['.env', '.git', 'node_modules', 'backups', 'docker-compose.override.yml']) {
      expect(ignored(path), path).toBe(true);
    }
  });

  it('keeps everything the Dockerfiles copy', () => {
    const sources = parseDockerfile(DOCKERFILE)
      .flatMap((stage) => stage.instructions)
      .filter((i) => i.op === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) expect(ignored(source.replace(/\/$/, '')), source).toBe(false);
  });
});

describe('the images, built and started as plain processes', () => {
  let context: string;
  let compose: ComposeConfig;
  let buckets: { raw: string; sessions: string; prices: string };
  let secretsDir: string;

  beforeAll(async () => {
    context = copyWorkingTree();
    const installDir = makeInstallDir('images');
    const setup = await runSetup(installDir, ['--non-interactive', '--no-start', '--chargers', 'sim=127.0.0.1:1']);
    expect(setup.code, setup.stderr).toBe(0);
    compose = await composeConfig(installDir, ['demo']);
    buckets = {
      raw: await createTestBucket('image-raw'),
      sessions: await createTestBucket('image-sessions'),
      prices: await createTestBucket('image-prices'),
    };
    secretsDir = mkdtempSync(join(tmpdir(), 'twc-image-tokens-'));
    writeFileSync(join(secretsDir, 'token'), `${servers().influx.token}\n`);
  }, 120_000);

  afterAll(() => {
    if (context) rmSync(context, { recursive: true, force: true });
  });

  /** The service's compose environment, its servers and folders swapped for the test's. */
  function environment(name: string, overrides: Record<string, string>): Record<string, string> {
    const { influx, redis } = servers();
    const data = mkdtempSync(join(tmpdir(), `twc-image-${name}-`));
    const env = serviceEnv(compose.services[name] as ComposeService);
    const swapped: Record<string, string> = {};
    for (const [key, value] of Object.entries(env)) {
      if (value.startsWith('/var/lib/twc/')) swapped[key] = join(data, value.slice('/var/lib/twc/'.length));
    }
    return {
      ...env,
      ...swapped,
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      INFLUXDB_URL: influx.url,
      INFLUXDB_TOKEN_FILE: join(secretsDir, 'token'),
      INFLUXDB_ORG: influx.org,
      INFLUXDB_BUCKET_RAW: buckets.raw,
      INFLUXDB_BUCKET_SESSIONS: buckets.sessions,
      INFLUXDB_BUCKET_PRICES: buckets.prices,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniqueKeyPrefix(name),
      LOG_LEVEL: 'warn',
      ...overrides,
    };
  }

  describe('collector image', () => {
    let deployDir: string;
    let entrypoint: string[];
    let cmd: string[];

    beforeAll(async () => {
      ({ deployDir, entrypoint, cmd } = await buildLikeDockerfile('collector', context));
    }, 300_000);

    it('starts every command under node with its V8 settings, so compose and Helm pass only the script', () => {
      expect(entrypoint[0]).toBe('node');
      expect(entrypoint.length).toBeGreaterThan(1);
      for (const option of entrypoint.slice(1)) expect(option).toMatch(/^--[a-z0-9-]+(=\S+)?$/);
      for (const service of ['collector', 'comed-poller', 'simulator']) {
        expect(compose.services[service]?.command?.[0], service).toMatch(/^dist\/.+\.js$/);
      }
    });

    it('runs the collector: healthy by both healthchecks, polling the charger, stopping cleanly on SIGTERM', async () => {
      const simulator = createSimulator({ chargers: 1, scenario: 'idle', firmware: 'new' });
      const [charger] = await simulator.start();
      try {
        expect(cmd).toEqual(['dist/collector/main.js']);
        expect(compose.services.collector?.command).toEqual(cmd);
        const healthPort = await freePort();
        const env = environment('collector', { CHARGERS: `sim=${charger?.host}`, HEALTH_PORT: String(healthPort) });
        const collector = startService([...entrypoint, ...cmd], deployDir, env);
        await waitHealthy(healthcheckArgv(compose.services.collector as ComposeService), deployDir, env, collector);
        await waitHealthy(dockerfileHealthcheck('collector'), deployDir, env, collector);
        // Healthy is not enough: the charger must be read through the image's own code.
        const deadline = Date.now() + 30_000;
        let health: { chargers?: { online: boolean | null; vitalsPolls: number }[] } = {};
        while (Date.now() < deadline) {
          health = (await (await fetch(`http://127.0.0.1:${healthPort}/health`)).json()) as typeof health;
          if (health.chargers?.[0]?.online && (health.chargers[0].vitalsPolls ?? 0) > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        expect(health.chargers?.[0]?.online, collector.output()).toBe(true);
        expect(await stopWithSigterm(collector), collector.output()).toBe(0);
      } finally {
        await simulator.stop();
      }
    }, 120_000);

    it('runs the comed-poller from the same image: healthy once a ComEd price is in Redis, stopping cleanly', async () => {
      const comed = createComedServer();
      const { url } = await comed.start();
      try {
        const command = compose.services['comed-poller']?.command ?? [];
        expect(command).toEqual(['dist/comed-poller/main.js']);
        const healthPort = await freePort();
        const env = environment('comed-poller', {
          COMED_API_URL: url,
          PRICE_BACKFILL_DAYS: '0',
          HEALTH_PORT: String(healthPort),
        });
        const poller = startService([...entrypoint, ...command], deployDir, env);
        await waitHealthy(healthcheckArgv(compose.services['comed-poller'] as ComposeService), deployDir, env, poller);
        // Its /health answers with what it has done: a poll, and the price-clock upgrade (nothing stored yet).
        const health = (await (await fetch(`http://127.0.0.1:${healthPort}/health`)).json()) as {
          status: string;
          polls: number;
          upgrade: { complete: boolean };
        };
        expect(health.status).toBe('ok');
        expect(health.polls).toBeGreaterThan(0);
        expect(await stopWithSigterm(poller), poller.output()).toBe(0);
      } finally {
        await comed.stop();
      }
    }, 120_000);

    it('runs the demo simulator from the same image, answering where its healthcheck looks', async () => {
      const command = compose.services.simulator?.command ?? [];
      expect(command.slice(0, 2)).toEqual(['dist/cli/main.js', 'simulate']);
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      const simulator = startService([...entrypoint, ...command], deployDir, env);
      await waitHealthy(healthcheckArgv(compose.services.simulator as ComposeService), deployDir, env, simulator);
      expect(await stopWithSigterm(simulator), simulator.output()).toBe(0);
    }, 60_000);
  });

  describe('api image', () => {
    let deployDir: string;
    let cmd: string[];

    beforeAll(async () => {
      ({ deployDir, cmd } = await buildLikeDockerfile('api', context));
    }, 300_000);

    it('runs the api on the compiled core and runtime, without the collector: healthy by both healthchecks, stopping cleanly', async () => {
      expect(cmd).toEqual(['node', 'dist/server.js']);
      // Outside the tests @twc/<package>/<module> must resolve to compiled JavaScript in the deployed folder.
      const resolve = (specifier: string) =>
        execFileSync('node', ['--input-type=module', '-e', `console.log(import.meta.resolve('${specifier}'))`], {
          cwd: deployDir,
          encoding: 'utf8',
        }).trim();
      expect(resolve('@twc/core/prices/comed-clock')).toMatch(
        /node_modules\/@twc\/core\/dist\/prices\/comed-clock\.js$/,
      );
      expect(resolve('@twc/runtime/env')).toMatch(/node_modules\/@twc\/runtime\/dist\/env\.js$/);
      // The api image carries neither the collector, the simulator nor the CLI.
      expect(existsSync(join(deployDir, 'node_modules', '@twc', 'collector'))).toBe(false);
      const port = await freePort();
      const env = environment('api', { API_PORT: String(port), API_HOST: '127.0.0.1' });
      const api = startService(cmd, deployDir, env);
      await waitHealthy(healthcheckArgv(compose.services.api as ComposeService), deployDir, env, api);
      await waitHealthy(dockerfileHealthcheck('api'), deployDir, env, api);
      expect(await stopWithSigterm(api), api.output()).toBe(0);
    }, 120_000);

    it('runs the Home Assistant bridge from the same image: healthy once connected to the broker, stopping cleanly', async () => {
      const service = compose.services['homeassistant-bridge'] as ComposeService;
      expect(service.image).toBe(compose.services.api?.image);
      expect(service.command).toEqual(['node', 'dist/homeassistant/main.js']);
      const healthPort = await freePort();
      const env = environment('homeassistant-bridge', {
        MQTT_URL: servers().mqtt.url,
        MQTT_USERNAME: '',
        MQTT_PASSWORD: '',
        HA_TOPIC_ROOT: uniqueTopicRoot('image-bridge'),
        HA_DISCOVERY_PREFIX: uniqueTopicRoot('image-bridge-discovery'),
        HEALTH_PORT: String(healthPort),
      });
      const bridge = startService(service.command ?? [], deployDir, env);
      await waitHealthy(healthcheckArgv(service), deployDir, env, bridge);
      // Healthy means connected to the broker, through the image's own code.
      const health = (await (await fetch(`http://127.0.0.1:${healthPort}/health`)).json()) as Record<string, unknown>;
      expect(health).toMatchObject({ status: 'ok', connected: true, connects: 1, malformedPayloads: 0 });
      expect(await stopWithSigterm(bridge), bridge.output()).toBe(0);
    }, 120_000);
  });
});
