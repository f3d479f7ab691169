// Native iovec arrays (struct iovec { void *base; size_t len; }, 16 bytes) that the engines hand
// to the kernel, written through a Uint32Array (four words per entry, no BigInt). Addresses are
// below 2^47 on x86-64, so a double holds them exactly.
import { arena, type Arena } from '../../sys/libc.ts';

export const IOV_MAX = 1024; // UIO_MAXIOV

export class IovecArray {
  readonly addr: number;
  readonly capacity: number;
  count = 0;
  private readonly words: Uint32Array;
  private readonly mem: Arena;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.mem = arena(capacity * 16);
    this.addr = Number(this.mem.addr);
    this.words = new Uint32Array(this.mem.bytes.buffer, this.mem.bytes.byteOffset, capacity * 4);
  }

  reset(): void {
    this.count = 0;
  }

  /** Append [base, base+len); false when full. */
  push(base: number, len: number): boolean {
    if (this.count === this.capacity) return false;
    const w = this.count++ * 4;
    this.words[w] = base >>> 0;
    this.words[w + 1] = Math.floor(base / 4294967296);
    this.words[w + 2] = len;
    this.words[w + 3] = 0;
    return true;
  }
}
