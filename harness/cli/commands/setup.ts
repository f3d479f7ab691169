// `vnetbench setup [--check] [--tests] [--with dpdk,chromium]`: install what is missing,
// idempotently, one printed step at a time; --check only reports (exit 1 when something is missing).
import type { Command } from 'commander';
import { preflight, runSetup, summarize } from '../../setup/run.ts';
import { parseWith, setupSteps } from '../../setup/steps.ts';
import { findTool } from '../../setup/tools.ts';
import { EXIT } from '../../core/errors.ts';

interface SetupFlags {
  check?: boolean;
  tests?: boolean;
  with?: string;
}

export function register(program: Command): void {
  program
    .command('setup')
    .description('install what vnetbench needs (Debian packages, netperf into the project cache)')
    .option('--check', 'only report what is present and what is missing (exit 1 when something is missing)')
    .option('--tests', 'also install what the test suite needs (dpdk-dev, chromium)')
    .option('--with <groups>', 'also install optional groups, comma separated: dpdk, chromium')
    .action(async (flags: SetupFlags) => {
      const steps = setupSteps({ tests: flags.tests, with: flags.with !== undefined ? parseWith(flags.with) : [] });
      const mode = flags.check ? 'check' : 'install';
      if (mode === 'install') preflight({ uid: process.getuid?.() ?? -1, has: (c) => Boolean(findTool(c)) });
      const outcomes = await runSetup(steps, {
        mode,
        out: (l) => process.stdout.write(`${l}\n`),
        log: (l) => process.stderr.write(`setup: ${l}\n`),
      });
      process.stdout.write(`${summarize(outcomes, mode)}\n`);
      if (outcomes.some((o) => o.state === 'missing')) process.exitCode = EXIT.failure;
    });
}
