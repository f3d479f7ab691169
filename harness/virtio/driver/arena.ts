// A bump allocator of guest-physical space inside one memory region: rings, indirect tables and
// packet buffers get GPAs from here. Allocations are zero-filled (split rings and the packed
// descriptor ring start zeroed, §2.7.10.1 / §2.8.18).

import type { GuestMemory } from '../memory.ts';
import { byteView } from './views.ts';

export class GuestArena {
  private next: number;
  private readonly end: number;

  constructor(
    readonly mem: GuestMemory,
    regionIndex = 0,
    /** Bytes to leave unused at the start of the region. */
    skip = 0,
  ) {
    const region = mem.regions[regionIndex];
    if (!region) throw new RangeError(`memory has no region ${regionIndex}`);
    this.next = Number(region.gpa) + skip;
    this.end = Number(region.gpa) + region.size;
  }

  /** GPA of `size` zeroed bytes aligned to `align` (a power of 2). */
  alloc(size: number, align = 16): number {
    if (align <= 0 || (align & (align - 1)) !== 0) throw new RangeError(`alignment ${align} is not a power of 2`);
    const gpa = Math.ceil(this.next / align) * align;
    if (gpa + size > this.end) {
      throw new RangeError(`guest memory exhausted: need ${size} B at 0x${gpa.toString(16)}, region ends at 0x${this.end.toString(16)}`);
    }
    this.next = gpa + size;
    byteView(this.mem, gpa, size).fill(0);
    return gpa;
  }

  get remaining(): number {
    return this.end - this.next;
  }
}
