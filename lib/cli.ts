#!/usr/bin/env node
// `npx simd-optim <command>`: a thin dispatcher. Each command lives in its own
// module and is loaded only when asked for, so `inspect` never pays for the
// demo's chart libraries. The demo is a program of its own (dist/demo/, built
// from demo/), which the library never imports.
import * as path from 'path';
import { CliError } from './cli/args';

interface Command {
  summary: string;
  /** Resolves to the exit code, or to nothing for success. */
  run(argv: string[]): Promise<number | void>;
}

interface DemoProgram {
  runDemo(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  demo: {
    summary: 'train an MLP on the UCI digits with RMSprop, Adagrad and SGD, and draw the charts',
    run: async (argv) => (require(path.join(__dirname, 'demo', 'main.js')) as DemoProgram).runDemo(argv),
  },
  inspect: {
    summary: 'print the groups, hyperparameters and tensors of a .pt or .safetensors file',
    run: async (argv) => (await import('./cli/inspect')).runInspect(argv),
  },
  convert: {
    summary: 'convert between torch.save (.pt) and .safetensors: convert <in> <out>',
    run: async (argv) => (await import('./cli/convert')).runConvert(argv),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return ['usage: simd-optim <command> [options]', '', 'commands:', ...lines, '',
    'Run `simd-optim <command> --help` for its options.'].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    console.error(`simd-optim: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  try {
    return (await command.run(rest)) ?? 0;
  } catch (err) {
    // A CliError is the user's mistake (bad flag, missing file): one line, no stack.
    if (err instanceof CliError) {
      console.error(`simd-optim ${name}: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => { console.error(err); process.exitCode = 1; },
);
