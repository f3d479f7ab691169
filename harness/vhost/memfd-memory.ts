// Guest memory a device in another process can map: one memfd, cut into regions at page-aligned
// offsets, each region with its own guest-physical address (so mmap_offset is exercised too).
// User addresses are deliberately fake for vhost-user (a device that confuses UVA with its own
// pointers or with GPAs fails visibly); kernel vhost dereferences them, so it needs 'process'.
import { GuestMemory, DEFAULT_GPA_BASE, DEFAULT_UVA_BASE, type MemoryRegion } from '../virtio/memory.ts';
import { createMemfd, PAGE_SIZE, type Memfd } from '../sys/memfd.ts';

export interface RegionSpec {
  gpa: bigint;
  size: number;
}

export interface MemfdMemoryOptions {
  /** Regions in memfd order; default one region of `size` bytes at DEFAULT_GPA_BASE. */
  regions?: RegionSpec[];
  size?: number;
  /** 'process': real addresses of this process's mapping (kernel vhost). Default: a fake base. */
  uva?: 'process' | bigint;
  name?: string;
}

export interface MemfdGuestMemory {
  memory: GuestMemory;
  memfd: Memfd;
  /** Closes the memfd; the mapping goes when the views are unreachable (see memfd.ts). */
  close(): void;
}

const pageAlign = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

export function memfdGuestMemory(opts: MemfdMemoryOptions = {}): MemfdGuestMemory {
  const specs = opts.regions ?? [{ gpa: DEFAULT_GPA_BASE, size: opts.size ?? 4 << 20 }];
  if (specs.length === 0) throw new RangeError('memfdGuestMemory: at least one region');
  const offsets: number[] = [];
  let total = 0;
  for (const s of specs) {
    if (s.size <= 0 || s.size % PAGE_SIZE !== 0) throw new RangeError(`region size ${s.size} must be a positive multiple of ${PAGE_SIZE}`);
    offsets.push(total);
    total += pageAlign(s.size);
  }
  const memfd = createMemfd(opts.name ?? 'vnb-guest', total);
  const uvaBase = opts.uva === 'process' ? memfd.addr : (opts.uva ?? DEFAULT_UVA_BASE);
  const regions: MemoryRegion[] = specs.map((s, i) => ({
    gpa: s.gpa,
    size: s.size,
    uva: uvaBase + BigInt(offsets[i]),
    mmapOffset: offsets[i],
    fd: memfd.fd,
    bytes: memfd.bytes.subarray(offsets[i], offsets[i] + s.size),
  }));
  return { memory: new GuestMemory(regions), memfd, close: () => memfd.close() };
}
