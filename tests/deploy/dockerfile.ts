/**
 * Reads the Dockerfile as its build would: the image tests check the build
 * steps and start each service from its ENTRYPOINT and CMD, and the collector
 * benchmark starts the collector with the image's ENTRYPOINT, so what is
 * measured is what ships.
 */
import { readFileSync } from 'node:fs';

export interface Instruction {
  op: string;
  args: string;
}

export interface Stage {
  /** The `AS` name, or the stage's index when it has none. */
  name: string;
  /** The image or stage it starts from. */
  from: string;
  instructions: Instruction[];
}

/** Stages in order, continuation lines joined, comments dropped. */
export function parseDockerfile(path: string): Stage[] {
  const text = readFileSync(path, 'utf8').replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const [op = '', ...rest] = trimmed.split(/\s+/);
    const instruction = { op: op.toUpperCase(), args: rest.join(' ') };
    if (instruction.op === 'FROM') {
      const [from = '', as, name] = rest;
      stages.push({ name: as?.toUpperCase() === 'AS' && name ? name : String(stages.length), from, instructions: [] });
    }
    stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

/** The stage named `target` and the stages it is built from, base first. */
export function stageChain(stages: readonly Stage[], target: string): Stage[] {
  const chain: Stage[] = [];
  let stage = stages.find((candidate) => candidate.name === target);
  while (stage) {
    chain.unshift(stage);
    const from = stage.from;
    stage = stages.find((candidate) => candidate.name === from);
  }
  if (chain.length === 0) throw new Error(`no stage ${target}`);
  return chain;
}

/** A target stage's ENTRYPOINT and CMD (exec form only; the images use no shell form). */
export function imageCommand(path: string, target: string): { entrypoint: string[]; cmd: string[] } {
  const final = stageChain(parseDockerfile(path), target).at(-1)?.instructions ?? [];
  const execForm = (op: string): string[] => {
    const args = final.findLast((i) => i.op === op)?.args;
    if (args === undefined) return [];
    const parsed: unknown = JSON.parse(args);
    if (!Array.isArray(parsed) || !parsed.every((word) => typeof word === 'string')) {
      throw new Error(`${path} ${target}: ${op} is not in exec form (a JSON array of strings)`);
    }
    return parsed;
  };
  return { entrypoint: execForm('ENTRYPOINT'), cmd: execForm('CMD') };
}
