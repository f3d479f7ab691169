// Guest memory as the driver and device see it: regions of bytes, each with a guest-physical
// address (what descriptors carry) and, for vhost-user, the frontend's user address (what
// SET_VRING_ADDR carries). GPAs are chosen unlike process addresses so that a device mixing them
// up touches nothing valid. Memory is passed into every ring operation (kept apart from queue state).

export interface MemoryRegion {
  /** Guest-physical base address. */
  gpa: bigint;
  size: number;
  /** Frontend user address reported over vhost-user (any stable number unlike the GPA). */
  uva: bigint;
  /** Offset of this region within `fd` when backed by a memfd (vhost-user mmap_offset). */
  mmapOffset: number;
  /** memfd backing, when shared with another process; -1 for in-process memory. */
  fd: number;
  bytes: Uint8Array;
}

export class GuestMemory {
  constructor(readonly regions: MemoryRegion[]) {}

  /** The region containing [gpa, gpa+len), or undefined when any byte falls outside every region. */
  find(gpa: bigint, len: number): MemoryRegion | undefined {
    for (const r of this.regions) {
      if (gpa >= r.gpa && gpa + BigInt(len) <= r.gpa + BigInt(r.size)) return r;
    }
    return undefined;
  }

  /** A view of guest memory at gpa; throws RangeError naming the address when it is not mapped. */
  slice(gpa: bigint, len: number): Uint8Array {
    const r = this.find(gpa, len);
    if (!r) throw new RangeError(`guest address 0x${gpa.toString(16)}+${len} is outside the memory table`);
    const off = Number(gpa - r.gpa);
    return r.bytes.subarray(off, off + len);
  }

  /** Translate a frontend user address (vhost-user ring addresses) to a GPA. */
  uvaToGpa(uva: bigint): bigint | undefined {
    for (const r of this.regions) if (uva >= r.uva && uva < r.uva + BigInt(r.size)) return r.gpa + (uva - r.uva);
    return undefined;
  }

  gpaToUva(gpa: bigint): bigint | undefined {
    for (const r of this.regions) if (gpa >= r.gpa && gpa < r.gpa + BigInt(r.size)) return r.uva + (gpa - r.gpa);
    return undefined;
  }
}

/** Deliberately odd bases: a GPA that is not a process address, and a UVA that is not a GPA. */
export const DEFAULT_GPA_BASE = 0x4000_0000n;
export const DEFAULT_UVA_BASE = 0x7f00_dead_0000n;

/** In-process memory (SharedArrayBuffer, so Workers can share it). */
export function sharedMemory(size: number, gpa = DEFAULT_GPA_BASE, uva = DEFAULT_UVA_BASE): GuestMemory {
  const bytes = new Uint8Array(new SharedArrayBuffer(size));
  return new GuestMemory([{ gpa, size, uva, mmapOffset: 0, fd: -1, bytes }]);
}
