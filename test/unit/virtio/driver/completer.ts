// Test-only device halves that complete buffers through the raw ring views. They follow the spec
// just far enough to drive the driver under test; the reference device (harness/virtio/device)
// cross-checks the driver separately.

import type { GuestMemory } from '../../../../harness/virtio/memory.ts';
import { RawPackedRing, RawSplitRing, type PackedDesc, type SplitDesc } from '../../../../harness/virtio/driver/raw.ts';
import type { QueueLayout } from '../../../../harness/virtio/driver/types.ts';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, packedIsAvail, packedUsedFlags } from '../../../../harness/virtio/layout.ts';
import { u32View, readAddr } from '../../../../harness/virtio/driver/views.ts';

export interface Taken<D> {
  head: number;
  descs: D[];
  /** Ring slots/positions the buffer occupied. */
  count: number;
}

/** Table entries with their last word split in halves: split format = flags|next, packed = id|flags. */
function readTable(mem: GuestMemory, gpa: number, len: number): { addr: number; len: number; lo: number; hi: number }[] {
  const n = len / 16;
  const w = u32View(mem, gpa, n * 4);
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push({ addr: readAddr(w, i * 4), len: w[i * 4 + 2], lo: w[i * 4 + 3] & 0xffff, hi: w[i * 4 + 3] >>> 16 });
  }
  return out;
}

export class SplitCompleter {
  readonly raw: RawSplitRing;
  lastAvail: number;
  usedIdx: number;

  constructor(
    readonly mem: GuestMemory,
    layout: QueueLayout,
    base = 0,
  ) {
    this.raw = new RawSplitRing(mem, layout);
    this.lastAvail = this.usedIdx = base;
  }

  pending(): number {
    return (this.raw.availIdx() - this.lastAvail) & 0xffff;
  }

  /** Next available chain, walked (indirect tables expanded), bounded by the ring size. */
  take(): Taken<SplitDesc> | null {
    if (this.pending() === 0) return null;
    const head = this.raw.readAvailRing(this.lastAvail);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    const descs: SplitDesc[] = [];
    let i = head;
    for (let hops = 0; hops < this.raw.size; hops++) {
      const d = this.raw.readDesc(i);
      if (d.flags & VIRTQ_DESC_F_INDIRECT) {
        for (const t of readTable(this.mem, d.addr, d.len)) {
          descs.push({ addr: t.addr, len: t.len, flags: t.lo, next: t.hi });
          if (!(t.lo & VIRTQ_DESC_F_NEXT)) break;
        }
        return { head, descs, count: 1 };
      }
      descs.push(d);
      if (!(d.flags & VIRTQ_DESC_F_NEXT)) return { head, descs, count: descs.length };
      i = d.next;
    }
    throw new Error(`chain from ${head} longer than the ring`);
  }

  /** One used entry per buffer. */
  complete(head: number, len: number): void {
    this.raw.writeUsedElem(this.usedIdx, head, len);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    this.raw.setUsedIdx(this.usedIdx);
  }

  /** IN_ORDER batch: one entry with the last head, in the first slot; idx advances by k (§2.7.9). */
  completeBatch(heads: number[], len: number): void {
    this.raw.writeUsedElem(this.usedIdx, heads[heads.length - 1], len);
    this.usedIdx = (this.usedIdx + heads.length) & 0xffff;
    this.raw.setUsedIdx(this.usedIdx);
  }
}

export class PackedCompleter {
  readonly raw: RawPackedRing;
  /** Next position to read an available descriptor from, and the device wrap counter for it. */
  availPos: number;
  availWrap: number;
  /** Next position to write a used descriptor at. */
  usedPos: number;
  usedWrap: number;

  constructor(
    readonly mem: GuestMemory,
    layout: QueueLayout,
    base = 0,
    wrap = 1,
  ) {
    this.raw = new RawPackedRing(mem, layout);
    this.availPos = this.usedPos = base;
    this.availWrap = this.usedWrap = wrap;
  }

  private isAvail(pos: number, wrap: number): boolean {
    return packedIsAvail(this.raw.readDesc(pos).flags, wrap);
  }

  take(): Taken<PackedDesc> | null {
    if (!this.isAvail(this.availPos, this.availWrap)) return null;
    const descs: PackedDesc[] = [];
    let count = 0;
    let id = -1;
    for (;;) {
      if (count > 0 && !this.isAvail(this.availPos, this.availWrap)) throw new Error('list continues into a descriptor that is not available');
      const d = this.raw.readDesc(this.availPos);
      count++;
      id = d.id;
      if (d.flags & VIRTQ_DESC_F_INDIRECT) {
        for (const t of readTable(this.mem, d.addr, d.len)) descs.push({ addr: t.addr, len: t.len, id: t.lo, flags: t.hi });
      } else {
        descs.push(d);
      }
      if (++this.availPos === this.raw.size) {
        this.availPos = 0;
        this.availWrap ^= 1;
      }
      if (!(d.flags & VIRTQ_DESC_F_NEXT)) break;
      if (count > this.raw.size) throw new Error('list longer than the ring');
    }
    return { head: id, descs, count };
  }

  /** Used descriptor for buffer `id` at the next used position; skips `count` positions (§2.8.6). */
  markUsed(id: number, len: number, count: number, written = len > 0): void {
    const w = this.usedWrap;
    const flags = packedUsedFlags(w) | (written ? VIRTQ_DESC_F_WRITE : 0);
    const pos = this.usedPos;
    this.raw.writeBody(pos, { addr: 0, len, id });
    this.raw.setFlags(pos, flags);
    this.usedPos += count;
    if (this.usedPos >= this.raw.size) {
      this.usedPos -= this.raw.size;
      this.usedWrap ^= 1;
    }
  }
}
