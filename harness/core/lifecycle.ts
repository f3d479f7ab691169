// Teardown on every exit path: normal completion, thrown errors, SIGINT, SIGTERM and SIGHUP.
// Commands register a Ledger; the first signal tears everything down and exits (130 for
// SIGINT, 143 for SIGTERM, 129 for SIGHUP). Signals during teardown do not interrupt it, except
// that a third one abandons it (a hung removal must not trap the user): `vnetbench cleanup`
// finishes the job later from the ledger on disk.
import type { Ledger } from './ledger.ts';

const active = new Set<Ledger>();
let installed = false;
let tearingDown = false;
let signalsDuringTeardown = 0;

const EXIT_FOR: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

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

const interruptHooks = new Set<() => void>();

/** Called (synchronously) when a signal interrupts the process, before teardown: e.g. to mark a
 *  run directory "interrupted". Returns an unsubscribe. */
export function onInterrupt(fn: () => void): () => void {
  interruptHooks.add(fn);
  return () => interruptHooks.delete(fn);
}

/** True once a signal started teardown: long-running loops should stop starting new work. */
export function isTearingDown(): boolean {
  return tearingDown;
}

async function onSignal(sig: NodeJS.Signals): Promise<void> {
  if (tearingDown) {
    signalsDuringTeardown++;
    if (signalsDuringTeardown >= 2) {
      process.stderr.write(`\nvnetbench: teardown abandoned; run \`vnetbench cleanup\` to finish it\n`);
      process.exit(EXIT_FOR[sig] ?? 1);
    }
    process.stderr.write(`\nvnetbench: still tearing down (${sig} again to abandon)\n`);
    return;
  }
  tearingDown = true;
  process.stderr.write(`\nvnetbench: ${sig} received, tearing down\n`);
  for (const fn of interruptHooks) {
    try {
      fn();
    } catch {
      /* never block teardown */
    }
  }
  const left = await teardownAll((m) => process.stderr.write(`  ${m}\n`));
  if (left.length) process.stderr.write(`vnetbench: teardown left (run \`vnetbench cleanup\`):\n  ${left.join('\n  ')}\n`);
  process.exit(EXIT_FOR[sig] ?? 1);
}

export async function teardownAll(log?: (m: string) => void): Promise<string[]> {
  const failures: string[] = [];
  for (const l of [...active]) {
    failures.push(...(await l.teardown(log)));
    active.delete(l);
  }
  return failures;
}

/** Run `body` with a ledger that is torn down whatever happens. */
export async function withLedger<T>(ledger: Ledger, body: (l: Ledger) => Promise<T>): Promise<T> {
  track(ledger);
  try {
    return await body(ledger);
  } finally {
    // Ledger.teardown is idempotent: if a signal started it, this waits for the same teardown.
    const failures = await ledger.teardown();
    untrack(ledger);
    if (failures.length) process.stderr.write(`vnetbench: teardown left:\n  ${failures.join('\n  ')}\n`);
  }
}
