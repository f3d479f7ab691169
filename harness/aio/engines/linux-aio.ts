// Linux native AIO engine, the original proposal's literal design: many iocbs (IOCB_CMD_PREADV /
// PWRITEV with iovecs into guest memory) per io_submit, completions collected in batches. On a tap
// the kernel runs these reads and writes synchronously inside io_submit (Linux AIO is only truly
// asynchronous for O_DIRECT files), so an empty tap answers -EAGAIN at once: readiness comes from
// IOCB_CMD_POLL, and the data plane posts its reads when the tap is readable. Notifications are a
// plain write(2) on the call eventfd (eventfds have no write_iter for AIO).
import { libc } from '../../sys/libc.ts';
import { AioContext } from '../../sys/aio.ts';
import type { Engine, EngineOptions, WaitKind } from './types.ts';

export class LinuxAioEngine implements Engine {
  readonly name = 'linux-aio' as const;
  readonly asyncReads = false;
  notifyErrors = 0;
  private readonly ctx: AioContext;
  /** Pending eventfd waits: tag -> fd, drained when the poll fires. */
  private readonly eventfds = new Map<number, number>();
  private readonly one = new Uint8Array(8);
  private readonly drain = new Uint8Array(8);
  private extraSyscalls = 0;

  constructor(o: EngineOptions) {
    this.ctx = AioContext.open(o.depth);
    new DataView(this.one.buffer).setBigUint64(0, 1n, true);
  }

  room(): number {
    return this.ctx.room();
  }

  readv(fd: number, iov: number, iovcnt: number, tag: number): boolean {
    return this.ctx.preadv(fd, iov, iovcnt, tag);
  }

  writev(fd: number, iov: number, iovcnt: number, tag: number): boolean {
    return this.ctx.pwritev(fd, iov, iovcnt, tag);
  }

  waitReadable(fd: number, kind: WaitKind, tag: number): boolean {
    if (!this.ctx.pollIn(fd, tag)) return false;
    if (kind === 'eventfd') this.eventfds.set(tag, fd);
    return true;
  }

  cancel(tag: number): void {
    // Only polls stay pending; reads and writes finished inside io_submit.
    this.ctx.submit();
    this.ctx.cancel(tag);
  }

  notify(fd: number): void {
    this.extraSyscalls++;
    if (libc.write(fd, this.one, 8) !== 8) this.notifyErrors++;
  }

  run(block: boolean, done: (tag: number, res: number) => void): number {
    this.ctx.submit();
    const hand = (tag: number, res: number) => {
      const efd = this.eventfds.get(tag);
      if (efd !== undefined) {
        this.eventfds.delete(tag);
        // Reset the counter (non-blocking: EAGAIN when another reader got there first).
        this.extraSyscalls++;
        if (res > 0) libc.read(efd, this.drain, 8);
      }
      done(tag, res);
    };
    return block ? this.ctx.wait(hand) : this.ctx.reap(hand);
  }

  syscalls(): number {
    return this.ctx.submits + this.ctx.waits + this.extraSyscalls;
  }

  close(): void {
    this.ctx.close();
  }
}
