// What the suite sees of a device's ring behaviour in every check, whatever the check is about:
// a used entry claiming more bytes than the buffer can hold (S5), a device-readable buffer that
// changed while the device held it (S1), an RX header whose num_buffers is wrong (H1/H2), and used
// buffers that should have been notified but never were (N1/N3 split, P7 packed). The lanes add
// their own bookkeeping findings (S6 ids, S7 used.idx, S8 beyond avail.idx). A finding is kept
// with the ring and the moment it was seen, so the runner can record it against the requirement it
// violates even when the check that observed it passes.
import { F, has } from '../virtio/features.ts';
import { RING_EVENT_FLAGS_ENABLE, VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_WRITE, vringNeedEvent } from '../virtio/layout.ts';
import type { GuestMemory } from '../virtio/memory.ts';
import { byteView } from '../virtio/driver/views.ts';
import type { RawPackedRing, RawSplitRing } from '../virtio/driver/raw.ts';

/** One buffer element as a lane wrote it (guest-physical address, length, device-writable?). */
export interface WatchedElem {
  addr: number;
  len: number;
  write?: boolean;
}

/** What a lane knows of a buffer it made available. */
export interface ChainRecord {
  /** The buffer's elements; undefined when the lane cannot see them (a hand-made indirect pointer). */
  elems: readonly WatchedElem[] | undefined;
  /** Split: the head went into the avail ring below avail.idx. Packed: always true once added. */
  published: boolean;
  /** Hash of the device-readable bytes when the buffer was made available. */
  readableHash?: number;
  /** The loopback wire's buffer, not the check's. */
  foreign?: boolean;
}

/** Someone else reading what a ring returns (the loopback wire captures frames from RX). */
/** A used entry as a lane read it (packed: with the used descriptor's flags). */
export interface ReturnedEntry {
  id: number;
  len: number;
  slot: number;
  flags?: number;
}

export type ReturnedListener = (e: ReturnedEntry, chain: ChainRecord | undefined) => void;

export interface RingFinding {
  /** Catalogue ID of the requirement violated. */
  requirement: string;
  /** Ring (queue) index. */
  ring: number;
  /** performance.now() when it was seen. */
  at: number;
  text: string;
}

/** The lane side of a watch: lanes report what they read; the watch judges it. */
export interface LaneWatch {
  finding(requirement: string, text: string): void;
  returned(e: ReturnedEntry, chain: ChainRecord | undefined): void;
  /** Split: used.idx moved from `old` to `now` (entries accepted by the lane). */
  usedMoved(old: number, now: number): void;
  /** Packed: used descriptors were read. */
  packedUsed(first: number, count: number): void;
}

/** Readable bytes hashed per buffer; larger buffers are not watched (cost, and no check needs it). */
const HASH_LIMIT = 64 * 1024;
const HDR = 12;

/** FNV-1a over the device-readable elements, or undefined when they are too large to watch. */
export function readableHash(mem: GuestMemory, elems: readonly WatchedElem[]): number | undefined {
  let total = 0;
  for (const e of elems) if (!e.write) total += e.len;
  if (total === 0 || total > HASH_LIMIT) return undefined;
  let h = 0x811c9dc5;
  for (const e of elems) {
    if (e.write) continue;
    const b = byteView(mem, e.addr, e.len);
    for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  }
  return h >>> 0;
}

export interface RingWatchOptions {
  ring: number;
  size: number;
  features: bigint;
  mem: GuestMemory;
  split?: RawSplitRing;
  packed?: RawPackedRing;
  sink: (f: RingFinding) => void;
}

export class RingWatch implements LaneWatch {
  /** When used buffers were seen that the driver had asked to be notified of (first time). */
  private due: { at: number; what: string } | undefined;
  /** MRG_RXBUF: entries still to come that continue the packet whose header was read. */
  private continuation = 0;
  private readonly rx: boolean;
  private readonly mrg: boolean;
  private readonly eventIdx: boolean;
  private readonly listeners: ReturnedListener[] = [];

  constructor(private readonly o: RingWatchOptions) {
    this.rx = o.ring % 2 === 0;
    this.mrg = has(o.features, F.NET_F_MRG_RXBUF);
    this.eventIdx = has(o.features, F.F_EVENT_IDX);
  }

