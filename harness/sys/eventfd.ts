// eventfd(2) counters: the kick and call notifications of vhost. Writes add to a 64-bit counter,
// a read returns the sum and resets it. Non-blocking by default, so read() returns 0n when nothing
// was signalled instead of blocking the event loop; wait() lets libuv watch the fd.
import { libc, check, closeQuiet, errno, E, SysError } from './libc.ts';
import { waitFd, cancelWaits } from './poll.ts';

export const EFD_SEMAPHORE = 0x1;
export const EFD_NONBLOCK = 0x800;
export const EFD_CLOEXEC = 0x80000;

export interface EventFd {
  readonly fd: number;
  /** Add n (default 1) to the counter. */
  signal(n?: bigint): void;
  /** Read and reset the counter; 0n when it was zero (non-blocking). */
  read(): bigint;
  /** Resolve with the counter once it is non-zero; reject with TimeoutError after timeoutMs. */
  wait(timeoutMs: number): Promise<bigint>;
  close(): void;
}

/** A new eventfd; flags default to EFD_NONBLOCK | EFD_CLOEXEC. */
export function eventfd(flags = EFD_NONBLOCK | EFD_CLOEXEC, initval = 0): EventFd {
  const fd = check('eventfd', libc.eventfd(initval, flags));
  return wrapEventFd(fd);
}

/** Operations on an eventfd opened elsewhere (received over SCM_RIGHTS, for instance). */
export function wrapEventFd(fd: number): EventFd {
  const buf = new Uint8Array(8);
  const dv = new DataView(buf.buffer);
  let closed = false;
  const read = (): bigint => {
    const n = libc.read(fd, buf, 8);
    if (n < 0) {
      const e = errno();
      if (e === E.EAGAIN) return 0n;
      throw new SysError('read', e, `eventfd ${fd}`);
    }
    return dv.getBigUint64(0, true);
  };
  return {
    fd,
    signal(n = 1n) {
      const w = new Uint8Array(8);
      new DataView(w.buffer).setBigUint64(0, n, true);
      check('write', libc.write(fd, w, 8), `eventfd ${fd}`);
    },
    read,
    async wait(timeoutMs) {
      const now = read();
      if (now !== 0n) return now;
      const deadline = Date.now() + timeoutMs;
      // A readiness report can be stale by the time we read (another reader), so loop.
      for (;;) {
        await waitFd(fd, { readable: true }, Math.max(1, deadline - Date.now()), `eventfd ${fd}`);
        const v = read();
        if (v !== 0n) return v;
      }
    },
    close() {
      if (!closed) {
        closed = true;
        cancelWaits(fd);
        closeQuiet(fd);
      }
    },
  };
}
