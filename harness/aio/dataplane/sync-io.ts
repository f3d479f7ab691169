// The data plane's rare synchronous path: a TX chain with more segments than a write slot holds
// is written with one writev(2) at once (or copied into a bounce buffer past IOV_MAX).
import koffi from 'koffi';

const lib = koffi.load('libc.so.6');
const writevFn = lib.func('intptr_t writev(int fd, uintptr_t iov, int iovcnt)') as (fd: number, iov: number, n: number) => number;
const writeFn = lib.func('intptr_t write(int fd, uintptr_t buf, size_t count)') as (fd: number, buf: number, n: number) => number;

/** writev(2); returns bytes or -1 (errno via koffi.errno()). */
export function writevNow(fd: number, iov: number, count: number): number {
  return writevFn(fd, iov, count);
}

export function writeNow(fd: number, buf: number, len: number): number {
  return writeFn(fd, buf, len);
}

export function lastErrno(): number {
  return koffi.errno();
}
