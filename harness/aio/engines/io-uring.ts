// io_uring engine: every operation is an SQE (readv/writev on the tap straight into guest memory,
// READ on eventfds for kicks, WRITE on call eventfds for notifications), one
// io_uring_submit_and_wait per loop turn submits the batch and sleeps, and completions are reaped
// from the CQ ring without a system call. Reads on an empty tap wait in the kernel (async poll),
// so RX reads stay posted ahead of packets.
import { arena } from '../../sys/libc.ts';
import { IoUring } from '../../sys/uring.ts';
import type { Engine, EngineOptions, WaitKind } from './types.ts';

/** Tags the engine uses for itself; their completions are not handed to the data plane. */
const NOTIFY_TAG = 0x7ffffffe;
const CANCEL_TAG = 0x7ffffffd;

export class IoUringEngine implements Engine {
  readonly name = 'io_uring' as const;
  readonly asyncReads = true;
  /** Failed used-buffer notifications (a call eventfd write that did not complete). */
  notifyErrors = 0;
  private readonly ring: IoUring;
  /** cell 0: the value 1 for eventfd writes; cell 1: where eventfd reads land (never read). */
  private readonly cells = arena(16);
  private readonly one: number;
  private readonly sink: number;

  constructor(o: EngineOptions) {
    this.ring = IoUring.open(o.depth);
    this.cells.view.setBigUint64(0, 1n, true);
    this.one = Number(this.cells.addr);
    this.sink = this.one + 8;
  }

  room(): number {
    return this.ring.room();
  }

  readv(fd: number, iov: number, iovcnt: number, tag: number): boolean {
    return this.ring.readv(fd, iov, iovcnt, tag);
  }

  writev(fd: number, iov: number, iovcnt: number, tag: number): boolean {
    return this.ring.writev(fd, iov, iovcnt, tag);
  }

  waitReadable(fd: number, kind: WaitKind, tag: number): boolean {
    // READ on an eventfd waits for a non-zero counter and resets it in the same operation.
    return kind === 'eventfd' ? this.ring.read(fd, this.sink, 8, tag) : this.ring.pollIn(fd, tag);
  }

  cancel(tag: number): void {
    this.reserve();
    this.ring.cancel(tag, CANCEL_TAG);
  }

  notify(fd: number): void {
    // Queued, not written now: it goes out with the next submit, right after the used-ring
    // update that it announces (the loop submits before it sleeps).
    this.reserve();
    this.ring.write(fd, this.one, 8, NOTIFY_TAG);
  }

  run(block: boolean, done: (tag: number, res: number) => void): number {
    this.ring.submitAndWait(block ? 1 : 0);
    return this.ring.reap((tag, res) => {
      if (tag === NOTIFY_TAG) {
        if (res !== 8) this.notifyErrors++;
        return;
      }
      if (tag !== CANCEL_TAG) done(tag, res);
    });
  }

  syscalls(): number {
    return this.ring.enters;
  }

  close(): void {
    this.ring.close();
  }

  /** Make room for an engine-internal SQE: submit what is queued (completions stay in the CQ). */
  private reserve(): void {
    if (this.ring.room() === 0) this.ring.submitAndWait(0);
  }
}
