// `vnetbench cleanup`: remove what crashed runs left, from their ledgers, then sweep for
// objects carrying our name prefix that no ledger mentions (a crash between create and record
// cannot happen since we record first, but a deleted ledger can).
import type { Command } from 'commander';
import { Ledger } from '../../core/ledger.ts';
import { sweepOrphans } from '../../core/orphans.ts';

export function register(program: Command): void {
  program
    .command('cleanup')
    .description('remove namespaces, links, tap nodes, processes and temp dirs left by crashed runs')
    .option('--dry-run', 'only list what would be removed')
    .action(async (opts: { dryRun?: boolean }) => {
      let removed = 0;
      const failures: string[] = [];
      for (const file of Ledger.list()) {
        const l = Ledger.open(file);
        const live = l.live();
        process.stdout.write(`ledger ${l.runId}: ${live.length} object(s)\n`);
        if (opts.dryRun) {
          for (const o of live) process.stdout.write(`  would remove ${JSON.stringify(o)}\n`);
          continue;
        }
        const left = await l.teardown((m) => process.stdout.write(`  ${m}\n`));
        removed += live.length - left.length;
        failures.push(...left);
      }
      const orphans = await sweepOrphans(Boolean(opts.dryRun), (m) => process.stdout.write(`  ${m}\n`));
      removed += orphans;
      process.stdout.write(`cleanup: ${opts.dryRun ? 'found' : 'removed'} ${removed} object(s)\n`);
      if (failures.length) {
        process.stderr.write(`could not remove:\n  ${failures.join('\n  ')}\n`);
        process.exitCode = 1;
      }
    });
}
