#!/usr/bin/env node
/**
 * `twc <command>`: the project's command-line tool. Commands that print data
 * print JSON on stdout; logs and errors go to stderr. Exit code 0 on success,
 * 1 when the command failed, 2 on a usage error.
 */
import type { Command } from './command.js';

type CommandLoader = () => Promise<Command>;

const commands: Record<string, CommandLoader> = {
  probe: async () => (await import('./commands/probe.js')).probeCommand,
  prices: async () => (await import('./commands/prices.js')).pricesCommand,
  simulate: async () => (await import('./commands/simulate.js')).simulateCommand,
  replay: async () => (await import('./commands/replay.js')).replayCommand,
  reprice: async () => (await import('./commands/reprice.js')).repriceCommand,
  forecast: async () => (await import('./commands/forecast.js')).forecastCommand,
  plan: async () => (await import('./commands/plan.js')).planCommand,
  'comed-server': async () => (await import('./commands/comed-server.js')).comedServerCommand,
};

function help(): string {
  const lines = Object.keys(commands).map((name) => `  ${name}`);
  return [
    'usage: twc <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'twc <command> --help shows its options.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stderr.write(`${help()}\n`);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`twc: unknown command "${name}"\n\n${help()}\n`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stderr.write(`${command.summary}\n\nusage: ${command.usage}\n`);
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`twc: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
