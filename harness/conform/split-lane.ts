// The suite's driver side of one split ring (§2.7), over raw ring access: descriptors are written
// exactly as a check asks (any flags, any chain, indirect tables), and used entries are read as
// the device wrote them. Unlike the driver library, a lane does not stop at a device error: an
// entry naming a chain that is not in flight, or used.idx moving impossibly, is kept as an
// anomaly, so each check judges only its own requirement and leaves the others to their checks.
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../virtio/layout.ts';
import { writeSplitTable, type RawSplitRing, type SplitDesc } from '../virtio/driver/raw.ts';
import type { GuestArena } from '../virtio/driver/index.ts';
import { UsedReader, type UsedEntry } from './used-wait.ts';
import { readableHash, type ChainRecord, type LaneWatch } from './ring-watch.ts';

/** One buffer element: guest-physical address and length; `write` marks it device-writable. */
/** What the lane keeps in the avail ring slot past avail.idx: a head no ring of ≤ 32768 has. */
export const BEYOND = 0xffff;

export interface Elem {
  addr: number;
  len: number;
  write?: boolean;
  /** Extra flag bits ORed in (e.g. WRITE on an indirect pointer, undefined bits). */
  flags?: number;
}

export type { UsedEntry };

export interface AddOptions {
  /**
   * The buffer is the loopback wire's, not the check's: its used entry is released and watched but
   * never handed to the check (takeUsed, returned, waits).
   */
  foreign?: boolean;
  /** Put the elements in an indirect table (one ring descriptor pointing at it). */
  indirect?: boolean;
  /** Extra flags on the ring descriptor that points at the indirect table. */
  indirectFlags?: number;
}

export class SplitLane extends UsedReader {
  readonly size: number;
  /** used.idx moving impossibly (more than the ring size, or backwards): S7's to judge. */
  readonly idxAnomalies: string[] = [];
  /** Used entries naming a chain that is not in flight (returned twice, or never made available): S6's. */
  readonly idAnomalies: string[] = [];
  /** Entries consumed beyond avail.idx (more used than made available, or an unpublished chain): S8's. */
  readonly beyondAvail: string[] = [];
  private availIdx: number;
  private usedSeen: number;
  private cursor = 0;
  private readonly busy: Uint8Array;
  private readonly chains = new Map<number, number[]>();
  /** IN_ORDER: heads in the order they were made available, not yet returned. */
  private readonly order: number[] = [];
  /** What each in-flight head's buffer is, for the watch. */
  private readonly records = new Map<number, ChainRecord>();

  constructor(
    readonly raw: RawSplitRing,
    private readonly arena: GuestArena,
    base: number,
    private readonly doKick: () => void,
    private readonly watch?: LaneWatch,
    /** IN_ORDER negotiated: a used entry may stand for a batch (§2.7.9). */
    private readonly inOrder = false,
  ) {
    super();
    this.size = raw.size;
    this.availIdx = this.usedSeen = base & 0xffff;
    this.busy = new Uint8Array(this.size);
    this.markBeyond();
  }

  /** Everything the lane could not account for. */
  get anomalies(): string[] {
    return [...this.idxAnomalies, ...this.idAnomalies, ...this.beyondAvail];
  }

  /** Next avail index the lane will publish. */
  get nextAvail(): number {
    return this.availIdx;
  }
  /** Next used index the lane will read. */
  get nextUsed(): number {
    return this.usedSeen;
  }
  /** Chains made available and not returned. */
  get inFlight(): number {
    return this.chains.size;
  }
  get freeDescs(): number {
    let n = 0;
    for (const b of this.busy) if (!b) n++;
    return n;
  }

  kick(): void {
    this.doKick();
  }

