/**
 * API benchmark: throughput and latency of GET /api/v1/chargers/{id}/status
 * served from Redis, against a bare Fastify route measured in the same run,
 * and the delay from a Redis publish to 100 WebSocket clients.
 *
 *   pnpm bench:api              full run (about 4 minutes), updates docs/PERFORMANCE.md
 *   pnpm bench:api --scale 0.2  shorter windows, for trying it out; writes nothing
 *   --compiled-only             skips the tsx runs; writes nothing
 *   --cpu-prof-dir <dir>        CPU profiles of the servers (node --cpu-prof); writes nothing
 *
 * (`pnpm bench:api` is `tsx --conditions=twc-source bench/api-bench.ts`.)
 *
 * The API and the bare app run as their own processes, one at a time; the
 * load generator and the WebSocket clients live in this process.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRedisLiveState, type LiveState } from '@twc/collector/collector/redis-live-state';
import { vitalsSchema } from '@twc/core/charger/models';
import { normalizeVitals } from '@twc/core/charger/normalize';
import type { ChargerStatus, LiveVitals } from '@twc/core/contracts/redis';
import {
  httpOk,
  type LocalServers,
  nodeProcess,
  type ProcessHandle,
  SERVICE_SCRIPTS,
  serviceProcess,
  startLocalServers,
  TSX_ARGS,
} from '@twc/local-stack';
import { silentLogger } from '@twc/runtime/logger';
import { freePort, makeTempDir } from '@twc/testenv';
import { type LiveDelayResult, measureLiveDelay } from './api-live.js';
import { combine, fixedRate, type LoadResult, maxThroughput } from './api-load.js';
import { buildPackages, tsc } from './compiled-packages.js';
import { writeDocSection } from './doc-section.js';
import { clockTicksPerS, readProcUsage } from './proc-usage.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const DOC = join(REPO, 'docs', 'PERFORMANCE.md');
const DOC_START = '<!-- api-bench:start -->';
const DOC_END = '<!-- api-bench:end -->';
const KEY_PREFIX = 'bench:';
const CHARGER_ID = 'ACB12345678901';
const STATUS_PATH = `/api/v1/chargers/${CHARGER_ID}/status`;
/** Closed loop: enough requests in flight to keep a single-threaded server busy on loopback. */
const MAX_CONNECTIONS = 16;
const FIXED_RATE_PER_S = 1_000;
/** Open loop: more connections than 1,000 rps at a few ms ever needs, so the pool never queues for long. */
const FIXED_CONNECTIONS = 32;
/** Closed- and open-loop windows are each split in this many, alternating between the bare route and the API. */
const ROUNDS = 3;
const WS_CLIENTS = 100;
const WS_RATE_PER_S = 20;
const WINDOW_MS = { warmUp: 5_000, max: 15_000, fixed: 20_000, live: 30_000 };
const TARGET_THROUGHPUT_RATIO = 0.5;
const TARGET_P99_MS = 10;
const TARGET_LIVE_P99_MS = 50;
/** This process is single-threaded: near one core, the load it generates is its own limit. */
const GENERATOR_BOUND_PERCENT = 85;

type Runtime = 'compiled' | 'tsx';
type ServerKind = 'bare Fastify' | 'API';

interface Build {
  apiServer: string;
  bareServer: string;
}

interface HttpResult {
  kind: ServerKind;
  runtime: Runtime;
  max: LoadResult;
  fixed: LoadResult;
  /** CPU % of one core over the closed-loop window: the server, Redis, this process (the load generator). */
  maxCpu: CpuShare;
  fixedCpu: CpuShare;
  /** Bytes of the answer body. */
  bodyBytes: number;
  loadAfter: number;
}

interface CpuShare {
  server: number;
  redis: number;
  generator: number;
}

interface LiveResult {
  runtime: Runtime;
  live: LiveDelayResult;
  serverCpu: number;
  redisFailures: number;
  loadAfter: number;
}

