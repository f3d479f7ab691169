// io_uring through liburing 2.3 (koffi). liburing 2.3 exports io_uring_queue_init, the submit
// calls and io_uring_queue_exit, but its prep helpers and io_uring_cqe_seen are static inline in
// the header (liburing-ffi came with 2.4). So this file does their work in JavaScript: SQEs are
// filled through a Uint32Array over the mmapped SQE array and counted into `struct io_uring`'s
// sqe_tail (liburing's submit publishes it to the kernel), and completions are read from the CQ
// ring and retired by storing the CQ head. Nothing per operation crosses the FFI boundary; one
// io_uring_submit_and_wait call submits a whole batch and waits.
//
// Layout of struct io_uring (liburing.h, identical in 2.3 and later): sq at 0 (104 bytes), cq at
// 104 (88 bytes), flags 192, ring_fd 196, 216 bytes in all. `open()` checks the fields it reads
// against what the kernel reported, so a different layout fails loudly instead of corrupting.
import koffi from 'koffi';
import { SysError, errnoName } from './libc.ts';

export const IORING_OP = {
  NOP: 0,
  READV: 1,
  WRITEV: 2,
  POLL_ADD: 6,
  ASYNC_CANCEL: 14,
  READ: 22,
  WRITE: 23,
} as const;

/** sqe->off = -1: use (and advance) the file position; the only choice for a tap's stream fd. */
const OFF_CURRENT = 0xffffffff;
const POLLIN = 0x001;

const STRUCT_SIZE = 216;
const SQE_WORDS = 16; // 64-byte SQE
const CQE_WORDS = 4; // 16-byte CQE

type Ext = unknown;
let lib: ReturnType<typeof bind> | undefined;

function bind() {
  const l = koffi.load('liburing.so.2');
  return {
    init: l.func('int io_uring_queue_init(unsigned int entries, void *ring, unsigned int flags)') as (n: number, ring: Ext, f: number) => number,
    submitAndWait: l.func('int io_uring_submit_and_wait(void *ring, unsigned int wait_nr)') as (ring: Ext, n: number) => number,
    exit: l.func('void io_uring_queue_exit(void *ring)') as (ring: Ext) => void,
  };
}

function liburing(): NonNullable<typeof lib> {
  try {
    lib ??= bind();
  } catch (e) {
    throw new Error(`liburing.so.2 cannot be loaded (apt-get install liburing2): ${(e as Error).message}`);
  }
  return lib;
}

export interface Completion {
  /** user_data low 32 bits (what prep() was given). */
  tag: number;
  /** Result: bytes, or -errno. */
  res: number;
}

export class IoUring {
  readonly sqEntries: number;
  readonly cqEntries: number;
  /** Syscalls made (io_uring_submit_and_wait calls) and operations submitted, for statistics. */
  enters = 0;
  submitted = 0;
  private readonly ring: Ext;
  private readonly struct: DataView;
  private readonly sqes: Uint32Array;
  private readonly sqes8: Uint8Array;
  private readonly rings: Uint32Array;
  private readonly ringsI: Int32Array;
  private readonly sqHead: number;
  private readonly cqHead: number;
  private readonly cqTail: number;
  private readonly cqes: number;
  private readonly sqMask: number;
  private readonly cqMask: number;
  /** Our copy of sq.sqe_tail, written back into the struct before each submit. */
  private tail: number;
  private closed = false;

  private constructor(entries: number) {
    const u = liburing();
    this.ring = koffi.alloc('uint8_t', STRUCT_SIZE);
    this.struct = new DataView(koffi.view(this.ring, STRUCT_SIZE));
    const rc = u.init(entries, this.ring, 0);
    if (rc < 0) throw new SysError('io_uring_queue_init', -rc, `${entries} entries`);
    const s = this.struct;
    const ptr = (off: number) => s.getBigUint64(off, true);
    this.sqEntries = s.getUint32(92, true);
    this.sqMask = s.getUint32(88, true);
    this.cqEntries = s.getUint32(104 + 76, true);
    this.cqMask = s.getUint32(104 + 72, true);
    const ringPtr = ptr(80);
    const ringSize = Number(ptr(72));
    // SINGLE_MMAP (every kernel since 5.4): SQ and CQ indices share one mapping.
    if (ptr(104 + 64) !== ringPtr) throw new Error('io_uring: SQ and CQ rings are separate mappings (kernel without IORING_FEAT_SINGLE_MMAP); not supported');
    this.rings = new Uint32Array(koffi.view(koffi.decode(this.ring, 80, 'void *'), ringSize));
    this.ringsI = new Int32Array(this.rings.buffer);
    const word = (p: bigint) => Number(p - ringPtr) / 4;
    this.sqHead = word(ptr(0));
    this.cqHead = word(ptr(104));
    this.cqTail = word(ptr(104 + 8));
    this.cqes = word(ptr(104 + 48));
    const sqArray = word(ptr(48));
    this.sqes = new Uint32Array(koffi.view(koffi.decode(this.ring, 56, 'void *'), 64 * this.sqEntries));
    this.sqes8 = new Uint8Array(this.sqes.buffer);
    this.tail = s.getUint32(68, true);
    // Layout self-check against values the kernel wrote into the shared ring.
    const kEntries = this.rings[word(ptr(24))];
    if (kEntries !== this.sqEntries || this.rings[word(ptr(104 + 24))] !== this.cqEntries || this.sqEntries !== this.sqMask + 1) {
      u.exit(this.ring);
      throw new Error(`io_uring: struct io_uring layout does not match liburing 2.3 (sq entries ${this.sqEntries}, kernel says ${kEntries})`);
    }
    // liburing ≥ 2.2 maps SQ slot i to SQE i once at init; prep() relies on that identity.
    for (let i = 0; i < this.sqEntries; i++) {
      if (this.rings[sqArray + i] !== i) {
        u.exit(this.ring);
        throw new Error('io_uring: SQ array is not the identity map liburing 2.3 sets up');
      }
    }
  }

