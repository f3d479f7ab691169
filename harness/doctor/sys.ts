// The few raw system calls doctor makes, as results instead of exceptions (a failure is evidence,
// not an error): an ioctl reading a u32/u64 (TUNGETFEATURES, VHOST_GET_FEATURES), syscalls glibc
// has no wrapper for (io_uring_setup, io_setup, io_destroy) and an AF_PACKET socket. Every libc
// function comes from the one loader, harness/sys/libc.ts.
import { libc, errno, errnoName, closeQuiet, O_CLOEXEC, O_RDWR } from '../sys/libc.ts';
import { AF_PACKET, SOCK_CLOEXEC, SOCK_RAW } from '../sys/socket.ts';

const SYS = { io_setup: 206, io_destroy: 207, io_uring_setup: 425 } as const;

export type SysResult<T> = { ok: true; value: T } | { ok: false; errno: string; text: string };

function fail<T>(): SysResult<T> {
  const e = errno();
  return { ok: false, errno: errnoName(e), text: libc.strerror(e) };
}

/** open(2) a device node; the caller closes the fd. */
export function openDevice(path: string, flags = O_RDWR | O_CLOEXEC): SysResult<number> {
  const fd = libc.open(path, flags, 0);
  return fd < 0 ? fail() : { ok: true, value: fd };
}

export function close(fd: number): void {
  closeQuiet(fd);
}

/** An ioctl whose argument is a pointer to a u64 the kernel fills (`_IOR(type, nr, __u64)`). */
export function ioctlReadU64(fd: number, request: number): SysResult<bigint> {
  const buf = new Uint8Array(8);
  if (libc.ioctlPtr(fd, request, buf) < 0) return fail();
  return { ok: true, value: new DataView(buf.buffer).getBigUint64(0, true) };
}

/** An ioctl whose argument is a pointer to a u32 the kernel fills (`_IOR(type, nr, unsigned int)`). */
export function ioctlReadU32(fd: number, request: number): SysResult<number> {
  const buf = new Uint8Array(4);
  if (libc.ioctlPtr(fd, request, buf) < 0) return fail();
  return { ok: true, value: new DataView(buf.buffer).getUint32(0, true) };
}

/** struct io_uring_params is 120 bytes; `features` is the u32 at offset 20 (include/uapi/linux/io_uring.h). */
const IO_URING_PARAMS_SIZE = 120;
const IO_URING_FEATURES_OFFSET = 20;

/** io_uring_setup(entries, &params): a ring fd and the kernel's feature flags; the fd is closed. */
export function ioUringSetup(entries: number): SysResult<{ fd: number; features: number; sqEntries: number }> {
  const params = new Uint8Array(IO_URING_PARAMS_SIZE);
  const fd = Number(libc.syscall(SYS.io_uring_setup, 'uint32_t', entries, 'void *', params));
  if (fd < 0) return fail();
  const view = new DataView(params.buffer);
  closeQuiet(fd);
  return { ok: true, value: { fd, features: view.getUint32(IO_URING_FEATURES_OFFSET, true), sqEntries: view.getUint32(0, true) } };
}

/** io_setup(nr_events, &ctx) then io_destroy(ctx): Linux native AIO context creation. */
export function ioSetupAndDestroy(nrEvents: number): SysResult<{ ctx: bigint }> {
  const ctxBuf = new Uint8Array(8);
  if (Number(libc.syscall(SYS.io_setup, 'uint32_t', nrEvents, 'void *', ctxBuf)) < 0) return fail();
  const ctx = new DataView(ctxBuf.buffer).getBigUint64(0, true);
  if (Number(libc.syscall(SYS.io_destroy, 'uint64_t', ctx)) < 0) return fail();
  return { ok: true, value: { ctx } };
}

/** socket(AF_PACKET, SOCK_RAW, 0), closed at once: whether raw packet sockets can be opened. */
export function packetSocket(): SysResult<number> {
  const fd = libc.socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail();
  closeQuiet(fd);
  return { ok: true, value: fd };
}
