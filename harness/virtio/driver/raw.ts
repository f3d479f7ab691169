// Raw ring access for the conformance suite: write any descriptor, chain, loop, indirect table or
// index the spec forbids, and read back everything the device wrote. Nothing here keeps driver
// bookkeeping or checks rules; the normal path (split.ts / packed.ts) stays clean of this.
// Fields the device reads concurrently are still published with Atomics so a hostile layout is
// seen exactly as written.

import type { GuestMemory } from '../memory.ts';
import { DESC_SIZE, availEventOffset, packedSizes, splitSizes, usedEventOffset } from '../layout.ts';
import type { QueueLayout } from './types.ts';
import { assertLittleEndian, byteView, readAddr, u16View, u32View, writeAddr } from './views.ts';

export interface SplitDesc {
  addr: number;
  len: number;
  flags: number;
  next: number;
}

export interface PackedDesc {
  addr: number;
  len: number;
  id: number;
  flags: number;
}

function writeSplit(words: Uint32Array, i: number, d: SplitDesc): void {
  writeAddr(words, i * 4, d.addr);
  words[i * 4 + 2] = d.len >>> 0;
  words[i * 4 + 3] = (d.flags & 0xffff) | ((d.next & 0xffff) << 16);
}

function readSplit(words: Uint32Array, i: number): SplitDesc {
  const w = words[i * 4 + 3];
  return { addr: readAddr(words, i * 4), len: words[i * 4 + 2], flags: w & 0xffff, next: w >>> 16 };
}

/** Split-format descriptors (ring entries or an indirect table) at any GPA. */
export function writeSplitTable(mem: GuestMemory, gpa: number, descs: readonly SplitDesc[]): void {
  const words = u32View(mem, gpa, descs.length * 4, 'indirect table');
  descs.forEach((d, i) => writeSplit(words, i, d));
}

/** Packed-format descriptors (an indirect table) at any GPA. */
export function writePackedTable(mem: GuestMemory, gpa: number, descs: readonly PackedDesc[]): void {
  const words = u32View(mem, gpa, descs.length * 4, 'indirect table');
  descs.forEach((d, i) => {
    writeAddr(words, i * 4, d.addr);
    words[i * 4 + 2] = d.len >>> 0;
    words[i * 4 + 3] = (d.id & 0xffff) | ((d.flags & 0xffff) << 16);
  });
}

export class RawSplitRing {
  readonly size: number;
  private readonly desc: Uint32Array;
  private readonly avail: Uint16Array;
  private readonly used16: Uint16Array;
  private readonly used32: Uint32Array;

  constructor(
    readonly mem: GuestMemory,
    readonly layout: QueueLayout,
  ) {
    assertLittleEndian();
    if (layout.kind !== 'split') throw new RangeError('RawSplitRing needs a split layout');
    const n = (this.size = layout.size);
    const s = splitSizes(n, true);
    this.desc = u32View(mem, layout.desc, n * 4);
    this.avail = u16View(mem, layout.driver, s.avail / 2);
    this.used16 = u16View(mem, layout.device, s.used / 2);
    this.used32 = u32View(mem, layout.device, (s.used - 2) / 4);
  }

  writeDesc(i: number, d: SplitDesc): void {
    writeSplit(this.desc, i, d);
  }
  readDesc(i: number): SplitDesc {
    return readSplit(this.desc, i);
  }
  /** Copy of the descriptor table (compare before/after: the device must not write it, §2.7.5.1). */
  snapshotDescs(): Uint8Array {
    return byteView(this.mem, this.layout.desc, this.size * DESC_SIZE).slice();
  }

  setAvailFlags(flags: number): void {
    Atomics.store(this.avail, 0, flags);
  }
  availFlags(): number {
    return Atomics.load(this.avail, 0);
  }
  /** Ring slot (taken modulo the size) — any value, including heads ≥ size. */
  setAvailRing(slot: number, head: number): void {
    this.avail[2 + (slot % this.size)] = head;
  }
  readAvailRing(slot: number): number {
    return this.avail[2 + (slot % this.size)];
  }
  /** Publish any avail.idx, e.g. a jump past the ring size. */
  setAvailIdx(idx: number): void {
    Atomics.store(this.avail, 1, idx & 0xffff);
  }
  availIdx(): number {
    return Atomics.load(this.avail, 1);
  }
  /** ring[avail.idx] = head, then avail.idx + 1. */
  publish(head: number): void {
    const idx = this.availIdx();
    this.setAvailRing(idx, head);
    this.setAvailIdx(idx + 1);
  }
  setUsedEvent(idx: number): void {
    Atomics.store(this.avail, usedEventOffset(this.size) / 2, idx & 0xffff);
  }
  usedEvent(): number {
    return Atomics.load(this.avail, usedEventOffset(this.size) / 2);
  }

