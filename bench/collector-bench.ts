/**
 * Collector benchmark: CPU time, peak RSS and vitals-poll lateness of the
 * real collector process polling 10 and 50 simulated Wall Connectors, against
 * real InfluxDB and Redis, compared with the same process idling.
 *
 *   pnpm bench:collector              full run (about 9 minutes), updates docs/PERFORMANCE.md
 *   pnpm bench:collector --scale 0.2  shorter windows, for trying it out; writes nothing
 *   pnpm bench:collector --image-node also on the Node release the image runs (fetched once); `pnpm bench`
 *   pnpm bench:collector --node <path>   on another node binary (repeatable)
 *   pnpm bench:collector --soak-minutes 30   instead, one long run of 10 chargers per Node:
 *                                             memory over time, in a section of its own
 *
 * (`pnpm bench:collector` is `tsx --conditions=twc-source bench/collector-bench.ts`: the
 * workspace packages' sources, as in the tests.)
 *
 * The collector runs as its own process, so its CPU and memory are read from
 * /proc without the simulator's; the simulated chargers live in this process.
 */
import { spawnSync } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, homedir, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createSimulator, type Simulator } from '@twc/collector/simulator/simulator-server';
import { type LocalServers, SERVICE_SCRIPTS, serviceProcess, startLocalServers, TSX_ARGS } from '@twc/local-stack';
import { freePort, makeTempDir } from '@twc/testenv';
import { imageCommand } from '../tests/deploy/dockerfile.js';
import { buildPackages } from './compiled-packages.js';
import { writeDocSection } from './doc-section.js';
import { type Distribution, distribution, type PollEvent, vitalsPollLateness } from './poll-lateness.js';
import { childPids, clockTicksPerS, type ProcUsage, readProcUsage } from './proc-usage.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const DOC = join(REPO, 'docs', 'PERFORMANCE.md');
const DOC_START = '<!-- collector-bench:start -->';
const DOC_END = '<!-- collector-bench:end -->';
const SOAK_START = '<!-- collector-soak:start -->';
const SOAK_END = '<!-- collector-soak:end -->';
/** Long enough that an idle baseline never polls again after its first round. */
const IDLE_INTERVAL_S = 86_400;
const DEFAULT_CADENCE_S = { vitals: 5, lifetime: 60, version: 300, wifi: 60 };
const RSS_SAMPLE_MS = 1_000;
/**
 * After every charger's first vitals poll: lets start-up work (first lifetime,
 * Wi-Fi, sessions) settle. tsx compiles modules as they are first imported, so
 * it gets longer.
 */
const SETTLE_MS: Record<'compiled' | 'tsx', number> = { compiled: 5_000, tsx: 10_000 };
const TARGET_IDLE_CPU_PERCENT = 1;
/** 80 MB, in the KiB that /proc reports. */
const TARGET_RSS_KB = 80e6 / 1024;
const DOCKERFILE = join(REPO, 'Dockerfile');
/** node and the V8 options the collector image starts every command with. */
const IMAGE_ENTRYPOINT = imageCommand(DOCKERFILE, 'collector').entrypoint;

type Runtime = 'compiled' | 'tsx';

interface NodeBinary {
  path: string;
  /** As `node --version` prints it. */
  version: string;
}

interface ScenarioTemplate {
  id: string;
  runtime: Runtime;
  chargers: number;
  /** Undefined: the idle baseline (one charger, polled once, then nothing for a day). */
  vitalsS?: number;
  windowS: number;
  /** A long run, reported apart: its memory over time. */
  soak?: boolean;
}

/** Every Node given runs the compiled scenarios; tsx (development) runs on this machine's Node only. */
const SCENARIOS: ScenarioTemplate[] = [
  { id: 'idle', runtime: 'compiled', chargers: 1, windowS: 60 },
  { id: '10 @ 5 s', runtime: 'compiled', chargers: 10, vitalsS: 5, windowS: 120 },
  { id: '50 @ 5 s', runtime: 'compiled', chargers: 50, vitalsS: 5, windowS: 60 },
  { id: '10 @ 1 s', runtime: 'compiled', chargers: 10, vitalsS: 1, windowS: 30 },
  { id: '50 @ 1 s', runtime: 'compiled', chargers: 50, vitalsS: 1, windowS: 30 },
  { id: 'idle', runtime: 'tsx', chargers: 1, windowS: 30 },
  { id: '10 @ 5 s', runtime: 'tsx', chargers: 10, vitalsS: 5, windowS: 60 },
];