  /** Free descriptor indices for a chain of n, taken in table order from the cursor. */
  private take(n: number): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.size && out.length < n; k++) {
      const i = (this.cursor + k) % this.size;
      if (!this.busy[i]) out.push(i);
    }
    if (out.length < n) throw new RangeError(`split lane: ${n} descriptors wanted, ${out.length} free (ring of ${this.size})`);
    this.cursor = (out[out.length - 1] + 1) % this.size;
    return out;
  }

  /** Write a chain of direct descriptors (NEXT-linked in order); returns the head, not yet published. */
  writeChain(elems: readonly Elem[]): number {
    if (elems.length === 0) throw new RangeError('a chain needs at least one element');
    return this.writeChainAt(this.take(elems.length), elems);
  }

  /** The same at chosen descriptor indices (any order: the chain follows `idx`). */
  writeChainAt(idx: readonly number[], elems: readonly Elem[]): number {
    if (idx.length !== elems.length) throw new RangeError(`${idx.length} indices for ${elems.length} elements`);
    for (const i of idx) if (this.busy[i]) throw new RangeError(`descriptor ${i} is in flight`);
    elems.forEach((e, j) => {
      const last = j === elems.length - 1;
      const flags = (e.write ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT) | (e.flags ?? 0);
      this.raw.writeDesc(idx[j], { addr: e.addr, len: e.len, flags, next: last ? 0 : idx[j + 1] });
      this.busy[idx[j]] = 1;
    });
    this.chains.set(idx[0], [...idx]);
    // A hand-made indirect pointer hides the buffer from the watch (the table is the check's own).
    const visible = elems.every((e) => !((e.flags ?? 0) & VIRTQ_DESC_F_INDIRECT));
    this.records.set(idx[0], { elems: visible ? elems.map((e) => ({ ...e })) : undefined, published: false });
    return idx[0];
  }

  /** An indirect table in fresh guest memory, NEXT-linked 0→1→…; returns its address and length. */
  indirectTable(elems: readonly Elem[]): { addr: number; len: number } {
    const descs: SplitDesc[] = elems.map((e, j) => ({
      addr: e.addr,
      len: e.len,
      flags: (e.write ? VIRTQ_DESC_F_WRITE : 0) | (j < elems.length - 1 ? VIRTQ_DESC_F_NEXT : 0) | (e.flags ?? 0),
      next: j < elems.length - 1 ? j + 1 : 0,
    }));
    const addr = this.arena.alloc(descs.length * 16, 16);
    writeSplitTable(this.raw.mem, addr, descs);
    return { addr, len: descs.length * 16 };
  }

  /** Write descriptors for one buffer (direct or indirect) and publish it; returns the head. */
  add(elems: readonly Elem[], opts: AddOptions = {}): number {
    let head: number;
    if (opts.indirect) {
      const t = this.indirectTable(elems);
      head = this.writeChain([{ addr: t.addr, len: t.len, flags: VIRTQ_DESC_F_INDIRECT | (opts.indirectFlags ?? 0) }]);
      this.records.set(head, { elems: elems.map((e) => ({ ...e })), published: false });
    } else {
      head = this.writeChain(elems);
    }
    if (opts.foreign) this.records.get(head)!.foreign = true;
    this.publish(head);
    return head;
  }

  /** ring[avail.idx] = head, then avail.idx + 1 (one atomic store). */
  publish(head: number): void {
    this.published(head);
    this.raw.setAvailRing(this.availIdx, head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.raw.setAvailIdx(this.availIdx);
    this.markBeyond();
  }

  /**
   * The avail ring slot past avail.idx holds a head no ring has (S8's marker): a device that
   * consumes it names it, so "used beyond avail.idx" is told apart from "returned twice" (S6).
   */
  private markBeyond(): void {
    this.raw.setAvailRing(this.availIdx, BEYOND);
  }

  /** Publish several heads with a single avail.idx update. */
  publishMany(heads: readonly number[]): void {
    let idx = this.availIdx;
    for (const h of heads) {
      this.published(h);
      this.raw.setAvailRing(idx, h);
      idx = (idx + 1) & 0xffff;
    }
    this.availIdx = idx;
    this.raw.setAvailIdx(idx);
    this.markBeyond();
  }

  /** Device-writable bytes of an in-flight chain (0 when the lane cannot see its buffer). */
  private writableOf(head: number): number {
    return (this.records.get(head)?.elems ?? []).reduce((n, e) => n + (e.write ? e.len : 0), 0);
  }

  /** The head goes below avail.idx: its readable bytes are what the device must leave alone. */
  private published(head: number): void {
    if (this.inOrder) this.order.push(head);
    const r = this.records.get(head);
    if (!r) return;
    r.published = true;
    if (r.elems && this.watch) r.readableHash = readableHash(this.raw.mem, r.elems);
  }

  /** New used entries: an impossible used.idx is an anomaly, not an exception. */
  protected override readUsed(): UsedEntry[] {
    const now = this.raw.usedIdx();
    const ahead = (now - this.usedSeen) & 0xffff;
    if (ahead === 0) return [];
    if (ahead > this.size) {
      const note = `used.idx moved from ${this.usedSeen} to ${now} (${ahead} entries, ring of ${this.size})`;
      if (this.idxAnomalies[this.idxAnomalies.length - 1] !== note) {
        this.idxAnomalies.push(note);
        this.watch?.finding('S7', note);
      }
      return [];
    }
    const outstanding = (this.availIdx - this.usedSeen) & 0xffff;
    const flagged = this.idAnomalies.length + this.beyondAvail.length;
    const out: UsedEntry[] = [];
    for (let k = 0; k < ahead; k++) {
      const slot = (this.usedSeen + k) & 0xffff;
      const e = this.raw.usedElem(slot);
      // IN_ORDER batch (§2.7.9): the first slot names the batch's last buffer; the buffers before it
      // in publish order were used whole, and their slots are left unwritten.
      const p = this.inOrder ? this.order.indexOf(e.id) : -1;
      if (p > 0 && k + p < ahead) {
        for (const h of this.order.slice(0, p)) {
          const whole = { id: h, len: this.writableOf(h), slot };
          if (!this.release(whole)) out.push(whole);
        }
        k += p;
      }
      const entry = { id: e.id, len: e.len, slot };
      if (!this.release(entry)) out.push(entry);
    }
    // More used than made available, and no entry said why (S6 or S8 above): still S8's.
    if (ahead > outstanding && this.idAnomalies.length + this.beyondAvail.length === flagged) {
      const note = `used.idx moved from ${this.usedSeen} to ${now}: ${ahead} entries, but only ${outstanding} buffer(s) were below avail.idx ${this.availIdx}`;
      this.beyondAvail.push(note);
      this.watch?.finding('S8', note);
    }
    this.watch?.usedMoved(this.usedSeen, now);
    this.usedSeen = now;
    this.returned.push(...out);
    return out;
  }

  /** Free the chain an entry names; true when it was the wire's (not the check's to see). */
  private release(entry: UsedEntry): boolean {
    const { id, slot } = entry;
    const chain = this.chains.get(id);
    if (!chain) {
      if (id === BEYOND) {
        const note = `used entry ${slot} names id ${BEYOND}, the marker the driver keeps in the avail ring slot past avail.idx: the device consumed an entry it was not given`;
        this.beyondAvail.push(note);
        this.watch?.finding('S8', note);
        return false;
      }
      const note = `used entry ${slot} names id ${id}, not a chain in flight`;
      this.idAnomalies.push(note);
      this.watch?.finding('S6', note);
      return false;
    }
    const rec = this.records.get(id);
    if (rec && !rec.published) {
      const note = `used entry ${slot} names chain ${id}, which was written but never made available (not below avail.idx)`;
      this.beyondAvail.push(note);
      this.watch?.finding('S8', note);
    }
    this.watch?.returned(entry, rec);
    for (const i of chain) this.busy[i] = 0;
    this.chains.delete(id);
    this.records.delete(id);
    const at = this.order.indexOf(id);
    if (at >= 0) this.order.splice(at, 1);
    return rec?.foreign === true;
  }
}