/** The split-phase charging sample from the Wall Connector reference, as the collector normalizes it. */
const RAW_VITALS = {
  contactor_closed: true,
  vehicle_connected: true,
  session_s: 74868,
  grid_v: 238.5,
  grid_hz: 59.918,
  vehicle_current_a: 30.8,
  currentA_a: 11.4,
  currentB_a: 13.1,
  currentC_a: 12.7,
  currentN_a: 11.8,
  voltageA_v: 242.6,
  voltageB_v: 242.7,
  voltageC_v: 119.2,
  relay_coil_v: 6.1,
  pcba_temp_c: 17.9,
  handle_temp_c: 15.5,
  mcu_temp_c: 22.8,
  uptime_s: 1292309,
  input_thermopile_uv: -258,
  prox_v: 1.5,
  pilot_high_v: 0,
  pilot_low_v: -0,
  session_energy_wh: 683.8,
  config_status: 5,
  evse_state: 11,
  current_alerts: [],
};

function liveSample(time: string): LiveVitals {
  return {
    charger_id: CHARGER_ID,
    charger_name: 'garage',
    time,
    vitals: normalizeVitals(vitalsSchema.parse(RAW_VITALS)),
  };
}

function chargerStatus(time: string): ChargerStatus {
  return {
    charger_id: CHARGER_ID,
    charger_name: 'garage',
    host: '192.168.1.50',
    serial_number: CHARGER_ID,
    firmware_version: '24.44.1+g7ab0d3c1e2f3a4',
    part_number: '1529455-02-D',
    online: true,
    consecutive_failures: 0,
    last_error: null,
    last_seen: time,
    updated: time,
  };
}

/**
 * The API as its image runs it: core, runtime and the API compiled by tsc,
 * plain node, `@twc/core/<module>` and `@twc/runtime/<module>` resolved to
 * the compiled copies through their package.json exports (compiled-packages.ts).
 * The bare app is compiled the same way, so both sides of the ratio run plain
 * JavaScript.
 */
