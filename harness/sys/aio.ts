// Linux native AIO through libaio (koffi): io_setup, io_submit, io_getevents, io_cancel and
// io_destroy. struct iocb and struct io_event are laid out by hand in native arenas
// (include/uapi/linux/aio_abi.h, x86-64 little-endian):
//   iocb (64 B): aio_data u64 @0, aio_key u32 @8, aio_rw_flags u32 @12, aio_lio_opcode u16 @16,
//                aio_reqprio s16 @18, aio_fildes u32 @20, aio_buf u64 @24, aio_nbytes u64 @32,
//                aio_offset s64 @40, aio_reserved2 @48, aio_flags u32 @56, aio_resfd u32 @60
//   io_event (32 B): data u64 @0, obj u64 @8, res s64 @16, res2 s64 @24
// Completed events are read straight from the context's user-mapped ring (struct aio_ring: id,
// nr, head, tail, magic, compat, incompat, header_length, then the events), as fio's
// userspace_reap does, so collecting completions that already exist costs no system call;
// io_getevents is used only to block.
//
// What Linux AIO does with a tap: reads and writes on anything but an O_DIRECT file run
// synchronously inside io_submit (a non-blocking tap returns -EAGAIN at once when empty), so
// waiting for data uses IOCB_CMD_POLL and the reads are submitted once the tap is readable.
import koffi from 'koffi';
import { SysError, arena, errnoName, type Arena } from './libc.ts';

export const IOCB_CMD = { PREAD: 0, PWRITE: 1, POLL: 5, NOOP: 6, PREADV: 7, PWRITEV: 8 } as const;

const IOCB_SIZE = 64;
const EVENT_SIZE = 32;
const AIO_RING_MAGIC = 0xa10a10a1;
const RING_HEADER = 32;
const POLLIN = 0x001;

type Ext = unknown;
let lib: ReturnType<typeof bind> | undefined;

function bind() {
  const l = koffi.load('libaio.so.1');
  return {
    setup: l.func('int io_setup(int maxevents, _Out_ void **ctxp)') as (n: number, out: Ext[]) => number,
    destroy: l.func('int io_destroy(void *ctx)') as (ctx: Ext) => number,
    submit: l.func('int io_submit(void *ctx, long nr, uintptr_t iocbpp)') as (ctx: Ext, nr: number, pp: number) => number,
    getevents: l.func('int io_getevents(void *ctx, long min_nr, long nr, uintptr_t events, void *timeout)') as (
      ctx: Ext,
      min: number,
      nr: number,
      ev: number,
      timeout: null,
    ) => number,
    cancel: l.func('int io_cancel(void *ctx, uintptr_t iocb, uintptr_t result)') as (ctx: Ext, iocb: number, res: number) => number,
  };
}

function libaio(): NonNullable<typeof lib> {
  try {
    lib ??= bind();
  } catch (e) {
    throw new Error(`libaio.so.1 cannot be loaded (apt-get install libaio1): ${(e as Error).message}`);
  }
  return lib;
}

const addrOf = (a: Arena) => Number(a.addr);

export class AioContext {
  /** io_submit / io_getevents calls made and iocbs submitted, for statistics. */
  submits = 0;
  waits = 0;
  submitted = 0;
  private readonly ctx: Ext;
  private readonly iocbs: Arena;
  private readonly ptrs: Arena;
  private readonly events: Arena;
  private readonly ring: DataView;
  private readonly ringWords: Uint32Array;
  private readonly ringNr: number;
  /** Free iocb slots (a stack) and the caller's tag of each slot in use. */
  private readonly free: number[] = [];
  private readonly tagOf: Float64Array;
  private readonly pollSlots = new Set<number>();
  /** Slots prepared since the last submit, in order. */
  private batch: number[] = [];
  /** Completions made up locally (an iocb io_submit refused). */
  private synthetic: { tag: number; res: number }[] = [];
  private closed = false;

  private constructor(readonly capacity: number) {
    const a = libaio();
    const out: Ext[] = [null];
    const rc = a.setup(capacity, out);
    if (rc < 0) throw new SysError('io_setup', -rc, `${capacity} events (see fs.aio-max-nr)`);
    this.ctx = out[0];
    this.iocbs = arena(capacity * IOCB_SIZE);
    this.ptrs = arena(capacity * 8);
    this.events = arena(capacity * EVENT_SIZE);
    this.tagOf = new Float64Array(capacity).fill(-1);
    for (let i = capacity - 1; i >= 0; i--) this.free.push(i);
    // The context id is the address of the user-mapped completion ring.
    const header = new DataView(koffi.view(this.ctx, RING_HEADER));
    if (header.getUint32(16, true) !== AIO_RING_MAGIC || header.getUint32(28, true) !== RING_HEADER) {
      a.destroy(this.ctx);
      throw new Error(`io_setup: completion ring magic 0x${header.getUint32(16, true).toString(16)} is not 0x${AIO_RING_MAGIC.toString(16)}`);
    }
    this.ringNr = header.getUint32(4, true);
    const ringBytes = koffi.view(this.ctx, RING_HEADER + this.ringNr * EVENT_SIZE);
    this.ring = new DataView(ringBytes);
    this.ringWords = new Uint32Array(ringBytes);
  }

  static open(capacity: number): AioContext {
    return new AioContext(capacity);
  }

