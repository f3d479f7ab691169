// Typed-array views over ring areas, for Atomics on index and flag fields (one aligned store per
// field; a byte-by-byte write can be seen half done). A ring area that is not inside one memory
// region, or not aligned as the spec requires, is a driver error and comes back as a Broken.

import { broken, hex, type Broken } from './broken.ts';
import type { DeviceMemory } from './device-memory.ts';

export interface RingArea {
  region: number;
  /** Byte offset of the area inside its region. */
  off: number;
}

/** Locate [gpa, gpa+len) for a ring area named `what`, aligned to `align` (spec clause `clause`). */
export function ringArea(mem: DeviceMemory, gpa: number, len: number, align: number, what: string, clause: string): RingArea | Broken {
  if (!Number.isSafeInteger(gpa) || gpa < 0) return broken('ring-layout', clause, `${what} address ${gpa} is not a valid guest address`);
  if (gpa % align !== 0) return broken('ring-layout', clause, `${what} at ${hex(gpa)} is not ${align}-byte aligned`);
  const region = mem.regionFor(gpa, len);
  if (region < 0) return broken('ring-layout', clause, `${what} at ${hex(gpa)} (${len} bytes) is not inside one memory-table region`);
  const off = gpa - mem.base[region];
  // Typed arrays (needed for Atomics) must be aligned in the host mapping too; that fails only for
  // a memory region whose own GPA base is oddly aligned (a frontend choice): refuse, don't throw.
  if ((mem.bytes[region].byteOffset + off) % align !== 0) {
    return broken('ring-layout', clause, `${what} at ${hex(gpa)} is not ${align}-byte aligned in the mapping of memory region ${region} (region base ${hex(mem.base[region])})`);
  }
  return { region, off };
}

export function u16At(mem: DeviceMemory, a: RingArea, count: number): Uint16Array {
  const b = mem.bytes[a.region];
  return new Uint16Array(b.buffer, b.byteOffset + a.off, count);
}

export function u32At(mem: DeviceMemory, a: RingArea, count: number): Uint32Array {
  const b = mem.bytes[a.region];
  return new Uint32Array(b.buffer, b.byteOffset + a.off, count);
}

export function isBroken<T extends object>(x: T | Broken): x is Broken {
  return (x as { kind?: string }).kind === 'broken';
}