function build(dir: string): Build {
  const built = buildPackages(dir, ['core', 'runtime', 'api']);
  const bareDir = join(dir, 'bare');
  const bare = tsc([
    join(REPO, 'bench', 'api-bare-server.ts'),
    ...['--outDir', bareDir, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023'],
    ...['--types', 'node', '--skipLibCheck', '--strict'],
  ]);
  const bareServer = join(bareDir, 'api-bare-server.js');
  if (!existsSync(bareServer)) throw new Error(`tsc did not build the bare app:\n${bare.output}`);
  if (!bare.ok)
    console.error(`warning: tsc reported errors while building the bare app:\n${bare.output.slice(0, 2000)}`);
  writeFileSync(join(bareDir, 'package.json'), '{ "type": "module" }\n');
  return { apiServer: join(built.api, 'dist', 'server.js'), bareServer };
}

interface Started {
  process: ProcessHandle;
  origin: string;
  port: number;
}

async function startServer(
  kind: ServerKind,
  runtime: Runtime,
  context: { servers: LocalServers; build: Build; workDir: string; cpuProfDir?: string; bareBody?: string },
): Promise<Started> {
  const port = await freePort();
  const base = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' };
  const label = `${kind === 'API' ? 'api' : 'bare'}-${runtime}`;
  // Written when the process exits; open the .cpuprofile in Chrome DevTools (Performance).
  const profile = context.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${context.cpuProfDir}`] : [];
  const origin = `http://127.0.0.1:${port}`;
  let started: ProcessHandle;
  if (kind === 'API') {
    // The local stack's wiring: the servers, the port, the reports folder.
    started = serviceProcess('api', {
      dir: join(context.workDir, label),
      servers: context.servers,
      env: {
        ...base,
        API_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        REDIS_KEY_PREFIX: KEY_PREFIX,
        AUTH_MODE: 'none',
        RATE_LIMIT_ENABLED: 'false',
        REPORTS_ENABLED: 'false',
      },
      port,
      command: {
        file: process.execPath,
        args:
          runtime === 'compiled'
            ? [...profile, context.build.apiServer]
            : [...profile, ...TSX_ARGS, SERVICE_SCRIPTS.api],
      },
    });
  } else {
    started = nodeProcess({
      name: `${kind} (${runtime})`,
      logFile: join(context.workDir, `${label}.log`),
      command: {
        file: process.execPath,
        args:
          runtime === 'compiled'
            ? [...profile, context.build.bareServer]
            : [...profile, ...TSX_ARGS, join('bench', 'api-bare-server.ts')],
      },
      env: {
        ...base,
        BARE_PORT: String(port),
        BARE_BODY: context.bareBody ?? '{}',
        BARE_FASTIFY_FROM: join(REPO, 'api', 'package.json'),
      },
      ready: () => httpOk(`${origin}/health`),
    });
  }
  await started.restart();
  return { process: started, origin, port };
}

async function statusBody(origin: string): Promise<string> {
  const response = await fetch(`${origin}${STATUS_PATH}`);
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${STATUS_PATH} answered ${response.status}: ${text}`);
  const source = (JSON.parse(text) as { source?: string }).source;
  // From InfluxDB it would measure a different path: the seed must be in Redis.
  if (source !== 'live') throw new Error(`GET ${STATUS_PATH} answered from ${source}, not from Redis`);
  return text;
}

/** CPU seconds of the server, Redis and this process, and the wall time, while `work` runs. */
async function withCpu<T>(
  pids: { server: number; redis: number },
  ticksPerS: number,
  work: () => Promise<T>,
): Promise<{ result: T; cpuS: CpuShare; elapsedS: number }> {
  const serverBefore = readProcUsage(pids.server, ticksPerS).cpuS;
  const redisBefore = readProcUsage(pids.redis, ticksPerS).cpuS;
  const selfBefore = process.cpuUsage();
  const startMs = performance.now();
  const result = await work();
  const elapsedS = (performance.now() - startMs) / 1000;
  const self = process.cpuUsage(selfBefore);
  return {
    result,
    cpuS: {
      server: readProcUsage(pids.server, ticksPerS).cpuS - serverBefore,
      redis: readProcUsage(pids.redis, ticksPerS).cpuS - redisBefore,
      generator: (self.user + self.system) / 1e6,
    },
    elapsedS,
  };
}

/** Windows of one kind against one server: CPU seconds over their total time, as % of one core. */
class Windows {
  readonly results: LoadResult[] = [];
  private readonly cpuS: CpuShare = { server: 0, redis: 0, generator: 0 };
  private elapsedS = 0;

  add(window: { result: LoadResult; cpuS: CpuShare; elapsedS: number }): void {
    this.results.push(window.result);
    this.cpuS.server += window.cpuS.server;
    this.cpuS.redis += window.cpuS.redis;
    this.cpuS.generator += window.cpuS.generator;
    this.elapsedS += window.elapsedS;
  }

  cpuPercent(): CpuShare {
    const percent = (cpuS: number) => (cpuS / this.elapsedS) * 100;
    return {
      server: percent(this.cpuS.server),
      redis: percent(this.cpuS.redis),
      generator: percent(this.cpuS.generator),
    };
  }
}

/**
 * The bare route and the API, both running, measured in alternating windows
 * (bare, API, bare, API, ...): whatever else the machine does in the
 * meantime falls on both alike, so their ratio holds even when the absolute
 * figures drift.
 */
async function measurePair(
  runtime: Runtime,
  servers: Record<ServerKind, Started>,
  context: { redisPid: number; ticksPerS: number; scale: number },
): Promise<HttpResult[]> {
  const kinds: ServerKind[] = ['bare Fastify', 'API'];
  const scaled = (ms: number) => Math.round((ms * context.scale) / ROUNDS);
  const target = (kind: ServerKind) => ({ origin: servers[kind].origin, path: STATUS_PATH });
  const pids = (kind: ServerKind) => ({ server: servers[kind].process.pid() as number, redis: context.redisPid });
  const closed = { 'bare Fastify': new Windows(), API: new Windows() };
  const open = { 'bare Fastify': new Windows(), API: new Windows() };
  // Lets V8 optimize the request path (and tsx finish loading) before anything is counted.
  for (const kind of kinds) {
    await maxThroughput({
      ...target(kind),
      connections: MAX_CONNECTIONS,
      durationMs: Math.round(WINDOW_MS.warmUp * context.scale),
    });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of kinds) {
      closed[kind].add(
        await withCpu(pids(kind), context.ticksPerS, () =>
          maxThroughput({ ...target(kind), connections: MAX_CONNECTIONS, durationMs: scaled(WINDOW_MS.max) }),
        ),
      );
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of kinds) {
      await sleep(500);
      open[kind].add(
        await withCpu(pids(kind), context.ticksPerS, () =>
          fixedRate({
            ...target(kind),
            connections: FIXED_CONNECTIONS,
            ratePerS: FIXED_RATE_PER_S,
            durationMs: scaled(WINDOW_MS.fixed),
          }),
        ),
      );
    }
  }
  const results: HttpResult[] = [];
  for (const kind of kinds) {
    const body = await (await fetch(`${servers[kind].origin}${STATUS_PATH}`)).arrayBuffer();
    results.push({
      kind,
      runtime,
      max: combine(closed[kind].results),
      fixed: combine(open[kind].results),
      maxCpu: closed[kind].cpuPercent(),
      fixedCpu: open[kind].cpuPercent(),
      bodyBytes: body.byteLength,
      loadAfter: loadavg()[0] ?? 0,
    });
  }
  return results;
}

async function measureLive(
  runtime: Runtime,
  started: Started,
  live: LiveState,
  context: { ticksPerS: number; scale: number },
): Promise<LiveResult> {
  const failuresBefore = live.stats().failedCommands;
  const pid = started.process.pid() as number;
  const cpuBefore = readProcUsage(pid, context.ticksPerS).cpuS;
  const startMs = performance.now();
  const result = await measureLiveDelay({
    url: `ws://127.0.0.1:${started.port}/ws/live`,
    clients: WS_CLIENTS,
    live,
    sample: liveSample(new Date().toISOString()),
    ratePerS: WS_RATE_PER_S,
    durationMs: Math.round(WINDOW_MS.live * context.scale),
  });
  const elapsedS = (performance.now() - startMs) / 1000;
  return {
    runtime,
    live: result,
    serverCpu: ((readProcUsage(pid, context.ticksPerS).cpuS - cpuBefore) / elapsedS) * 100,
    redisFailures: live.stats().failedCommands - failuresBefore,
    loadAfter: loadavg()[0] ?? 0,
  };
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const verdict = (ok: boolean) => (ok ? '**met**' : '**missed**');

