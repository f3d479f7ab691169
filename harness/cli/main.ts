// vnetbench CLI: parse -> dispatch. This is the one place that prints "Error:" and sets the exit code.
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { exitCodeFor, formatError, EXIT } from '../core/errors.ts';
import { teardownAll } from '../core/lifecycle.ts';
import { COMMANDS } from './commands/index.ts';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('vnetbench')
    .description('Benchmark and conformance suite for virtio networking backends')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version arrive here too, with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const left = await teardownAll();
    process.stderr.write(`Error: ${formatError(err)}\n`);
    if (left.length) process.stderr.write(`teardown left:\n  ${left.join('\n  ')}\n`);
    return exitCodeFor(err);
  }
}

process.exitCode = await main(process.argv.slice(2));
