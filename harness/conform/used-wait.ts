// Waiting for used buffers, the same for split and packed lanes: poll the lane's takeUsed() every
// millisecond until enough arrived or the deadline passed. Every wait has a deadline.
import type { UsedEntry } from './split-lane.ts';
import { sleep } from './wait.ts';

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
