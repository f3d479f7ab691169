// The parts of a BackendInstance every backend shares: a ledger scope for its host objects,
// deferred clean-ups (stop a daemon gracefully, close fds) that run before those objects are
// removed, and a setup that undoes what it made when it fails halfway.
import type { LedgerScope } from '../core/ledger.ts';
import type { BackendContext, BackendInstance } from './types.ts';

export type Defer = (cleanup: () => Promise<void> | void) => void;

export async function withScope(
  ctx: BackendContext,
  build: (scope: LedgerScope, defer: Defer) => Promise<Omit<BackendInstance, 'close'>>,
): Promise<BackendInstance> {
  const scope = ctx.ledger.scope();
  const cleanups: (() => Promise<void> | void)[] = [];
  const release = async (): Promise<string[]> => {
    const errors: string[] = [];
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    return [...errors, ...(await scope.release())];
  };
  let parts: Omit<BackendInstance, 'close'>;
  try {
    parts = await build(scope, (c) => cleanups.push(c));
  } catch (e) {
    const left = await release();
    if (left.length && e instanceof Error) e.message += `\n  left for teardown: ${left.join('; ')}`;
    throw e;
  }
  let closed: Promise<void> | undefined;
  return {
    ...parts,
    close: () =>
      (closed ??= (async () => {
        const left = await release();
        if (left.length) throw new Error(`backend teardown left (the run's teardown retries): ${left.join('; ')}`);
      })()),
  };
}
