/**
 * Reads a Dockerfile as its build would: the image tests check the build
 * steps and start each service from its ENTRYPOINT and CMD, and the collector
 * benchmark starts the collector with the image's ENTRYPOINT, so what is
 * measured is what ships.
 */
import { readFileSync } from 'node:fs';

export interface Instruction {
  op: string;
  args: string;
}

/** Instructions per stage, continuation lines joined, comments dropped. */
export function parseDockerfile(path: string): Instruction[][] {
  const text = readFileSync(path, 'utf8').replace(/\\\n/g, ' ');
  const stages: Instruction[][] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const [op = '', ...rest] = trimmed.split(/\s+/);
    const instruction = { op: op.toUpperCase(), args: rest.join(' ') };
    if (instruction.op === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

/** The final stage's ENTRYPOINT and CMD (exec form only; the images use no shell form). */
export function imageCommand(path: string): { entrypoint: string[]; cmd: string[] } {
  const final = parseDockerfile(path).at(-1) ?? [];
  const execForm = (op: string): string[] => {
    const args = final.findLast((i) => i.op === op)?.args;
    if (args === undefined) return [];
    const parsed: unknown = JSON.parse(args);
    if (!Array.isArray(parsed) || !parsed.every((word) => typeof word === 'string')) {
      throw new Error(`${path}: ${op} is not in exec form (a JSON array of strings)`);
    }
    return parsed;
  };
  return { entrypoint: execForm('ENTRYPOINT'), cmd: execForm('CMD') };
}