interface HealthStatus {
  chargers: { name: string; vitalsPolls: number; maxLatenessMs: number }[];
  writer: { writtenLines: number; spooledLines: number; rejectedLines: number };
  redis: { failedCommands: number };
}

type Scenario = ScenarioTemplate & { node: NodeBinary };

interface ScenarioResult {
  scenario: Scenario;
  windowS: number;
  cpuS: number;
  cpuPercent: number;
  peakRssKb: number;
  windowMaxRssKb: number;
  /** The highest RSS sampled in each fifth of the window, in order. */
  rssByFifthKb: number[];
  /** Child processes of the collector (a loader's compiler service, say): their CPU is not in its stat. */
  childProcesses: number;
  /** CPU of this process (the simulated chargers) over the window, for comparison. */
  simulatorCpuPercent: number;
  /** Requests of every endpoint the chargers answered in the window. */
  requests: number;
  vitalsPolls: number;
  expectedVitalsPolls: number;
  lateness: Distribution;
  /** The collector's own worst vitals lateness since it started, over all chargers. */
  collectorMaxLatenessMs: number;
  /** Vitals polls that started more than one interval after they were due. */
  behind: number;
  writtenLines: number;
  spooledLines: number;
  rejectedLines: number;
  redisFailures: number;
  /** The machine's one-minute load average at the end of the window. */
  load: number;
}

/** What the simulated chargers see, recorded through Node's HTTP diagnostics channels. */
interface ChargerTraffic {
  events: PollEvent[];
  requestTimesMs: number[];
}
const traffic = new Map<number, ChargerTraffic>();

function trafficOf(server: Server): ChargerTraffic | undefined {
  const address = server.address() as AddressInfo | null;
  return address ? traffic.get(address.port) : undefined;
}

subscribe('http.server.request.start', (message) => {
  const atMs = performance.now();
  const { request, server } = message as { request: IncomingMessage; server: Server };
  const charger = trafficOf(server);
  if (!charger || !request.url?.startsWith('/api/')) return;
  charger.requestTimesMs.push(atMs);
  if (request.url === '/api/1/vitals') charger.events.push({ kind: 'vitals-arrived', atMs });
});
subscribe('http.server.response.finish', (message) => {
  const atMs = performance.now();
  const { request, server } = message as { request: IncomingMessage; server: Server };
  const charger = trafficOf(server);
  if (!charger) return;
  if (request.url === '/api/1/vitals') charger.events.push({ kind: 'vitals-answered', atMs });
});

async function fetchHealth(port: number): Promise<HealthStatus> {
  const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as HealthStatus;
  if (!response.ok) throw new Error(`/health answered ${response.status}`);
  return body;
}