  finding(requirement: string, text: string): void {
    this.o.sink({ requirement, ring: this.o.ring, at: performance.now(), text });
  }

  /** A notification was owed: the first such moment, for the end-of-session judgement. */
  get owed(): { at: number; what: string } | undefined {
    return this.due;
  }

  listen(fn: ReturnedListener): void {
    this.listeners.push(fn);
  }

  returned(e: ReturnedEntry, chain: ChainRecord | undefined): void {
    for (const l of this.listeners) l(e, chain);
    const elems = chain?.elems;
    if (!elems) return;
    const writable = elems.reduce((n, x) => n + (x.write ? x.len : 0), 0);
    const ring = this.rx ? 'RX' : 'TX';
    // Packed: a used descriptor without WRITE has a reserved Element Length (§2.8.4); P5 judges WRITE.
    const lenMeaningful = !this.o.packed || ((e.flags ?? 0) & VIRTQ_DESC_F_WRITE) !== 0;
    if (lenMeaningful && e.len > writable) {
      const used = this.o.packed ? ` in a used descriptor with WRITE (flags 0x${(e.flags ?? 0).toString(16)})` : '';
      this.finding('S5', `${ring} used entry ${e.slot} (id ${e.id}) reports len ${e.len}${used}, but the buffer has ${writable === 0 ? 'no device-writable bytes' : `only ${writable} device-writable bytes`}`);
    }
    if (chain.readableHash !== undefined && readableHash(this.o.mem, elems) !== chain.readableHash) {
      const at = elems.filter((x) => !x.write).map((x) => `0x${x.addr.toString(16)}+${x.len}`).join(', ');
      this.finding('S1', `${ring} buffer id ${e.id}: device-readable bytes (${at}) changed between being made available and being returned`);
    }
    if (this.rx && lenMeaningful) this.header(e, elems, writable);
  }

  /** num_buffers in the header of each received packet (H1 without MRG_RXBUF, H2 with it). */
  private header(e: ReturnedEntry, elems: readonly WatchedElem[], writable: number): void {
    if (this.continuation > 0) {
      this.continuation--;
      return;
    }
    if (writable < HDR || e.len < HDR) return; // too short for a header: S4/S5/H3 judge that
    const hdr = new Uint8Array(HDR);
    let at = 0;
    for (const x of elems) {
      if (!x.write || at >= HDR) continue;
      const n = Math.min(x.len, HDR - at);
      hdr.set(byteView(this.o.mem, x.addr, n), at);
      at += n;
    }
    const nb = hdr[10] | (hdr[11] << 8);
    if (!this.mrg) {
      if (nb !== 1) this.finding('H1', `RX used entry ${e.slot} (id ${e.id}, len ${e.len}): num_buffers is ${nb}, not 1, without MRG_RXBUF`);
    } else if (nb === 0 || nb > this.o.size) {
      this.finding('H2', `RX used entry ${e.slot} (id ${e.id}, len ${e.len}): num_buffers is ${nb} with MRG_RXBUF (must count the buffers of the packet, 1..${this.o.size})`);
    } else {
      this.continuation = nb - 1;
    }
  }

  usedMoved(old: number, now: number): void {
    if (this.due || !this.o.split) return;
    const raw = this.o.split;
    if (this.eventIdx) {
      const ev = raw.usedEvent();
      if (vringNeedEvent(ev, now, old)) this.due = { at: performance.now(), what: `used.idx ${old}→${now} passed used_event ${ev} (EVENT_IDX)` };
    } else if ((raw.availFlags() & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0) {
      this.due = { at: performance.now(), what: `used.idx ${old}→${now} with avail.flags 0 (no EVENT_IDX)` };
    }
  }

  packedUsed(first: number, count: number): void {
    if (this.due || !this.o.packed || this.eventIdx) return;
    const ev = this.o.packed.driverEvent();
    if (ev.flags === RING_EVENT_FLAGS_ENABLE) this.due = { at: performance.now(), what: `${count} used descriptor(s) from position ${first} with driver event flags ENABLE` };
  }

  /** The requirement a missing notification on this ring breaks. */
  get notifyRequirement(): string {
    return this.o.packed ? 'P7' : this.eventIdx ? 'N3' : 'N1';
  }
}
