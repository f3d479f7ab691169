// When a deliberately broken device misbehaves. Each fault class names its opportunities (a TX
// chain completed, a due notification, ...) and asks its trigger at each one whether to misbehave
// there. One trigger is shared by every device instance of one device under test (the in-process
// DUT's sessions, a back-end process's connections), so "first" means the first opportunity in the
// device's life, not in each session, and a fault that fired stays fired across restarts.

/** always: at every opportunity; first: only at the first; after: N pass untouched, it fires at N+1. */
export type FaultMode = { kind: 'always' } | { kind: 'first' } | { kind: 'after'; n: number };

export const ALWAYS: FaultMode = Object.freeze({ kind: 'always' as const });

export const FAULT_MODE_FORMS = 'always, first, after:N (N a whole number: N opportunities pass, the fault fires once at the next)';

/** The mode as written after "@": "always", "first", "after:3". */
export function faultModeName(mode: FaultMode): string {
  return mode.kind === 'after' ? `after:${mode.n}` : mode.kind;
}

/** Parse "always" | "first" | "after:N"; undefined when it is none of them (the caller says why). */
export function parseFaultMode(text: string): FaultMode | undefined {
  if (text === 'always') return ALWAYS;
  if (text === 'first') return { kind: 'first' };
  const m = /^after:(\d{1,9})$/.exec(text);
  return m ? { kind: 'after', n: Number(m[1]) } : undefined;
}

export class FaultTrigger {
  /** Opportunities seen so far (fired or not). */
  private seen = 0;
  /** Opportunities at which the fault fired. */
  private firedCount = 0;

  constructor(readonly mode: FaultMode = ALWAYS) {}

  /** Called once per opportunity: true when the fault fires at this one. */
  fire(): boolean {
    const k = this.seen++;
    const m = this.mode;
    const yes = m.kind === 'always' || (m.kind === 'first' && k === 0) || (m.kind === 'after' && k === m.n);
    if (yes) this.firedCount++;
    return yes;
  }

  get opportunities(): number {
    return this.seen;
  }

  get fired(): number {
    return this.firedCount;
  }

  /** Whether a later opportunity can still fire (false once a one-shot fault has fired). */
  get armed(): boolean {
    const m = this.mode;
    return m.kind === 'always' || this.seen <= (m.kind === 'first' ? 0 : m.n);
  }

  /** "first (fired at opportunity 1 of 7)", for logs and evidence. */
  describe(): string {
    return `${faultModeName(this.mode)} (${this.firedCount} fired of ${this.seen} opportunities)`;
  }
}