async function runScenario(
  scenario: Scenario,
  context: { servers: LocalServers; compiledMain: string; workDir: string; ticksPerS: number; scale: number },
): Promise<ScenarioResult> {
  const { servers, ticksPerS } = context;
  const windowMs = Math.round(scenario.windowS * context.scale * 1000);
  const simulator: Simulator = createSimulator({ chargers: scenario.chargers, scenario: 'session', seed: 7 });
  const chargers = await simulator.start();
  traffic.clear();
  for (const charger of chargers) traffic.set(charger.port, { events: [], requestTimesMs: [] });

  const cadence = scenario.vitalsS === undefined ? undefined : { ...DEFAULT_CADENCE_S, vitals: scenario.vitalsS };
  const healthPort = await freePort();
  const label = `${scenario.runtime}-${scenario.node.version}-${scenario.chargers}-${scenario.vitalsS ?? 'idle'}`;
  // The local stack's wiring (servers, token, spool, health port); a folder of its own per scenario.
  const collector = serviceProcess('collector', {
    dir: join(context.workDir, label),
    servers,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      CHARGERS: chargers.map(({ name, host }) => `${name}=${host}`).join(','),
      POLL_VITALS_S: String(cadence?.vitals ?? IDLE_INTERVAL_S),
      POLL_LIFETIME_S: String(cadence?.lifetime ?? IDLE_INTERVAL_S),
      POLL_VERSION_S: String(cadence?.version ?? IDLE_INTERVAL_S),
      POLL_WIFI_S: String(cadence?.wifi ?? IDLE_INTERVAL_S),
      REDIS_KEY_PREFIX: `bench-${label}:`,
      LOG_LEVEL: 'info',
    },
    port: healthPort,
    command: {
      file: scenario.node.path,
      args:
        scenario.runtime === 'compiled'
          ? [...IMAGE_ENTRYPOINT.slice(1), context.compiledMain]
          : [...TSX_ARGS, SERVICE_SCRIPTS.collector],
    },
  });

  let sampler: NodeJS.Timeout | undefined;
  try {
    await collector.restart();
    const pid = collector.pid() as number;
    await collector.waitUntil(async () => {
      const health = await fetchHealth(healthPort);
      return health.chargers.length === chargers.length && health.chargers.every((c) => c.vitalsPolls > 0);
    }, 120_000);
    await sleep(SETTLE_MS[scenario.runtime]);

    const before = await fetchHealth(healthPort);
    const usageBefore = readProcUsage(pid, ticksPerS);
    const simulatorCpuBefore = process.cpuUsage();
    const startMs = performance.now();
    let windowMaxRssKb = usageBefore.rssKb;
    const rssByFifthKb = [0, 0, 0, 0, 0];
    sampler = setInterval(() => {
      const { rssKb } = readProcUsage(pid, ticksPerS);
      windowMaxRssKb = Math.max(windowMaxRssKb, rssKb);
      const fifth = Math.min(4, Math.floor(((performance.now() - startMs) / windowMs) * 5));
      rssByFifthKb[fifth] = Math.max(rssByFifthKb[fifth] ?? 0, rssKb);
    }, RSS_SAMPLE_MS);
    await sleep(windowMs);
    clearInterval(sampler);
    const endMs = performance.now();
    const usageAfter: ProcUsage = readProcUsage(pid, ticksPerS);
    const simulatorCpu = process.cpuUsage(simulatorCpuBefore);
    const after = await fetchHealth(healthPort);
    const children = childPids(pid, ticksPerS).length;

    const elapsedS = (endMs - startMs) / 1000;
    const inWindow = (atMs: number) => atMs >= startMs && atMs < endMs;
    const latenessMs: number[] = [];
    let requests = 0;
    for (const charger of traffic.values()) {
      requests += charger.requestTimesMs.filter(inWindow).length;
      if (scenario.vitalsS === undefined) continue;
      for (const poll of vitalsPollLateness(charger.events, scenario.vitalsS * 1000)) {
        if (inWindow(poll.startMs)) latenessMs.push(poll.latenessMs);
      }
    }
    const cpuS = usageAfter.cpuS - usageBefore.cpuS;
    const intervalMs = scenario.vitalsS === undefined ? Number.POSITIVE_INFINITY : scenario.vitalsS * 1000;
    return {
      scenario,
      windowS: elapsedS,
      cpuS,
      cpuPercent: (cpuS / elapsedS) * 100,
      peakRssKb: usageAfter.peakRssKb,
      windowMaxRssKb: Math.max(windowMaxRssKb, usageAfter.rssKb),
      rssByFifthKb,
      childProcesses: children,
      simulatorCpuPercent: ((simulatorCpu.user + simulatorCpu.system) / 1e6 / elapsedS) * 100,
      requests,
      vitalsPolls: sum(after.chargers.map((c) => c.vitalsPolls)) - sum(before.chargers.map((c) => c.vitalsPolls)),
      expectedVitalsPolls: scenario.vitalsS === undefined ? 0 : (scenario.chargers * elapsedS) / scenario.vitalsS,
      lateness: distribution(latenessMs),
      collectorMaxLatenessMs: Math.max(...after.chargers.map((c) => c.maxLatenessMs)),
      behind: latenessMs.filter((lateness) => lateness > intervalMs).length,
      writtenLines: after.writer.writtenLines - before.writer.writtenLines,
      spooledLines: after.writer.spooledLines,
      rejectedLines: after.writer.rejectedLines,
      redisFailures: after.redis.failedCommands,
      load: loadavg()[0] ?? 0,
    };
  } catch (error) {
    throw new Error(`${runtimeText(scenario)} ${scenario.id}: ${(error as Error).message}\n${collector.tail()}`);
  } finally {
    clearInterval(sampler);
    await collector.stop();
    await simulator.stop();
  }
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

