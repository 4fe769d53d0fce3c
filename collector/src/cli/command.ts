/**
 * What every `twc` command is, and how each reports a usage error: exit code
 * 2 with `twc <name>: <message>` on stderr, followed by the command's usage
 * when it helps (a wrong option, yes; a file that cannot be used, no).
 */

export interface Command {
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

/** What a command reads and writes: the environment, stdout for its data, stderr for the rest. */
export interface CommandIo {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** This process's environment and streams; tests pass their own. */
export function processIo(): CommandIo {
  return {
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  };
}

/** The exit code of a usage error, as `twc --help` states. */
export const USAGE_ERROR_EXIT_CODE = 2;

/** A problem with the command line (or an input file it names); reported by `usageError`. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** Whether printing the usage helps: yes for an option, no for a file that cannot be used. */
    readonly showUsage = true,
  ) {
    super(message);
  }
}

/** Writes the error of command `name` (a UsageError, or its message) and returns the exit code 2. */
export function usageError(
  stderr: (text: string) => void,
  name: string,
  usage: string,
  error: UsageError | string,
): number {
  const { message, showUsage } = typeof error === 'string' ? { message: error, showUsage: true } : error;
  stderr(`twc ${name}: ${message}\n${showUsage ? `\nusage: ${usage}\n` : ''}`);
  return USAGE_ERROR_EXIT_CODE;
}

/** An integer option in [min, max], `fallback` when absent; throws UsageError naming the option otherwise. */
export function integerOption(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}