  /** iocb slots free (each operation holds one until its completion is reaped). */
  room(): number {
    return this.free.length;
  }

  private prep(op: number, fd: number, buf: number, nbytes: number, tag: number): boolean {
    const slot = this.free.pop();
    if (slot === undefined) return false;
    const v = this.iocbs.view;
    const o = slot * IOCB_SIZE;
    this.iocbs.bytes.fill(0, o, o + IOCB_SIZE);
    v.setUint32(o, slot, true); // aio_data: the slot, mapped back to the tag on completion
    v.setUint16(o + 16, op, true);
    v.setUint32(o + 20, fd, true);
    v.setUint32(o + 24, buf >>> 0, true);
    v.setUint32(o + 28, Math.floor(buf / 4294967296), true);
    v.setUint32(o + 32, nbytes, true);
    this.tagOf[slot] = tag;
    this.ptrs.view.setBigUint64(this.batch.length * 8, BigInt(addrOf(this.iocbs) + o), true);
    this.batch.push(slot);
    return true;
  }

  preadv(fd: number, iov: number, iovcnt: number, tag: number): boolean {
    return this.prep(IOCB_CMD.PREADV, fd, iov, iovcnt, tag);
  }

  pwritev(fd: number, iov: number, iovcnt: number, tag: number): boolean {
    return this.prep(IOCB_CMD.PWRITEV, fd, iov, iovcnt, tag);
  }

  /** One-shot readiness: completes with the poll mask once fd is readable. Cancellable. */
  pollIn(fd: number, tag: number): boolean {
    const before = this.batch.length;
    if (!this.prep(IOCB_CMD.POLL, fd, POLLIN, 0, tag)) return false;
    this.pollSlots.add(this.batch[before]!);
    return true;
  }

  /** Cancel a pending poll by tag; its completion (if any) still arrives and is reaped normally. */
  cancel(tag: number): boolean {
    for (const slot of this.pollSlots) {
      if (this.tagOf[slot] !== tag) continue;
      const rc = libaio().cancel(this.ctx, addrOf(this.iocbs) + slot * IOCB_SIZE, addrOf(this.events));
      // -EINPROGRESS: cancellation started, the event is delivered through the ring.
      return rc === 0 || errnoName(-rc) === 'EINPROGRESS';
    }
    return false;
  }

  /** io_submit everything prepared. iocbs the kernel refuses complete locally with its -errno. */
  submit(): number {
    const n = this.batch.length;
    let done = 0;
    while (done < n) {
      this.submits++;
      const rc = libaio().submit(this.ctx, n - done, addrOf(this.ptrs) + done * 8);
      if (rc > 0) {
        done += rc;
        continue;
      }
      if (errnoName(-rc) === 'EINTR') continue;
      for (const slot of this.batch.slice(done)) {
        this.synthetic.push({ tag: this.tagOf[slot], res: rc < 0 ? rc : -11 });
        this.release(slot);
      }
      break;
    }
    this.submitted += done;
    this.batch = [];
    return done;
  }

  /** Completions already in the ring (no system call). */
  reap(fn: (tag: number, res: number) => void): number {
    let n = this.drainSynthetic(fn);
    const w = this.ringWords;
    let head = Atomics.load(w, 2);
    const tail = Atomics.load(w, 3);
    while (head !== tail) {
      const o = RING_HEADER + head * EVENT_SIZE;
      this.complete(this.ring.getUint32(o, true), Number(this.ring.getBigInt64(o + 16, true)), fn);
      head = (head + 1) % this.ringNr;
      n++;
    }
    // Release the slots to the kernel only after the events were read.
    Atomics.store(w, 2, head);
    return n;
  }

  /** Block in io_getevents until at least one completion exists, then hand them all over. */
  wait(fn: (tag: number, res: number) => void): number {
    const ready = this.reap(fn);
    if (ready > 0) return ready;
    this.waits++;
    const rc = libaio().getevents(this.ctx, 1, this.capacity, addrOf(this.events), null);
    if (rc < 0) {
      if (errnoName(-rc) === 'EINTR') return 0;
      throw new SysError('io_getevents', -rc);
    }
    const v = this.events.view;
    for (let i = 0; i < rc; i++) this.complete(v.getUint32(i * EVENT_SIZE, true), Number(v.getBigInt64(i * EVENT_SIZE + 16, true)), fn);
    return rc + this.reap(fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libaio().destroy(this.ctx);
  }

  private complete(slot: number, res: number, fn: (tag: number, res: number) => void): void {
    if (slot >= this.capacity || this.tagOf[slot] < 0) return; // not ours: nothing to hand over
    const tag = this.tagOf[slot];
    this.release(slot);
    fn(tag, res);
  }

  private release(slot: number): void {
    this.tagOf[slot] = -1;
    this.pollSlots.delete(slot);
    this.free.push(slot);
  }

  private drainSynthetic(fn: (tag: number, res: number) => void): number {
    if (this.synthetic.length === 0) return 0;
    const s = this.synthetic;
    this.synthetic = [];
    for (const c of s) fn(c.tag, c.res);
    return s.length;
  }
}

/** Whether a Linux AIO context can be created here (libaio loads, io_setup works). */
export function linuxAioAvailable(): { ok: true } | { ok: false; reason: string } {
  try {
    AioContext.open(4).close();
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}