function cpuPerRequestUs(result: HttpResult): number {
  return (result.maxCpu.server / 100 / result.max.answeredPerS) * 1e6;
}

/** The bare route's run under the same runtime: the ratio's denominator. */
function bareOf(results: HttpResult[], runtime: Runtime): HttpResult | undefined {
  return results.find((r) => r.kind === 'bare Fastify' && r.runtime === runtime);
}

function httpTable(results: HttpResult[]): string[] {
  const lines = [
    `| server | runtime | body bytes | closed loop: req/s | × bare | p50 ms | p99 ms | CPU % server / Redis / generator | server CPU µs per request | ${FIXED_RATE_PER_S} req/s: answered/s | p50 ms | p99 ms | max ms | send lag p99 ms | CPU % server / Redis / generator | failed | load |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const cpuText = (cpu: CpuShare) => `${fixed(cpu.server, 0)} / ${fixed(cpu.redis, 0)} / ${fixed(cpu.generator, 0)}`;
  for (const r of results) {
    const bare = bareOf(results, r.runtime);
    lines.push(
      `| ${r.kind} | ${r.runtime} | ${r.bodyBytes} | ${fixed(r.max.answeredPerS, 0)} | ` +
        `${r === bare || !bare ? '1' : fixed(r.max.answeredPerS / bare.max.answeredPerS, 2)} | ` +
        `${fixed(r.max.latencyMs.p50, 2)} | ${fixed(r.max.latencyMs.p99, 2)} | ${cpuText(r.maxCpu)} | ` +
        `${fixed(cpuPerRequestUs(r), 0)} | ` +
        `${fixed(r.fixed.answeredPerS, 0)} | ${fixed(r.fixed.latencyMs.p50, 2)} | ${fixed(r.fixed.latencyMs.p99, 2)} | ` +
        `${fixed(r.fixed.latencyMs.max, 1)} | ${fixed(r.fixed.sendLagMs?.p99 ?? Number.NaN, 2)} | ${cpuText(r.fixedCpu)} | ` +
        `${r.max.failed + r.fixed.failed} | ${fixed(r.loadAfter, 2)} |`,
    );
  }
  return lines;
}

function liveTable(results: LiveResult[]): string[] {
  const lines = [
    '| runtime | clients | publishes (per s) | received (expected) | delay p50 ms | p99 ms | max ms | API CPU % | Redis failures | load |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const { live } = r;
    lines.push(
      `| ${r.runtime} | ${live.clients} | ${live.published} (${fixed(live.publishedPerS, 1)}) | ${live.received} (${live.expected}) | ` +
        `${fixed(live.delayMs.p50, 2)} | ${fixed(live.delayMs.p99, 2)} | ${fixed(live.delayMs.max, 1)} | ` +
        `${fixed(r.serverCpu, 1)} | ${r.redisFailures} | ${fixed(r.loadAfter, 2)} |`,
    );
  }
  return lines;
}

function targetLines(http: HttpResult[], live: LiveResult[]): string[] {
  const lines: string[] = [];
  for (const r of http) {
    if (r.kind !== 'API') continue;
    const bare = bareOf(http, r.runtime);
    const ratio = bare ? r.max.answeredPerS / bare.max.answeredPerS : Number.NaN;
    const atRate = r.fixed.answeredPerS >= FIXED_RATE_PER_S * 0.95;
    // With the server not always on a full core (a busy machine), CPU per request is the steadier comparison.
    const cpuRatio = bare ? cpuPerRequestUs(bare) / cpuPerRequestUs(r) : Number.NaN;
    lines.push(
      `- ${r.runtime}, at least ${TARGET_THROUGHPUT_RATIO} × the bare route's throughput: ${fixed(ratio, 2)} × ` +
        `(by server CPU per request: ${fixed(cpuRatio, 2)} ×) ` +
        `${verdict(ratio >= TARGET_THROUGHPUT_RATIO)}; p99 under ${TARGET_P99_MS} ms at ${FIXED_RATE_PER_S} req/s: ` +
        `${fixed(r.fixed.latencyMs.p99, 2)} ms ${verdict(atRate && r.fixed.latencyMs.p99 < TARGET_P99_MS && r.fixed.failed === 0)}`,
    );
  }
  for (const r of live) {
    const complete = r.live.received === r.live.expected;
    lines.push(
      `- ${r.runtime}, publish to ${r.live.clients} WebSocket clients, p99 under ${TARGET_LIVE_P99_MS} ms: ` +
        `${fixed(r.live.delayMs.p99, 2)} ms${complete ? '' : `, ${r.live.expected - r.live.received} messages missing`} ` +
        `${verdict(complete && r.live.delayMs.p99 < TARGET_LIVE_P99_MS)}`,
    );
  }
  for (const r of http) {
    if (r.kind !== 'bare Fastify' || r.maxCpu.generator < GENERATOR_BOUND_PERCENT) continue;
    lines.push(
      `- note: the load generator used ${fixed(r.maxCpu.generator, 0)} % of a core against the bare route (${r.runtime}), ` +
        "so that figure is partly the generator's limit: the bare route can do more, and the ratio reads high",
    );
  }
  const failures = http.filter((r) => r.max.failed + r.fixed.failed > 0);
  for (const r of failures) {
    lines.push(
      `- warning: ${r.kind} (${r.runtime}) failed ${r.max.failed + r.fixed.failed} requests, first: ${r.max.firstFailure ?? r.fixed.firstFailure}`,
    );
  }
  return lines;
}

