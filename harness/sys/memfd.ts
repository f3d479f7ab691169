// Shared memory for guest RAM: memfd_create + ftruncate + mmap(MAP_SHARED), seen from JS as a
// Uint8Array over the mapping (koffi.view, no copy). Another process that receives the fd (over
// SCM_RIGHTS, or as an inherited fd) and maps it sees the same bytes.
//
// Lifetime rule: never munmap while a view is alive — touching an unmapped view kills the process
// with SIGSEGV, not an exception. So close() only closes the fd (the mapping keeps the memory
// alive, and other processes keep their own references); the munmap happens when the ArrayBuffer
// behind `bytes` (and every subarray of it) has been garbage-collected, through a
// FinalizationRegistry. Drop every reference to `bytes` after close() and the memory goes away.
import { libc, check, closeOnce, closeQuiet, addressOf, viewOf, type Ptr } from './libc.ts';

const MFD_CLOEXEC = 0x1;
const PROT_READ = 0x1;
const PROT_WRITE = 0x2;
const MAP_SHARED = 0x01;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;
export const PAGE_SIZE = 4096;

export interface Mapping {
  /** The mapping's address in this process (a real user address, usable as a vhost-user UVA). */
  addr: bigint;
  size: number;
  bytes: Uint8Array;
}

export interface Memfd extends Mapping {
  fd: number;
  /** Closes the fd now; the mapping is unmapped after `bytes` is garbage-collected. Idempotent. */
  close(): void;
}

const unmapper = new FinalizationRegistry<{ ptr: Ptr; size: number }>(({ ptr, size }) => {
  libc.munmap(ptr, size);
});

/** Map `size` bytes of `fd` at `offset` (a multiple of the page size), shared and read-write. */
export function mapFd(fd: number, size: number, offset = 0): Mapping {
  if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`mapFd: size ${size} must be a positive integer`);
  if (offset % PAGE_SIZE !== 0) throw new RangeError(`mapFd: offset ${offset} is not a multiple of ${PAGE_SIZE}`);
  const ptr = libc.mmap(null, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
  const addr = ptr === null ? 0n : addressOf(ptr);
  if (ptr === null || addr === MAP_FAILED) check('mmap', -1, `fd ${fd}, ${size} bytes at offset ${offset}`);
  const ab = viewOf(ptr, size);
  unmapper.register(ab, { ptr, size });
  return { addr, size, bytes: new Uint8Array(ab) };
}

/** A new anonymous shared-memory file of `size` bytes, mapped into this process. */
export function createMemfd(name: string, size: number): Memfd {
  const fd = check('memfd_create', libc.memfd_create(name, MFD_CLOEXEC), name);
  try {
    check('ftruncate', libc.ftruncate(fd, size), `memfd ${name} to ${size} bytes`);
    const m = mapFd(fd, size, 0);
    return { ...m, fd, close: closeOnce(fd) };
  } catch (err) {
    closeQuiet(fd);
    throw err;
  }
}
