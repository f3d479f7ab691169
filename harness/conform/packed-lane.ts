// The suite's driver side of one packed ring (§2.8), over raw ring access. Buffers are written at
// consecutive ring positions with the AVAIL/USED bits of the driver's wrap counter, the first
// descriptor's flags last (§2.8.21.1); used descriptors are read at the device's expected position
// and skipped by the list length of the Buffer ID they name (§2.8.6). Like the split lane it keeps
// what it cannot account for as anomalies instead of stopping.
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, packedAvailFlags, packedIsUsed } from '../virtio/layout.ts';
import { writePackedTable, type RawPackedRing } from '../virtio/driver/raw.ts';
import type { GuestArena } from '../virtio/driver/index.ts';
import type { AddOptions, Elem } from './split-lane.ts';
import { UsedReader, type UsedEntry } from './used-wait.ts';
import { readableHash, type ChainRecord, type LaneWatch } from './ring-watch.ts';

export interface PackedAddOptions extends AddOptions {
  /** Buffer ID to use (default: the lowest free one). */
  id?: number;
  /** Write the list but leave the first descriptor's flags unwritten (publish later with publishFirst). */
  hold?: boolean;
  /** Buffer ID written in every descriptor but the last (the device must use the last one's, §2.8.6). */
  leadingIds?: number;
  /** Garbage for indirect entries' reserved id field (I3). */
  indirectIds?: number;
  /** Extra bits for indirect entries' flags (I3: reserved flags). */
  indirectEntryFlags?: number;
}

export interface Held {
  pos: number;
  flags: number;
}

export class PackedLane extends UsedReader {
  readonly size: number;
  readonly anomalies: string[] = [];
  /** Ring positions each in-flight Buffer ID occupies (for skipping, §2.8.6). */
  private readonly inflight = new Map<number, number>();
  /** IN_ORDER: Buffer IDs in the order they were made available, not yet returned. */
  private readonly order: number[] = [];
  /** What each in-flight Buffer ID's buffer is, for the watch. */
  private readonly records = new Map<number, ChainRecord>();
  private pos = 0;
  private wrap = 1;
  private usedPos = 0;
  private usedWrap = 1;

  constructor(
    readonly raw: RawPackedRing,
    private readonly arena: GuestArena,
    private readonly doKick: () => void,
    private readonly watch?: LaneWatch,
    /** IN_ORDER negotiated: a used descriptor may stand for a batch (§2.8.8). */
    private readonly inOrder = false,
  ) {
    super();
    this.size = raw.size;
  }

  get availState(): { pos: number; wrap: number } {
    return { pos: this.pos, wrap: this.wrap };
  }
  get usedState(): { pos: number; wrap: number } {
    return { pos: this.usedPos, wrap: this.usedWrap };
  }
  get inFlight(): number {
    return this.inflight.size;
  }
  /** Ring positions not held by buffers in flight. */
  get freeSlots(): number {
    let n = this.size;
    for (const c of this.inflight.values()) n -= c;
    return n;
  }
  /** Descriptors each in-flight ID occupies. */
  slotsOf(id: number): number | undefined {
    return this.inflight.get(id);
  }

  kick(): void {
    this.doKick();
  }

  private freeId(): number {
    for (let id = 0; id < 0x10000; id++) if (!this.inflight.has(id)) return id;
    throw new RangeError('packed lane: no free Buffer ID');
  }

  /** Make one buffer available. Returns its Buffer ID. */
  add(elems: readonly Elem[], opts: PackedAddOptions = {}): number {
    return this.addHeld(elems, opts).id;
  }

