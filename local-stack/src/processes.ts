/**
 * The processes of a local stack, each behind one handle: started with its
 * output in a log file of its own, waited for until it is ready, stopped with
 * SIGTERM (so a service flushes what it buffered), or killed with SIGKILL and
 * started again on the same port and data, as the end-to-end suite does.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ManagedProcess } from '@twc/testenv';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** How our TypeScript runs outside an image: the workspace packages' sources, through tsx. */
export const TSX_ARGS = ['--import', 'tsx', '--conditions=twc-source'];

/** Time a service gets to flush and exit on SIGTERM before it is killed. */
const SERVICE_STOP_GRACE_MS = 15_000;

export interface ProcessHandle {
  name: string;
  logFile: string;
  pid(): number | undefined;
  running(): boolean;
  /** Starts it, the first time or again after kill() or stop(), and waits until it is ready. */
  restart(): Promise<void>;
  /** SIGKILL: no flush, no clean-up. */
  kill(): Promise<void>;
  /** SIGTERM, waiting for the process to exit (SIGKILL after a grace period). */
  stop(): Promise<void>;
  /** The last lines of its log. */
  tail(lines?: number): string;
  /** Polls `probe` until it holds; fails early if the process exits. */
  waitUntil(probe: () => Promise<boolean>, timeoutMs: number): Promise<void>;
}

export interface NodeProcessOptions {
  name: string;
  logFile: string;
  /** The node binary and its arguments; default this node, through tsx, on `script`. */
  command?: { file: string; args: string[] };
  /** A script under the repository, run through tsx when `command` is not given. */
  script?: string[];
  env: NodeJS.ProcessEnv;
  /** Ready once this holds; given the log's size when the start began, so it reads only the new lines. */
  ready: (logOffset: number) => Promise<boolean>;
  readyTimeoutMs?: number;
  stopGraceMs?: number;
  /** Folders made before each start, besides the log's. */
  dirs?: string[];
}

/** A Node process of ours: a service, the simulator or the ComEd stand-in. */
export function nodeProcess(options: NodeProcessOptions): ProcessHandle {
  const { name, logFile } = options;
  const command = options.command ?? { file: process.execPath, args: [...TSX_ARGS, ...(options.script ?? [])] };
  const proc = new ManagedProcess({
    name,
    command: command.file,
    args: command.args,
    logFile,
    cwd: REPO_ROOT,
    env: withoutUnset(options.env),
  });
  return {
    name,
    logFile,
    pid: () => proc.pid,
    running: () => proc.running,
    async restart() {
      for (const dir of [dirname(logFile), ...(options.dirs ?? [])]) mkdirSync(dir, { recursive: true });
      const offset = logSize(logFile);
      proc.start();
      await proc.waitUntil(() => options.ready(offset), options.readyTimeoutMs ?? 60_000);
    },
    kill: () => proc.kill(),
    stop: () => proc.stop(options.stopGraceMs ?? SERVICE_STOP_GRACE_MS),
    tail: (lines) => proc.tail(lines),
    waitUntil: (probe, timeoutMs) => proc.waitUntil(probe, timeoutMs),
  };
}

/** A server testenv started (InfluxDB, Redis, Mosquitto), behind the same handle. */
export function serverProcess(
  name: string,
  server: { process: ManagedProcess; restart(): Promise<void> },
  logFile: string,
): ProcessHandle {
  return {
    name,
    logFile,
    pid: () => server.process.pid,
    running: () => server.process.running,
    restart: () => server.restart(),
    kill: () => server.process.kill(),
    stop: () => server.process.stop(),
    tail: (lines) => server.process.tail(lines),
    waitUntil: (probe, timeoutMs) => server.process.waitUntil(probe, timeoutMs),
  };
}

/** An environment with the variables set to undefined left out, as a child should get it. */
function withoutUnset(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined));
}

export function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** True once `text` appears in the log after byte `offset`. */
export function logHasAfter(file: string, offset: number, text: string): boolean {
  try {
    return readFileSync(file).subarray(offset).toString('utf8').includes(text);
  } catch {
    return false;
  }
}

/** True when `url` answers 2xx within a second. */
export async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await response.arrayBuffer();
  return response.ok;
}

/**
 * The first JSON line a process printed whose `key` holds an array or a
 * string, not a count in one of its log lines: what `twc simulate` and
 * `twc comed-server` print once they listen. Logs go to the same file.
 */
export function jsonLineWith<T>(logFile: string, key: string, offset = 0): T | undefined {
  let text: string;
  try {
    text = readFileSync(logFile).subarray(offset).toString('utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      const value = parsed[key];
      if (Array.isArray(value) || typeof value === 'string') return parsed as T;
    } catch {
      // a partial line; read again
    }
  }
  return undefined;
}
