// The device's view of the memory table: GuestMemory regions with their GPAs as plain numbers, so
// the per-descriptor translation never touches BigInt. A guest address is untrusted: every
// translation checks the whole [addr, addr+len) range against the table, and a range that is not
// fully covered is refused, so nothing outside the table is ever read or written.

import type { GuestMemory } from '../memory.ts';

const TWO_32 = 4294967296;
/**
 * Region ends must stay below this so that addr + len (addr < 2^53, len < 2^32) compared against a
 * region end can never round into a region: any sum that loses precision is above 2^53 > LIMIT.
 */
const REGION_END_LIMIT = 2 ** 52;
/** A descriptor's high address word at or above this means addr ≥ 2^53: outside every region. */
export const ADDR_HI_LIMIT = 0x200000;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class DeviceMemory {
  readonly count: number;
  readonly base: Float64Array;
  readonly end: Float64Array;
  readonly bytes: Uint8Array[];
  readonly views: DataView[];
  /** Region of the last hit: consecutive buffers usually sit in the same region. */
  private hint = 0;

  constructor(readonly guest: GuestMemory) {
    // Ring fields are accessed through host-order typed arrays (for Atomics); rings are little-endian.
    if (!LITTLE_ENDIAN) throw new Error('the virtio device side needs a little-endian host (rings are little-endian)');
    const regions = guest.regions;
    this.count = regions.length;
    this.base = new Float64Array(this.count);
    this.end = new Float64Array(this.count);
    this.bytes = [];
    this.views = [];
    regions.forEach((r, i) => {
      const base = Number(r.gpa);
      if (base + r.size > REGION_END_LIMIT) {
        throw new RangeError(`memory region ${i} at GPA 0x${r.gpa.toString(16)} ends above 2^52; not supported`);
      }
      if (r.bytes.length < r.size) throw new RangeError(`memory region ${i} has ${r.bytes.length} bytes mapped, size says ${r.size}`);
      this.base[i] = base;
      this.end[i] = base + r.size;
      this.bytes.push(r.bytes);
      this.views.push(new DataView(r.bytes.buffer, r.bytes.byteOffset, r.size));
    });
  }

  /** Index of the region containing gpa (one byte), or -1. */
  regionAt(gpa: number): number {
    const h = this.hint;
    if (h < this.count && gpa >= this.base[h] && gpa < this.end[h]) return h;
    for (let i = 0; i < this.count; i++) {
      if (gpa >= this.base[i] && gpa < this.end[i]) return (this.hint = i);
    }
    return -1;
  }

  /** Index of the one region holding all of [gpa, gpa+len), or -1 (len ≥ 1). */
  regionFor(gpa: number, len: number): number {
    const r = this.regionAt(gpa);
    return r >= 0 && gpa + len <= this.end[r] ? r : -1;
  }

  /** Whether [gpa, gpa+len) is covered by regions, allowing it to run across adjacent ones. */
  covers(gpa: number, len: number): boolean {
    let at = gpa;
    const stop = gpa + len;
    for (let guard = 0; at < stop && guard <= this.count; guard++) {
      const r = this.regionAt(at);
      if (r < 0) return false;
      at = this.end[r];
    }
    return at >= stop;
  }

  /** A view of [gpa, gpa+len) when it lies in one region; undefined otherwise. Allocates (setup and tests). */
  view(gpa: number, len: number): Uint8Array | undefined {
    const r = this.regionFor(gpa, len);
    if (r < 0) return undefined;
    const off = gpa - this.base[r];
    return this.bytes[r].subarray(off, off + len);
  }
}

/** A 64-bit descriptor address from its two little-endian words, or -1 when it is ≥ 2^53. */
export function joinAddr(lo: number, hi: number): number {
  return hi >= ADDR_HI_LIMIT ? -1 : hi * TWO_32 + lo;
}

/** The exact address as a bigint (error messages only). */
export function bigAddr(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}