  /** As add(); with opts.hold the first descriptor stays unpublished and is returned. */
  addHeld(elems: readonly Elem[], opts: PackedAddOptions = {}): { id: number; first: Held } {
    const id = opts.id ?? this.freeId();
    if (this.inflight.has(id)) throw new RangeError(`Buffer ID ${id} is already in flight`);
    let list: Elem[] = [...elems];
    if (opts.indirect) {
      const addr = this.arena.alloc(elems.length * 16, 16);
      writePackedTable(
        this.raw.mem,
        addr,
        elems.map((e) => ({ addr: e.addr, len: e.len, id: opts.indirectIds ?? 0, flags: (e.write ? VIRTQ_DESC_F_WRITE : 0) | (e.flags ?? 0) | (opts.indirectEntryFlags ?? 0) })),
      );
      list = [{ addr, len: elems.length * 16, flags: VIRTQ_DESC_F_INDIRECT | (opts.indirectFlags ?? 0) }];
    }
    if (list.length > this.freeSlots) throw new RangeError(`packed lane: ${list.length} ring slots wanted, ${this.freeSlots} free`);
    let first: Held = { pos: this.pos, flags: 0 };
    list.forEach((e, j) => {
      const flags = packedAvailFlags(this.wrap) | (e.write ? VIRTQ_DESC_F_WRITE : 0) | (j < list.length - 1 ? VIRTQ_DESC_F_NEXT : 0) | (e.flags ?? 0);
      const descId = j < list.length - 1 && opts.leadingIds !== undefined ? opts.leadingIds : id;
      this.raw.writeBody(this.pos, { addr: e.addr, len: e.len, id: descId });
      if (j === 0) first = { pos: this.pos, flags };
      else this.raw.setFlags(this.pos, flags);
      if (++this.pos === this.size) {
        this.pos = 0;
        this.wrap ^= 1;
      }
    });
    this.inflight.set(id, list.length);
    if (this.inOrder) this.order.push(id);
    const visible = elems.every((e) => !((e.flags ?? 0) & VIRTQ_DESC_F_INDIRECT));
    const shown = visible ? elems.map((e) => ({ ...e })) : undefined;
    this.records.set(id, { elems: shown, published: true, foreign: opts.foreign, readableHash: shown && this.watch ? readableHash(this.raw.mem, shown) : undefined });
    if (!opts.hold) this.raw.setFlags(first.pos, first.flags); // publishes the whole list
    return { id, first };
  }

  /** Publish a list written with hold. */
  publishFirst(h: Held): void {
    this.raw.setFlags(h.pos, h.flags);
  }

  /** Used descriptors written since the last read, skipping each by its list length. */
  protected override readUsed(): UsedEntry[] {
    const out: UsedEntry[] = [];
    const from = this.usedPos;
    for (let guard = 0; guard < this.size; guard++) {
      const d = this.raw.readDesc(this.usedPos);
      if (!packedIsUsed(d.flags, this.usedWrap)) break;
      const entry: UsedEntry = { id: d.id, len: d.len, slot: this.usedPos, flags: d.flags };
      let skip = this.inflight.get(d.id);
      if (skip === undefined) {
        const note = `used descriptor at position ${this.usedPos} names Buffer ID ${d.id}, not in flight`;
        this.anomalies.push(note);
        this.watch?.finding('S6', note);
        skip = 1;
        out.push(entry);
      } else {
        // IN_ORDER batch (§2.8.8): one used descriptor, the batch's last Buffer ID, at the first
        // buffer's position; the buffers made available before it were used whole.
        const p = this.inOrder ? this.order.indexOf(d.id) : -1;
        skip = 0;
        for (const id of p > 0 ? this.order.slice(0, p) : []) {
          const rec = this.records.get(id);
          const whole = { id, len: (rec?.elems ?? []).reduce((n, e) => n + (e.write ? e.len : 0), 0), slot: this.usedPos, flags: d.flags };
          skip += this.release(id, whole, out);
        }
        skip += this.release(d.id, entry, out);
      }
      this.usedPos += skip;
      if (this.usedPos >= this.size) {
        this.usedPos -= this.size;
        this.usedWrap ^= 1;
      }
    }
    if (this.usedPos !== from) this.watch?.packedUsed(from, out.length);
    this.returned.push(...out);
    return out;
  }

  /** Free an in-flight Buffer ID for a used entry; returns the ring slots it held. */
  private release(id: number, entry: UsedEntry, out: UsedEntry[]): number {
    const rec = this.records.get(id);
    const slots = this.inflight.get(id) ?? 1;
    this.watch?.returned(entry, rec);
    this.inflight.delete(id);
    this.records.delete(id);
    const at = this.order.indexOf(id);
    if (at >= 0) this.order.splice(at, 1);
    if (!rec?.foreign) out.push(entry);
    return slots;
  }
}
