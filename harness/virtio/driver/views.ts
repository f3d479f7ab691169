// Typed-array views over guest memory for ring fields. Rings are little-endian (§2.4 / §2.7) and
// typed arrays use host order, so the whole driver assumes a little-endian host and checks it once.
// Index/flag fields the other side touches concurrently are accessed with Atomics on these views:
// one aligned store per field, never the byte-by-byte writes that a reader can see half done.

import type { GuestMemory, MemoryRegion } from '../memory.ts';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function assertLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new Error('virtio rings are little-endian; this driver needs a little-endian host');
}

/** The region holding [gpa, gpa+len) and the byte offset of gpa inside its ArrayBuffer. */
export function locate(mem: GuestMemory, gpa: number, len: number): { region: MemoryRegion; byteOffset: number } {
  for (const region of mem.regions) {
    const base = Number(region.gpa);
    if (gpa >= base && gpa + len <= base + region.size) {
      return { region, byteOffset: region.bytes.byteOffset + (gpa - base) };
    }
  }
  throw new RangeError(`guest range 0x${gpa.toString(16)}+${len} is not inside one memory region`);
}

function checkAlign(gpa: number, byteOffset: number, align: number, what: string): void {
  if (gpa % align !== 0 || byteOffset % align !== 0) {
    throw new RangeError(`${what} at GPA 0x${gpa.toString(16)} is not ${align}-byte aligned`);
  }
}

export function u16View(mem: GuestMemory, gpa: number, count: number, what = 'ring field'): Uint16Array {
  const { region, byteOffset } = locate(mem, gpa, count * 2);
  checkAlign(gpa, byteOffset, 2, what);
  return new Uint16Array(region.bytes.buffer, byteOffset, count);
}

export function u32View(mem: GuestMemory, gpa: number, count: number, what = 'ring field'): Uint32Array {
  const { region, byteOffset } = locate(mem, gpa, count * 4);
  checkAlign(gpa, byteOffset, 4, what);
  return new Uint32Array(region.bytes.buffer, byteOffset, count);
}

export function byteView(mem: GuestMemory, gpa: number, len: number): Uint8Array {
  const { region, byteOffset } = locate(mem, gpa, len);
  return new Uint8Array(region.bytes.buffer, byteOffset, len);
}

const TWO_32 = 4294967296;

/** Store a 64-bit guest address held in a number (< 2^53) as two little-endian u32 words. */
export function writeAddr(words: Uint32Array, i: number, addr: number): void {
  const lo = addr >>> 0;
  words[i] = lo;
  words[i + 1] = (addr - lo) / TWO_32;
}

export function readAddr(words: Uint32Array, i: number): number {
  return words[i + 1] * TWO_32 + words[i];
}
