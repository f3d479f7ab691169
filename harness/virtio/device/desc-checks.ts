// Checks shared by the split and packed walks: one buffer's address range against the memory
// table, and the error text for a range that fails. Only the failure path allocates.

import { broken, hex, type Broken } from './broken.ts';
import { bigAddr, joinAddr, type DeviceMemory } from './device-memory.ts';
import { SegmentList } from './segments.ts';

const U64_END = 1n << 64n;

/**
 * Add descriptor buffer (lo, hi, len) to `list`; false when any byte is outside the memory table
 * (then build the reason with rangeError). Zero-length buffers touch no memory and add no segment:
 * the spec does not forbid them, and an empty range has nothing to check.
 */
export function addBuffer(list: SegmentList, lo: number, hi: number, len: number): boolean {
  if (len === 0) return true;
  const addr = joinAddr(lo, hi);
  return addr >= 0 && list.addRange(addr, len);
}

/** Why [addr, addr+len) cannot be used: wraps past 2^64, or lies outside the memory table. */
export function rangeError(lo: number, hi: number, len: number, where: string, clause: string): Broken {
  const a = bigAddr(lo, hi);
  if (a + BigInt(len) > U64_END) {
    return broken('length-overflow', clause, `${where}: address ${hex(a)} + len ${hex(len)} overflows 2^64`);
  }
  return broken('address-outside-memory', clause, `${where}: address ${hex(a)} + len ${len} outside memory table`);
}

/** Generation stamps for loop detection: a slot stamped with the current generation was visited. */
export class VisitStamps {
  private readonly seen: Uint32Array;
  private gen = 0;

  constructor(size: number) {
    this.seen = new Uint32Array(size);
  }

  /** Start a new walk. */
  next(): void {
    if (++this.gen === 0xffffffff) {
      this.seen.fill(0);
      this.gen = 1;
    }
  }

  /** Mark i visited; false if it already was in this walk. */
  visit(i: number): boolean {
    if (this.seen[i] === this.gen) return false;
    this.seen[i] = this.gen;
    return true;
  }
}

/**
 * Finds an indirect table in guest memory: in place when it lies in one region, otherwise
 * gathered into a scratch copy (a table may legally span adjacent regions). After locate(),
 * `view` and `off` address the table.
 */
export class TableLocator {
  view: DataView = new DataView(new ArrayBuffer(0));
  off = 0;
  private readonly scratch: Uint8Array;
  private readonly scratchView: DataView;
  private readonly segs: SegmentList;

  constructor(
    private readonly mem: DeviceMemory,
    maxEntries: number,
  ) {
    this.scratch = new Uint8Array(maxEntries * 16);
    this.scratchView = new DataView(this.scratch.buffer);
    this.segs = new SegmentList(mem, 2);
  }

  /** len must already be checked: a positive multiple of 16, at most maxEntries * 16. */
  locate(lo: number, hi: number, len: number, descIndex: number, clause: string): Broken | undefined {
    const addr = joinAddr(lo, hi);
    const r = addr < 0 ? -1 : this.mem.regionFor(addr, len);
    if (r >= 0) {
      this.view = this.mem.views[r];
      this.off = addr - this.mem.base[r];
      return undefined;
    }
    this.segs.reset(this.mem);
    if (addr < 0 || !this.segs.addRange(addr, len)) return rangeError(lo, hi, len, `descriptor ${descIndex} (indirect table)`, clause);
    this.segs.gather(this.scratch.subarray(0, len));
    this.view = this.scratchView;
    this.off = 0;
    return undefined;
  }
}