  usedFlags(): number {
    return Atomics.load(this.used16, 0);
  }
  usedIdx(): number {
    return Atomics.load(this.used16, 1);
  }
  /** Device-owned; only for presetting before the device starts. */
  setUsedIdx(idx: number): void {
    Atomics.store(this.used16, 1, idx & 0xffff);
  }
  usedElem(slot: number): { id: number; len: number } {
    const s = slot % this.size;
    return { id: this.used32[1 + 2 * s], len: this.used32[2 + 2 * s] };
  }
  availEvent(): number {
    return Atomics.load(this.used16, availEventOffset(this.size) / 2);
  }
  /** Device-side writes, for test devices and for presetting: used ring entry, flags, avail_event. */
  writeUsedElem(slot: number, id: number, len: number): void {
    const s = slot % this.size;
    this.used32[1 + 2 * s] = id >>> 0;
    this.used32[2 + 2 * s] = len >>> 0;
  }
  setUsedFlags(flags: number): void {
    Atomics.store(this.used16, 0, flags & 0xffff);
  }
  setAvailEvent(idx: number): void {
    Atomics.store(this.used16, availEventOffset(this.size) / 2, idx & 0xffff);
  }
}

export class RawPackedRing {
  readonly size: number;
  private readonly d32: Uint32Array;
  private readonly d16: Uint16Array;
  private readonly drv: Uint16Array;
  private readonly dev: Uint16Array;

  constructor(
    readonly mem: GuestMemory,
    readonly layout: QueueLayout,
  ) {
    assertLittleEndian();
    if (layout.kind !== 'packed') throw new RangeError('RawPackedRing needs a packed layout');
    const n = (this.size = layout.size);
    this.d32 = u32View(mem, layout.desc, packedSizes(n).desc / 4);
    this.d16 = u16View(mem, layout.desc, packedSizes(n).desc / 2);
    this.drv = u16View(mem, layout.driver, 2);
    this.dev = u16View(mem, layout.device, 2);
  }

  /** Address, length and id first; flags last with one atomic store (what makes it visible). */
  writeDesc(pos: number, d: PackedDesc): void {
    writeAddr(this.d32, pos * 4, d.addr);
    this.d32[pos * 4 + 2] = d.len >>> 0;
    this.d16[pos * 8 + 6] = d.id;
    Atomics.store(this.d16, pos * 8 + 7, d.flags & 0xffff);
  }
  /** Body only, flags untouched (to flip them later with setFlags, e.g. head of a list last). */
  writeBody(pos: number, d: Omit<PackedDesc, 'flags'>): void {
    writeAddr(this.d32, pos * 4, d.addr);
    this.d32[pos * 4 + 2] = d.len >>> 0;
    this.d16[pos * 8 + 6] = d.id;
  }
  setFlags(pos: number, flags: number): void {
    Atomics.store(this.d16, pos * 8 + 7, flags & 0xffff);
  }
  readDesc(pos: number): PackedDesc {
    const flags = Atomics.load(this.d16, pos * 8 + 7);
    return { addr: readAddr(this.d32, pos * 4), len: this.d32[pos * 4 + 2], id: this.d16[pos * 8 + 6], flags };
  }
  snapshotDescs(): Uint8Array {
    return byteView(this.mem, this.layout.desc, this.size * DESC_SIZE).slice();
  }

  setDriverEvent(offWrap: number, flags: number): void {
    Atomics.store(this.drv, 0, offWrap & 0xffff);
    Atomics.store(this.drv, 1, flags & 0xffff);
  }
  driverEvent(): { offWrap: number; flags: number } {
    return { offWrap: Atomics.load(this.drv, 0), flags: Atomics.load(this.drv, 1) };
  }
  deviceEvent(): { offWrap: number; flags: number } {
    return { offWrap: Atomics.load(this.dev, 0), flags: Atomics.load(this.dev, 1) };
  }
  /** Device-owned; for test devices: off_wrap first, then flags. */
  setDeviceEvent(offWrap: number, flags: number): void {
    Atomics.store(this.dev, 0, offWrap & 0xffff);
    Atomics.store(this.dev, 1, flags & 0xffff);
  }
}