const mib = (kb: number) => (kb / 1024).toFixed(1);
const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

function runtimeText(scenario: Scenario): string {
  return `${scenario.runtime}, Node ${scenario.node.version.replace(/^v/, '')}`;
}

/** The idle run of the same runtime on the same Node. */
function baselineOf(results: ScenarioResult[], scenario: Scenario): ScenarioResult | undefined {
  return results.find((r) => runtimeText(r.scenario) === runtimeText(scenario) && r.scenario.vitalsS === undefined);
}

function cadenceText(scenario: Scenario): string {
  if (scenario.vitalsS === undefined) return 'idle (1 charger, polled once)';
  const { lifetime, version, wifi } = DEFAULT_CADENCE_S;
  return `vitals ${scenario.vitalsS} s, lifetime ${lifetime} s, version ${version} s, wifi ${wifi} s`;
}

function resourceTable(results: ScenarioResult[]): string[] {
  const lines = [
    '| runtime | chargers | cadence | window s | CPU % of one core | × idle | CPU ms per poll | peak RSS MiB (VmHWM) | × idle | max RSS in window MiB | requests | simulator CPU % |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const baseline = baselineOf(results, r.scenario);
    const isBaseline = r === baseline;
    const baselineCpuS = baseline ? (baseline.cpuS / baseline.windowS) * r.windowS : 0;
    // The idle process's own CPU over the same time is taken off, so this is the cost the polling adds.
    const cpuPerRequestMs = r.requests > 0 && !isBaseline ? ((r.cpuS - baselineCpuS) / r.requests) * 1000 : Number.NaN;
    lines.push(
      `| ${runtimeText(r.scenario)} | ${r.scenario.chargers} | ${cadenceText(r.scenario)} | ${fixed(r.windowS, 0)} | ` +
        `${fixed(r.cpuPercent, 2)} | ${baseline && !isBaseline ? fixed(r.cpuPercent / baseline.cpuPercent, 1) : '1'} | ` +
        `${fixed(cpuPerRequestMs, 2)} | ${mib(r.peakRssKb)} | ` +
        `${baseline && !isBaseline ? fixed(r.peakRssKb / baseline.peakRssKb, 2) : '1'} | ${mib(r.windowMaxRssKb)} | ` +
        `${r.requests} | ${fixed(r.simulatorCpuPercent, 2)} |`,
    );
  }
  return lines;
}

function timingTable(results: ScenarioResult[]): string[] {
  const lines = [
    '| runtime | chargers | vitals every | vitals polls (expected) | lateness p50 ms | p99 ms | max ms | collector max ms | behind | points written | spooled | rejected | load |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    if (r.scenario.vitalsS === undefined) continue;
    lines.push(
      `| ${runtimeText(r.scenario)} | ${r.scenario.chargers} | ${r.scenario.vitalsS} s | ${r.vitalsPolls} (${fixed(r.expectedVitalsPolls, 0)}) | ` +
        `${fixed(r.lateness.p50, 1)} | ${fixed(r.lateness.p99, 1)} | ${fixed(r.lateness.max, 1)} | ${r.collectorMaxLatenessMs} | ` +
        `${r.behind} | ${r.writtenLines} | ${r.spooledLines} | ${r.rejectedLines} | ${fixed(r.load, 2)} |`,
    );
  }
  return lines;
}

/** The targets apply to the collector as its image runs it: compiled, on each Node measured. */
function targetLines(results: ScenarioResult[]): string[] {
  const lines: string[] = [];
  const verdict = (ok: boolean) => (ok ? '**met**' : '**missed**');
  const compiled = results.filter((r) => r.scenario.runtime === 'compiled');
  for (const r of compiled.filter(
    (r) => r.scenario.chargers === 10 && r.scenario.vitalsS === DEFAULT_CADENCE_S.vitals,
  )) {
    lines.push(
      `- ${runtimeText(r.scenario)}, 10 chargers at the default cadence, under ${TARGET_IDLE_CPU_PERCENT} % of one core: ` +
        `${fixed(r.cpuPercent, 2)} % ${verdict(r.cpuPercent < TARGET_IDLE_CPU_PERCENT)}; ` +
        `under 80 MB (${mib(TARGET_RSS_KB)} MiB) RSS: peak ${mib(r.peakRssKb)} MiB ${verdict(r.peakRssKb < TARGET_RSS_KB)}`,
    );
  }
  for (const fast of compiled.filter((r) => r.scenario.chargers === 50 && r.scenario.vitalsS === 1)) {
    lines.push(
      `- ${runtimeText(fast.scenario)}, 50 chargers with vitals every 1 s, no poll behind its schedule (started more than one interval late): ` +
        `${fast.behind} behind, worst ${fixed(fast.lateness.max, 1)} ms seen by the chargers, ` +
        `${fast.collectorMaxLatenessMs} ms by the collector ${verdict(fast.behind === 0 && fast.collectorMaxLatenessMs <= 1000)}`,
    );
  }
  return lines;
}

