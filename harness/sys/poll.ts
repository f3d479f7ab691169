// Waiting on fds without freezing the event loop. `waitFd` hands the fd to libuv (koffi.node.poll)
// and resolves when it is ready or rejects with TimeoutError; `pollSync` is libc poll(2) for code
// that may block its thread (Workers, short bounded waits).
//
// libuv allows one poll handle per fd at a time, and the handle must be closed before the fd is
// (an active handle on a closed, possibly reused fd crashes the process). Each waitFd creates its
// handle and closes it before settling; owners of an fd call `cancelWaits(fd)` before close(2),
// which closes any handle still open on it and rejects its wait with FdClosedError.
import koffi from 'koffi';
import { libc, check } from './libc.ts';
import { TimeoutError } from '../core/errors.ts';

export const POLLIN = 0x001;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;

export interface Readiness {
  readable: boolean;
  writable: boolean;
  disconnect: boolean;
}

interface PollHandle {
  stop(): void;
  close(): void;
}
type UvPoll = (
  fd: number,
  opts: { readable?: boolean; writable?: boolean; disconnect?: boolean },
  cb: (status: number, ev: Readiness) => void,
) => PollHandle;
// The shipped .d.ts says the callback receives only the events; it receives (status, events).
const uvPoll = (koffi as unknown as { node: { poll: UvPoll } }).node.poll;

/** The fd was closed locally while a wait on it was pending. */
export class FdClosedError extends Error {
  override readonly name = 'FdClosedError';
}

const pending = new Map<number, Set<() => void>>();

/** Stop every wait on `fd` (rejecting it with FdClosedError); call before closing the fd. */
export function cancelWaits(fd: number): void {
  for (const cancel of [...(pending.get(fd) ?? [])]) cancel();
}

/** Resolve when `fd` is readable (or writable, when asked); reject after `timeoutMs`. */
export function waitFd(
  fd: number,
  want: { readable?: boolean; writable?: boolean },
  timeoutMs: number,
  what = `fd ${fd}`,
): Promise<Readiness> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      handle.stop();
      handle.close();
      const set = pending.get(fd);
      set?.delete(cancel);
      if (set?.size === 0) pending.delete(fd);
      fn();
    };
    const cancel = () => finish(() => reject(new FdClosedError(`${what}: fd ${fd} was closed while waiting`)));
    const handle = uvPoll(fd, { ...want, disconnect: true }, (status, ev) => {
      // libuv reports POLLERR (e.g. a peer that died with data unread: ECONNRESET) as status
      // UV_EBADF. The fd is "ready": the caller's next syscall returns the real errno.
      if (status < 0) finish(() => resolve({ readable: true, writable: true, disconnect: true }));
      else finish(() => resolve(ev));
    });
    const timer = setTimeout(() => finish(() => reject(new TimeoutError(what, timeoutMs))), timeoutMs);
    if (!pending.has(fd)) pending.set(fd, new Set());
    pending.get(fd)!.add(cancel);
  });
}

/** poll(2) on several fds; returns revents per fd (0 when not ready). Blocks up to timeoutMs. */
export function pollSync(fds: readonly { fd: number; events: number }[], timeoutMs: number): number[] {
  const buf = new Uint8Array(8 * fds.length);
  const dv = new DataView(buf.buffer);
  fds.forEach((p, i) => {
    dv.setInt32(i * 8, p.fd, true);
    dv.setInt16(i * 8 + 4, p.events, true);
  });
  check('poll', libc.poll(buf, fds.length, timeoutMs));
  return fds.map((_, i) => dv.getInt16(i * 8 + 6, true));
}