function report(http: HttpResult[], live: LiveResult[], scale: number, loadBefore: number): string {
  const cpu = cpus();
  return [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ` +
      `Linux ${release()}, Node ${process.version}, load average ${loadBefore.toFixed(2)} at the start` +
      `${scale === 1 ? '' : `, windows scaled by ${scale}`}. Rerun with \`pnpm bench:api\`.`,
    '',
    `\`GET ${STATUS_PATH.replace(CHARGER_ID, '{id}')}\` served from Redis, against the bare route, both running, ` +
      `measured in turns (${ROUNDS} windows each, alternating): closed loop with ${MAX_CONNECTIONS} connections for ` +
      `${fixed((WINDOW_MS.max * scale) / 1000, 0)} s in all, then ${FIXED_RATE_PER_S} requests per second on a fixed ` +
      `schedule (${FIXED_CONNECTIONS} connections) for ${fixed((WINDOW_MS.fixed * scale) / 1000, 0)} s in all, after ` +
      `${fixed((WINDOW_MS.warmUp * scale) / 1000, 0)} s of warm-up each. CPU is % of one core over the windows; ` +
      '"load" is the one-minute load average after them:',
    '',
    ...httpTable(http),
    '',
    `Redis publish to WebSocket clients (\`/ws/live\`, every charger), ${WS_RATE_PER_S} vitals publishes per second ` +
      `for ${fixed((WINDOW_MS.live * scale) / 1000, 0)} s:`,
    '',
    ...liveTable(live),
    '',
    ...targetLines(http, live),
  ].join('\n');
}

