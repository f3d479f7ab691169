// Teardown on every exit path: normal completion, thrown errors, SIGINT and SIGTERM.
// Commands register a Ledger; the first signal tears everything down and exits
// (130 for SIGINT, 143 for SIGTERM); a second signal during teardown is ignored so cleanup finishes.
import type { Ledger } from './ledger.ts';

const active = new Set<Ledger>();
let installed = false;
let tearingDown = false;

export function track(ledger: Ledger): void {
  active.add(ledger);
  if (!installed) {
    installed = true;
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void onSignal(sig));
  }
}

export function untrack(ledger: Ledger): void {
  active.delete(ledger);
}

async function onSignal(sig: NodeJS.Signals): Promise<void> {
  if (tearingDown) return;
  tearingDown = true;
  process.stderr.write(`\nvnetbench: ${sig} received, tearing down\n`);
  await teardownAll((m) => process.stderr.write(`  ${m}\n`));
  process.exit(sig === 'SIGINT' ? 130 : sig === 'SIGTERM' ? 143 : 129);
}

export async function teardownAll(log?: (m: string) => void): Promise<string[]> {
  const failures: string[] = [];
  for (const l of [...active]) {
    failures.push(...(await l.teardown(log)));
    active.delete(l);
  }
  return failures;
}

/** Run `body` with a fresh ledger that is torn down whatever happens. */
export async function withLedger<T>(ledger: Ledger, body: (l: Ledger) => Promise<T>): Promise<T> {
  track(ledger);
  try {
    return await body(ledger);
  } finally {
    if (!tearingDown) {
      const failures = await ledger.teardown();
      untrack(ledger);
      if (failures.length) process.stderr.write(`vnetbench: teardown left:\n  ${failures.join('\n  ')}\n`);
    }
  }
}
