import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ManagedProcessOptions {
  /** Human name used in error messages. */
  name: string;
  command: string;
  args: string[];
  /** stdout and stderr of the process are appended here. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * A server process started for tests: spawned with its output in a log file,
 * waited for with a readiness probe, stopped politely or killed outright.
 * Every started process is also killed when this Node process exits, so a
 * failing test run never leaves servers behind.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);
  private static readonly live = new Set<ManagedProcess>();

  constructor(private readonly options: ManagedProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) throw new Error(`${this.options.name} is already running`);
    const log = openSync(this.options.logFile, 'a');
    const child = spawn(this.options.command, this.options.args, {
      cwd: this.options.cwd,
      env: this.options.env ?? process.env,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', () => resolve(null));
    });
    ManagedProcess.live.add(this);
    ManagedProcess.installExitHook();
  }

  /** Polls `probe` until it resolves true; fails early if the process dies. */
  async waitUntil(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(`${this.options.name} exited during start-up:\n${this.tail()}`);
      }
      if (await probe().catch(() => false)) return;
      await sleep(100);
    }
    throw new Error(`${this.options.name} not ready after ${timeoutMs} ms:\n${this.tail()}`);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    ManagedProcess.live.delete(this);
  }

  /** SIGKILL: the process gets no chance to flush or clean up. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.exited;
    ManagedProcess.live.delete(this);
  }

  /** The last lines of the process's log, for error messages. */
  tail(lines = 30): string {
    try {
      return readFileSync(this.options.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  private static hooked = false;
  private static installExitHook(): void {
    if (ManagedProcess.hooked) return;
    ManagedProcess.hooked = true;
    process.once('exit', () => {
      for (const managed of ManagedProcess.live) managed.child?.kill('SIGKILL');
    });
  }
}
