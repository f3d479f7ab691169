// `vnetbench cleanup`: remove what crashed runs left, from their ledgers (processes, links,
// NICs moved into a namespace are moved back, settings restored, namespaces, tap nodes, temp
// dirs), then sweep for objects carrying our name prefix that no ledger mentions (a run killed
// between spawning a process and recording it, or a deleted ledger). Runs whose harness is
// still alive are left alone unless --force.
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.ts';
import { Ledger, type LedgerObject } from '../../core/ledger.ts';
import { sweepOrphans } from '../../core/orphans.ts';

interface CleanupOptions {
  dryRun?: boolean;
  force?: boolean;
  run?: string[];
}

function parseRunIds(ids: string[] | undefined): Set<string> | undefined {
  if (!ids || ids.length === 0) return undefined;
  for (const id of ids) {
    if (!/^[0-9a-f]{6}$/.test(id)) {
      throw new UsageError(`--run ${id}: a run id is 6 lowercase hex digits (as in namespace vnb-<id>-g)`);
    }
  }
  return new Set(ids);
}

/**
 * The run id a ledger answers to for --run: its name, or the id after a prefix (doctor's scratch
 * ledger `doctor-<id>` names its namespace vnb-<id>-doctor; likewise image-boot-<id>, aio-<id>).
 */
function ledgerRunId(runId: string): string {
  return /-([0-9a-f]{6})$/.exec(runId)?.[1] ?? runId;
}

export async function cleanup(opts: CleanupOptions, out: (m: string) => void): Promise<{ removed: number; failures: string[] }> {
  const only = parseRunIds(opts.run);
  let removed = 0;
  const failures: string[] = [];
  const listed: LedgerObject[] = [];
  for (const file of Ledger.list()) {
    const l = Ledger.open(file);
    if (only && !only.has(ledgerRunId(l.runId))) continue;
    const live = l.live();
    const owner = l.owner();
    if (!opts.force && l.ownerAlive()) {
      out(`ledger ${l.runId}: run still in progress (pid ${owner?.pid}); skipped (--force to remove anyway)`);
      continue;
    }
    out(`ledger ${l.runId}: ${live.length} object(s)`);
    if (opts.dryRun) {
      for (const o of live) out(`  would remove ${JSON.stringify(o)}`);
      removed += live.length;
      listed.push(...live);
      continue;
    }
    const left = await l.teardown((m) => out(`  ${m}`));
    removed += live.length - left.length;
    failures.push(...left);
  }
  removed += await sweepOrphans(Boolean(opts.dryRun), (m) => out(`  ${m}`), {
    ...(only ? { onlyIds: only } : {}),
    force: Boolean(opts.force),
    known: listed,
  });
  return { removed, failures };
}

export function register(program: Command): void {
  program
    .command('cleanup')
    .description('remove namespaces, links, tap nodes, processes and temp dirs left by crashed runs')
    .option('--dry-run', 'only list what would be removed')
    .option('--run <id...>', 'only this run id (6 hex digits, as in vnb-<id>-g)')
    .option('--force', 'also remove runs whose harness process is still alive')
    .action(async (opts: CleanupOptions) => {
      const say = (m: string) => process.stdout.write(`${m}\n`);
      const { removed, failures } = await cleanup(opts, say);
      say(`cleanup: ${opts.dryRun ? 'found' : 'removed'} ${removed} object(s)`);
      if (failures.length) {
        process.stderr.write(`could not remove:\n  ${failures.join('\n  ')}\n`);
        process.exitCode = 1;
      }
    });
}
