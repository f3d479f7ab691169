// The I/O engine contract of the data plane: queue reads and writes of iovec arrays (which point
// straight into guest memory) and readiness waits, submit them in one batch, and hand back
// completions in batches. One file per engine: io-uring.ts (liburing) and linux-aio.ts (libaio).
// Every operation carries a caller-chosen tag (< 2^31) that comes back with its result.

export const ENGINE_NAMES = ['io_uring', 'linux-aio'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

/** What a readiness wait is on: an eventfd (its counter is consumed) or any other pollable fd. */
export type WaitKind = 'eventfd' | 'fd';

export interface Engine {
  readonly name: EngineName;
  /**
   * true: a read posted on an empty tap waits in the kernel until a packet arrives (io_uring);
   * false: it completes at once with -EAGAIN (Linux AIO runs tap I/O synchronously inside
   * io_submit), so the data plane waits for readability and then posts its reads.
   */
  readonly asyncReads: boolean;
  /** Operations that can be queued before the next run(). */
  room(): number;
  readv(fd: number, iov: number, iovcnt: number, tag: number): boolean;
  writev(fd: number, iov: number, iovcnt: number, tag: number): boolean;
  /** One-shot: completes (res > 0) once fd is readable; for an eventfd the counter is consumed. */
  waitReadable(fd: number, kind: WaitKind, tag: number): boolean;
  /** Cancel a pending operation; it still completes (with -ECANCELED or its result). */
  cancel(tag: number): void;
  /** Add 1 to an eventfd (the used-buffer notification). */
  notify(fd: number): void;
  /**
   * Submit everything queued; if `block`, wait until at least one completion exists. Every
   * completion available is handed to `done`. Returns how many were handed over.
   */
  run(block: boolean, done: (tag: number, res: number) => void): number;
  /** System calls made so far (submit + wait), for statistics. */
  syscalls(): number;
  close(): void;
}

export interface EngineOptions {
  /** Most operations in flight at once (reads + writes + waits). */
  depth: number;
}