function report(results: ScenarioResult[], scale: number, loadBefore: number): string {
  const cpu = cpus();
  const warnings = results.filter((r) => r.spooledLines > 0 || r.rejectedLines > 0 || r.redisFailures > 0);
  const withChildren = results.filter((r) => r.childProcesses > 0);
  return [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ` +
      `Linux ${release()}, load average ${loadBefore.toFixed(2)} at the start` +
      `${scale === 1 ? '' : `, windows scaled by ${scale}`}.`,
    '',
    `The compiled collector ran as its image starts it: \`${IMAGE_ENTRYPOINT.join(' ')} dist/collector/main.js\`; tsx as \`node --import tsx\` (development).`,
    '',
    ...resourceTable(results),
    '',
    ...timingTable(results),
    '',
    ...targetLines(results),
    ...(warnings.length > 0
      ? ['', `- warning: points spooled or rejected, or Redis commands failed, in ${warnings.length} scenario(s)`]
      : []),
    ...(withChildren.length > 0
      ? ['', `- warning: the collector had child processes (not counted) in ${withChildren.length} scenario(s)`]
      : []),
  ].join('\n');
}

function soakReport(results: ScenarioResult[], scale: number, loadBefore: number): string {
  const cpu = cpus();
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ` +
      `Linux ${release()}, load average ${loadBefore.toFixed(2)} at the start` +
      `${scale === 1 ? '' : `, windows scaled by ${scale}`}; \`${IMAGE_ENTRYPOINT.join(' ')} dist/collector/main.js\`.`,
    '',
    '| runtime | chargers | cadence | minutes | CPU % of one core | max RSS MiB in each fifth of the run | last fifth × first | points written | spooled |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const [first = 0] = r.rssByFifthKb;
    const last = r.rssByFifthKb.at(-1) ?? 0;
    lines.push(
      `| ${runtimeText(r.scenario)} | ${r.scenario.chargers} | ${cadenceText(r.scenario)} | ${fixed(r.windowS / 60, 0)} | ` +
        `${fixed(r.cpuPercent, 2)} | ${r.rssByFifthKb.map(mib).join(', ')} | ${first > 0 ? fixed(last / first, 2) : '-'} | ` +
        `${r.writtenLines} | ${r.spooledLines} |`,
    );
  }
  return lines.join('\n');
}

function nodeBinary(path: string): NodeBinary {
  const result = spawnSync(path, ['--version'], { encoding: 'utf8' });
  const version = result.stdout?.trim() ?? '';
  if (result.status !== 0 || !/^v\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(`--node ${path} is not a working node binary: ${result.error?.message ?? result.stderr}`);
  }
  return { path, version };
}

/**
 * The Node release the collector image runs (its NODE_IMAGE), for this
 * machine's architecture, cached under ~/.cache. Fetched from the npm
 * registry, where the `node-linux-<arch>` packages repackage Node's release
 * binaries.
 */
