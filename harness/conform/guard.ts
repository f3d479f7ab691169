// Detects device writes where it has no business writing. arm() snapshots guest memory; changes()
// reports every changed byte outside the ranges the device may write (its ring areas and the
// device-writable buffers), grouped into runs and named by the labelled range they fall in
// ("TX buffer 3", "descriptor table", or "memory given to no buffer").
import type { GuestMemory } from '../virtio/memory.ts';

export interface Range {
  gpa: number;
  len: number;
}

export interface Change {
  /** GPA of the first changed byte of the run. */
  gpa: number;
  /** Changed bytes in the run. */
  bytes: number;
  /** The labelled range the run falls in, or 'memory given to no buffer'. */
  where: string;
  /** Up to 8 bytes before → after, hex. */
  sample: string;
}

const PAGE = 4096;
export const UNLABELLED = 'memory given to no buffer';

export class MemoryGuard {
  private snaps: Uint8Array[] = [];
  private readonly allowed: Range[] = [];
  private readonly labels: (Range & { name: string })[] = [];

  constructor(private readonly mem: GuestMemory) {}

  /** The device may write here (used ring, device event area, device-writable buffers). */
  allow(gpa: number, len: number): this {
    if (len > 0) this.allowed.push({ gpa, len });
    return this;
  }

  /** Name a range for reports ("TX buffer 0", "indirect table"). */
  label(name: string, gpa: number, len: number): this {
    if (len > 0) this.labels.push({ gpa, len, name });
    return this;
  }

  /** Snapshot guest memory now. */
  arm(): this {
    this.snaps = this.mem.regions.map((r) => r.bytes.slice(0, r.size));
    return this;
  }

  /** Take the current content of [gpa, gpa+len) as the baseline (the driver's own writes after arm()). */
  rebase(gpa: number, len: number): this {
    this.mem.regions.forEach((r, ri) => {
      const base = Number(r.gpa);
      const from = Math.max(gpa, base);
      const to = Math.min(gpa + len, base + r.size);
      if (from < to) this.snaps[ri]?.set(r.bytes.subarray(from - base, to - base), from - base);
    });
    return this;
  }

  /** Changed runs outside the allowed ranges since arm(). */
  changes(): Change[] {
    const out: Change[] = [];
    this.mem.regions.forEach((r, ri) => {
      const before = this.snaps[ri];
      if (!before) throw new Error('MemoryGuard: changes() before arm()');
      const base = Number(r.gpa);
      for (let p = 0; p < r.size; p += PAGE) {
        const end = Math.min(p + PAGE, r.size);
        if (Buffer.compare(Buffer.from(before.buffer, before.byteOffset + p, end - p), Buffer.from(r.bytes.buffer, r.bytes.byteOffset + p, end - p)) === 0) continue;
        this.scanPage(before, r.bytes, base, p, end, out);
      }
    });
    return out;
  }

  private scanPage(before: Uint8Array, now: Uint8Array, base: number, from: number, to: number, out: Change[]): void {
    let run: Change | undefined;
    let runLabel: string | undefined;
    for (let i = from; i < to; i++) {
      const gpa = base + i;
      const changed = before[i] !== now[i] && !this.isAllowed(gpa);
      if (!changed) {
        run = undefined;
        continue;
      }
      const label = this.labelAt(gpa);
      if (run && runLabel === (label?.name ?? UNLABELLED) && run.gpa + run.bytes === gpa) {
        run.bytes++;
        continue;
      }
      const n = Math.min(8, to - i);
      runLabel = label?.name ?? UNLABELLED;
      run = {
        gpa,
        bytes: 1,
        where: label ? `${label.name} (+${gpa - label.gpa})` : UNLABELLED,
        sample: `${hex(before.subarray(i, i + n))} → ${hex(now.subarray(i, i + n))}`,
      };
      out.push(run);
    }
  }

  private isAllowed(gpa: number): boolean {
    for (const a of this.allowed) if (gpa >= a.gpa && gpa < a.gpa + a.len) return true;
    return false;
  }

  private labelAt(gpa: number): (Range & { name: string }) | undefined {
    for (const l of this.labels) if (gpa >= l.gpa && gpa < l.gpa + l.len) return l;
    return undefined;
  }
}

/** One line per run, at most `max` lines. */
export function describeChanges(changes: readonly Change[], max = 4): string {
  const lines = changes.slice(0, max).map((c) => `${c.bytes} byte(s) at GPA 0x${c.gpa.toString(16)} in ${c.where}: ${c.sample}`);
  if (changes.length > max) lines.push(`… and ${changes.length - max} more run(s)`);
  return lines.join('; ');
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}
