// Error kinds the CLI maps to exit codes. One place (cli/main.ts) prints "Error:" and exits.

/** Bad input from the user: what is wrong, where, how to fix it. Exit code 2, nothing changed. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

/** The host cannot do what was asked (missing device, package, privilege). Exit code 2. */
export class CapabilityError extends Error {
  override readonly name = 'CapabilityError';
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

/** A wait that ran out of time; says what was awaited and for how long. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(what: string, readonly ms: number, detail = '') {
    super(`timed out after ${(ms / 1000).toFixed(1)} s waiting for ${what}${detail ? `: ${detail}` : ''}`);
  }
}

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof CapabilityError) return EXIT.usage;
  return EXIT.failure;
}

export function formatError(err: unknown): string {
  if (err instanceof UsageError || err instanceof CapabilityError) {
    return err.hint ? `${err.message}\n  hint: ${err.hint}` : err.message;
  }
  if (err instanceof Error) return process.env.VNETBENCH_DEBUG ? (err.stack ?? err.message) : err.message;
  return String(err);
}