function imageNode(): string {
  const version = /^ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)-/m.exec(readFileSync(DOCKERFILE, 'utf8'))?.[1];
  if (!version) throw new Error(`${DOCKERFILE}: no ARG NODE_IMAGE=node:<version>-... line`);
  const dir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'twc-dashboard', 'node', `v${version}`);
  const node = join(dir, 'bin', 'node');
  if (existsSync(node)) return node;
  const pkg = `node-linux-${process.arch}@${version}`;
  console.error(`fetching Node ${version} (${pkg}) ...`);
  // Unpacked beside its final place, so the rename stays on one file system.
  mkdirSync(dirname(dir), { recursive: true });
  const download = mkdtempSync(join(dirname(dir), '.download-'));
  try {
    const pack = spawnSync('npm', ['pack', pkg, '--silent', '--pack-destination', download], { encoding: 'utf8' });
    const tarball = pack.stdout.trim().split('\n').at(-1) ?? '';
    if (pack.status !== 0 || !tarball) throw new Error(`npm pack ${pkg} failed: ${pack.stderr}`);
    const untar = spawnSync('tar', ['-xzf', join(download, tarball), '-C', download], { encoding: 'utf8' });
    if (untar.status !== 0) throw new Error(`unpacking ${tarball} failed: ${untar.stderr}`);
    renameSync(join(download, 'package'), dir);
  } finally {
    rmSync(download, { recursive: true, force: true });
  }
  return node;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: '1' },
      'no-write': { type: 'boolean', default: false },
      // Each a node binary that runs the compiled scenarios; this process's own when none is given.
      node: { type: 'string', multiple: true },
      // Adds the Node release the collector image runs.
      'image-node': { type: 'boolean', default: false },
      // Instead of the scenarios: one run of this many minutes per Node, for memory over time.
      'soak-minutes': { type: 'string' },
    },
  });
  const scale = Number(values.scale);
  if (!(scale > 0)) throw new Error(`--scale must be a positive number, got ${values.scale}`);
  const write = scale === 1 && !values['no-write'];
  const thisNode: NodeBinary = { path: process.execPath, version: process.version };
  const nodePaths = [...(values.node ?? [process.execPath]), ...(values['image-node'] ? [imageNode()] : [])];
  const nodes = [...new Map(nodePaths.map(nodeBinary).map((node) => [node.version, node])).values()];
  const soakMinutes = values['soak-minutes'] === undefined ? undefined : Number(values['soak-minutes']);
  if (soakMinutes !== undefined && !(soakMinutes > 0)) {
    throw new Error(`--soak-minutes must be a positive number, got ${values['soak-minutes']}`);
  }
  const soak: ScenarioTemplate | undefined =
    soakMinutes === undefined
      ? undefined
      : {
          id: 'soak',
          runtime: 'compiled',
          chargers: 10,
          vitalsS: DEFAULT_CADENCE_S.vitals,
          windowS: soakMinutes * 60,
          soak: true,
        };
  const scenarios: Scenario[] = soak
    ? nodes.map((node) => ({ ...soak, node }))
    : [
        ...nodes.flatMap((node) => SCENARIOS.filter((s) => s.runtime === 'compiled').map((s) => ({ ...s, node }))),
        ...SCENARIOS.filter((s) => s.runtime === 'tsx').map((s) => ({ ...s, node: thisNode })),
      ];
  const ticksPerS = clockTicksPerS();
  // Other work on the machine shows up as lateness and, a little, as CPU: the figure goes into the report.
  const loadBefore = loadavg()[0] ?? 0;
  const workDir = makeTempDir('bench');
  let servers: LocalServers | undefined;
  // Ctrl-C: exit through 'exit', where testenv kills the servers and the collector it started.
  process.once('SIGINT', () => process.exit(130));
  process.once('exit', () => {
    rmSync(workDir, { recursive: true, force: true });
  });
  try {
    console.error('building core, runtime and the collector with tsc ...');
    const built = buildPackages(join(workDir, 'build'), ['core', 'runtime', 'collector']);
    const compiledMain = join(built.collector, 'dist', 'collector', 'main.js');
    console.error('starting InfluxDB, Redis and Mosquitto ...');
    // Buckets only: InfluxDB's downsampling tasks would add their work to the machine's load.
    servers = await startLocalServers(join(workDir, 'stack'), { setup: 'buckets', env: {} });
    const results: ScenarioResult[] = [];
    for (const scenario of scenarios) {
      console.error(`${runtimeText(scenario)}: ${scenario.chargers} charger(s), ${cadenceText(scenario)} ...`);
      results.push(await runScenario(scenario, { servers, compiledMain, workDir, ticksPerS, scale }));
    }
    const markdown = soak ? soakReport(results, scale, loadBefore) : report(results, scale, loadBefore);
    process.stdout.write(`${markdown}\n`);
    if (write) {
      const [start, end] = soak ? [SOAK_START, SOAK_END] : [DOC_START, DOC_END];
      writeDocSection(DOC, start, end, markdown);
      console.error(`wrote ${DOC}`);
    }
  } finally {
    await servers?.stop(false);
  }
}

await main();