  /** A ring with at least `entries` SQ entries (rounded up to a power of 2; CQ twice that). */
  static open(entries: number): IoUring {
    return new IoUring(entries);
  }

  /** SQEs that can still be prepared before submit(). */
  room(): number {
    return this.sqEntries - ((this.tail - Atomics.load(this.rings, this.sqHead)) >>> 0);
  }

  /**
   * Fill the next SQE. `addr` is a native address (< 2^53), `len` a byte or iovec count.
   * Returns false when the SQ is full (submit first).
   */
  prep(op: number, fd: number, addr: number, len: number, tag: number, opFlags = 0): boolean {
    if (this.room() <= 0) return false;
    const i = (this.tail & this.sqMask) * SQE_WORDS;
    const q = this.sqes;
    q.fill(0, i, i + SQE_WORDS);
    this.sqes8[i * 4] = op;
    q[i + 1] = fd;
    // Only reads and writes take an offset; POLL_ADD and ASYNC_CANCEL refuse a non-zero one.
    if (op === IORING_OP.READV || op === IORING_OP.WRITEV || op === IORING_OP.READ || op === IORING_OP.WRITE) {
      q[i + 2] = OFF_CURRENT;
      q[i + 3] = OFF_CURRENT;
    }
    q[i + 4] = addr >>> 0;
    q[i + 5] = Math.floor(addr / 4294967296);
    q[i + 6] = len;
    q[i + 7] = opFlags;
    q[i + 8] = tag >>> 0;
    this.tail = (this.tail + 1) >>> 0;
    return true;
  }

  readv(fd: number, iov: number, iovcnt: number, tag: number): boolean {
    return this.prep(IORING_OP.READV, fd, iov, iovcnt, tag);
  }

  writev(fd: number, iov: number, iovcnt: number, tag: number): boolean {
    return this.prep(IORING_OP.WRITEV, fd, iov, iovcnt, tag);
  }

  read(fd: number, buf: number, len: number, tag: number): boolean {
    return this.prep(IORING_OP.READ, fd, buf, len, tag);
  }

  write(fd: number, buf: number, len: number, tag: number): boolean {
    return this.prep(IORING_OP.WRITE, fd, buf, len, tag);
  }

  pollIn(fd: number, tag: number): boolean {
    return this.prep(IORING_OP.POLL_ADD, fd, 0, 0, tag, POLLIN);
  }

  /**
   * Cancel the request whose user_data is `target` (ASYNC_CANCEL matches sqe->addr against
   * user_data). The target completes with -ECANCELED, or with its result if it already ran.
   */
  cancel(target: number, tag: number): boolean {
    return this.prep(IORING_OP.ASYNC_CANCEL, -1, target, 0, tag);
  }

  /**
   * Submit every prepared SQE and wait until `waitNr` completions are available. Returns the
   * number submitted; an interrupted wait (EINTR) returns 0 and the caller simply loops.
   */
  submitAndWait(waitNr: number): number {
    this.struct.setUint32(68, this.tail, true);
    this.enters++;
    const rc = liburing().submitAndWait(this.ring, waitNr);
    if (rc >= 0) {
      this.submitted += rc;
      return rc;
    }
    const e = -rc;
    // EINTR: a signal reached this thread; EAGAIN/EBUSY: completions must be reaped first.
    if (errnoName(e) === 'EINTR' || errnoName(e) === 'EAGAIN' || errnoName(e) === 'EBUSY') return 0;
    throw new SysError('io_uring_submit_and_wait', e, `wait for ${waitNr}`);
  }

  /** Hand every available completion to `fn`, then retire them all with one head store. */
  reap(fn: (tag: number, res: number) => void): number {
    const r = this.rings;
    let head = Atomics.load(r, this.cqHead);
    // Acquire: pairs with the kernel's release store of the CQ tail after writing the CQEs.
    const tail = Atomics.load(r, this.cqTail);
    let n = 0;
    while (head !== tail) {
      const at = this.cqes + (head & this.cqMask) * CQE_WORDS;
      fn(r[at], this.ringsI[at + 2]);
      head = (head + 1) >>> 0;
      n++;
    }
    // Release: the kernel may reuse these CQEs only after we have read them.
    if (n > 0) Atomics.store(r, this.cqHead, head);
    return n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    liburing().exit(this.ring);
  }
}

/** A one-line capability check for doctor-style messages: can a ring be created here? */
export function ioUringAvailable(): { ok: true } | { ok: false; reason: string } {
  try {
    IoUring.open(4).close();
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}
