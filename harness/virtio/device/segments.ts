// The readable or writable half of a descriptor chain as a list of guest-memory segments, held in
// parallel typed arrays that are reused from chain to chain (no allocation per descriptor). A
// segment never crosses a memory region: a buffer spanning two adjacent regions becomes two
// segments. `region`/`offset` let an I/O engine build iovecs (mapping base + offset) directly.

import type { DeviceMemory } from './device-memory.ts';

export class SegmentList {
  count = 0;
  /** Sum of the segment lengths. */
  totalLen = 0;
  region: Int32Array;
  /** Byte offset inside the region's bytes. */
  offset: Float64Array;
  len: Uint32Array;
  /** Guest-physical address of each segment. */
  gpa: Float64Array;

  constructor(
    public mem: DeviceMemory,
    capacity = 8,
  ) {
    this.region = new Int32Array(capacity);
    this.offset = new Float64Array(capacity);
    this.len = new Uint32Array(capacity);
    this.gpa = new Float64Array(capacity);
  }

  reset(mem: DeviceMemory): void {
    this.mem = mem;
    this.count = 0;
    this.totalLen = 0;
  }

  /**
   * Append [addr, addr+len), split at region boundaries. False when any byte is outside the memory
   * table (the list may then hold a partial prefix; the caller discards the chain).
   */
  addRange(addr: number, len: number): boolean {
    const m = this.mem;
    let at = addr;
    let left = len;
    while (left > 0) {
      const r = m.regionAt(at);
      if (r < 0) return false;
      const n = Math.min(left, m.end[r] - at);
      this.push(r, at - m.base[r], n, at);
      at += n;
      left -= n;
    }
    return true;
  }

  /** A view of segment i (allocates a subarray; use gather/scatter on hot paths). */
  bytes(i: number): Uint8Array {
    const o = this.offset[i];
    return this.mem.bytes[this.region[i]].subarray(o, o + this.len[i]);
  }

  /** Copy up to dst.length - dstOff bytes, starting `skip` bytes into the list. Returns bytes copied. */
  gather(dst: Uint8Array, dstOff = 0, skip = 0): number {
    let want = dst.length - dstOff;
    let copied = 0;
    for (let i = 0; i < this.count && want > 0; i++) {
      const l = this.len[i];
      if (skip >= l) {
        skip -= l;
        continue;
      }
      const n = Math.min(l - skip, want);
      const o = this.offset[i] + skip;
      dst.set(this.mem.bytes[this.region[i]].subarray(o, o + n), dstOff + copied);
      copied += n;
      want -= n;
      skip = 0;
    }
    return copied;
  }

  /** Write src[srcOff..srcEnd) into the list starting `skip` bytes in. Returns bytes written. */
  scatter(src: Uint8Array, skip = 0, srcOff = 0, srcEnd = src.length): number {
    let at = srcOff;
    for (let i = 0; i < this.count && at < srcEnd; i++) {
      const l = this.len[i];
      if (skip >= l) {
        skip -= l;
        continue;
      }
      const n = Math.min(l - skip, srcEnd - at);
      this.mem.bytes[this.region[i]].set(src.subarray(at, at + n), this.offset[i] + skip);
      at += n;
      skip = 0;
    }
    return at - srcOff;
  }

  /** All bytes as one new array (tests and the reference device; allocates). */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.totalLen);
    this.gather(out);
    return out;
  }

  private push(region: number, offset: number, len: number, gpa: number): void {
    if (this.count === this.region.length) this.grow();
    const i = this.count++;
    this.region[i] = region;
    this.offset[i] = offset;
    this.len[i] = len;
    this.gpa[i] = gpa;
    this.totalLen += len;
  }

  private grow(): void {
    const cap = this.region.length * 2;
    const region = new Int32Array(cap);
    region.set(this.region);
    const offset = new Float64Array(cap);
    offset.set(this.offset);
    const len = new Uint32Array(cap);
    len.set(this.len);
    const gpa = new Float64Array(cap);
    gpa.set(this.gpa);
    this.region = region;
    this.offset = offset;
    this.len = len;
    this.gpa = gpa;
  }
}
