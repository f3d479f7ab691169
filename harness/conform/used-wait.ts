// Reading and waiting for used buffers, the same for split and packed lanes: entries are handed to
// the check in order (those the loopback wire read first are kept for it), and waits poll
// takeUsed() every millisecond until enough arrived or the deadline passed. Every wait has a deadline.
import { sleep } from './wait.ts';

export interface UsedEntry {
  id: number;
  len: number;
  /** Split: the free-running used index of the entry. Packed: the ring position. */
  slot: number;
  /** Packed: the used descriptor's flags. */
  flags?: number;
}

/** What the waits need of a lane: read new used entries, and every entry read so far. */
export interface UsedSource {
  takeUsed(): UsedEntry[];
  readonly returned: readonly UsedEntry[];
}

/** Wait until at least n new used entries arrived (or ms passed); returns those that did. */
export async function pollUsed(lane: UsedSource, n: number, ms: number): Promise<UsedEntry[]> {
  const out: UsedEntry[] = [];
  const deadline = Date.now() + ms;
  for (;;) {
    out.push(...lane.takeUsed());
    if (out.length >= n || Date.now() >= deadline) return out;
    await sleep(1);
  }
}

/** Wait until a used entry names `id` (or ms passed). */
export async function pollFor(lane: UsedSource, id: number, ms: number): Promise<UsedEntry | undefined> {
  const deadline = Date.now() + ms;
  const from = lane.returned.length;
  for (;;) {
    lane.takeUsed();
    const hit = lane.returned.slice(from).find((e) => e.id === id);
    if (hit || Date.now() >= deadline) return hit;
    await sleep(1);
  }
}

/** What a lane reads of its used ring; the format-specific part is readUsed(). */
export abstract class UsedReader implements UsedSource {
  /** Every used entry handed to the check, in order. */
  readonly returned: UsedEntry[] = [];
  /** The check's entries read by pump() and not yet handed out. */
  private stashed: UsedEntry[] = [];

  /** New used entries (the check's only), appending them to `returned`. */
  protected abstract readUsed(): UsedEntry[];

  /** New used entries since the last call. */
  takeUsed(): UsedEntry[] {
    const out = this.stashed.splice(0);
    out.push(...this.readUsed());
    return out;
  }

  /** Read new used entries for the loopback wire; the check's own wait for its next takeUsed(). */
  pump(): void {
    this.stashed.push(...this.readUsed());
  }

  /** Wait until at least n new used entries arrived (or ms passed); returns those that did. */
  waitUsed(n: number, ms: number): Promise<UsedEntry[]> {
    return pollUsed(this, n, ms);
  }

  /** Wait until a used entry names `id` (or ms passed). */
  waitFor(id: number, ms: number): Promise<UsedEntry | undefined> {
    return pollFor(this, id, ms);
  }
}