function writeDoc(markdown: string): void {
  writeDocSection(DOC, DOC_START, DOC_END, markdown);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: '1' },
      'no-write': { type: 'boolean', default: false },
      'compiled-only': { type: 'boolean', default: false },
      'cpu-prof-dir': { type: 'string' },
    },
  });
  const scale = Number(values.scale);
  if (!(scale > 0)) throw new Error(`--scale must be a positive number, got ${values.scale}`);
  const runtimes: Runtime[] = values['compiled-only'] ? ['compiled'] : ['compiled', 'tsx'];
  const cpuProfDir = values['cpu-prof-dir'] === undefined ? undefined : resolve(values['cpu-prof-dir']);
  // A profiled run is slower than a plain one: its figures are not the ones to publish.
  const write = scale === 1 && !values['no-write'] && runtimes.length === 2 && cpuProfDir === undefined;
  const ticksPerS = clockTicksPerS();
  const loadBefore = loadavg()[0] ?? 0;
  const workDir = makeTempDir('api-bench');
  let servers: LocalServers | undefined;
  let live: LiveState | undefined;
  const running: ProcessHandle[] = [];
  // Ctrl-C: exit through 'exit', where testenv kills the servers and processes it started.
  process.once('SIGINT', () => process.exit(130));
  process.once('exit', () => {
    rmSync(workDir, { recursive: true, force: true });
  });
  const stopAll = async () => {
    for (const managed of running.splice(0)) await managed.stop();
  };
  try {
    console.error('building core, runtime, the API and the bare app with tsc ...');
    const built = build(join(workDir, 'build'));
    console.error('starting InfluxDB, Redis and Mosquitto ...');
    // Buckets only: InfluxDB's downsampling tasks would add their work to the machine's load.
    servers = await startLocalServers(join(workDir, 'stack'), { setup: 'buckets', env: {} });
    const redis = servers.servers.redis;
    const redisPid = redis.process.pid as number;

    // The collector's own adapter writes what the route reads.
    live = createRedisLiveState({ url: redis.url, keyPrefix: KEY_PREFIX, logger: silentLogger() });
    if (!(await live.ready(10_000))) throw new Error('Redis not reachable for seeding');
    const seededAt = new Date().toISOString();
    live.publishStatus(chargerStatus(seededAt));
    live.publishVitals(liveSample(seededAt));

    const context = { servers, build: built, workDir, cpuProfDir };
    const measureContext = { redisPid, ticksPerS, scale };
    // The bare route answers the API's own body, so both send the same bytes.
    console.error('reading the status answer for the bare route ...');
    const probe = await startServer('API', 'compiled', context);
    running.push(probe.process);
    const bareBody = await statusBody(probe.origin);
    await stopAll();

    const http: HttpResult[] = [];
    const liveResults: LiveResult[] = [];
    for (const runtime of runtimes) {
      console.error(`bare Fastify and API (${runtime}) ...`);
      const bare = await startServer('bare Fastify', runtime, { ...context, bareBody });
      running.push(bare.process);
      const api = await startServer('API', runtime, context);
      running.push(api.process);
      await statusBody(api.origin);
      // As in production, the collector publishes every charger's vitals every few seconds.
      const collectorCadence = setInterval(() => live?.publishVitals(liveSample(seededAt)), 5000);
      live.publishVitals(liveSample(seededAt));
      try {
        http.push(...(await measurePair(runtime, { 'bare Fastify': bare, API: api }, measureContext)));
      } finally {
        clearInterval(collectorCadence);
      }
      console.error(`API (${runtime}): WebSocket delay ...`);
      liveResults.push(await measureLive(runtime, api, live, { ticksPerS, scale }));
      await stopAll();
    }

    const markdown = report(http, liveResults, scale, loadBefore);
    process.stdout.write(`${markdown}\n`);
    if (write) {
      writeDoc(markdown);
      console.error(`wrote ${DOC}`);
    }
  } finally {
    await stopAll();
    await live?.stop();
    await servers?.stop(false);
  }
}

await main();
