import { vi } from 'vitest';
import type { Command } from '../../src/cli/command.js';

export interface CapturedStdio {
  stdout(): string;
  stderr(): string;
  restore(): void;
}

/** Captures what the process writes to stdout and stderr until `restore()`. */
export function captureStdio(): CapturedStdio {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  return { stdout: () => stdout, stderr: () => stderr, restore: () => vi.restoreAllMocks() };
}

/** Runs a `twc` command in this process with stdout and stderr captured. */
export async function runCommand(
  command: Command,
  argv: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureStdio();
  try {
    const code = await command.run(argv);
    return { code, stdout: io.stdout(), stderr: io.stderr() };
  } finally {
    io.restore();
  }
}

/** A command's io for `run<Name>Command(argv, io)`: the given environment, stdout and stderr collected. */
export function collectingIo(env: Record<string, string | undefined> = {}) {
  const output = { stdout: '', stderr: '' };
  return {
    io: {
      env,
      stdout: (text: string) => {
        output.stdout += text;
      },
      stderr: (text: string) => {
        output.stderr += text;
      },
    },
    output,
  };
}
