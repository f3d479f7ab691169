// The one libc loader. Every libc function the harness calls is declared here, once, with the
// prototype from its man page, so argument types are checked in one place and no two files
// disagree about a signature. Higher-level files (memfd.ts, eventfd.ts, socket.ts, ...) wrap these
// in typed helpers that throw SysError.
//
// Buffers: koffi passes a Uint8Array/Buffer given for a `void *` parameter as a pointer to its own
// bytes (no copy) in synchronous calls, so read()/recvmsg() can fill a view over guest memory
// directly. Asynchronous koffi calls lose errno (it is thread-local to the pool thread), so
// blocking waits here are done with non-blocking fds plus poll (see poll.ts), never `.async`.
import koffi from 'koffi';

const lib = koffi.load('libc.so.6');

// Linux x86-64 types (LP64).
const off_t = 'int64_t';

/** Pointer as koffi returns it: an opaque external, or null. */
export type Ptr = unknown;

/** open(2) flags (asm-generic/fcntl.h, x86-64). */
export const O_RDONLY = 0;
export const O_RDWR = 0o2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

export const libc = {
  close: lib.func('int close(int fd)') as (fd: number) => number,
  read: lib.func('intptr_t read(int fd, void *buf, size_t count)') as (
    fd: number,
    buf: Uint8Array,
    count: number,
  ) => number,
  write: lib.func('intptr_t write(int fd, const void *buf, size_t count)') as (
    fd: number,
    buf: Uint8Array,
    count: number,
  ) => number,
  open: lib.func('int open(const char *path, int flags, uint32_t mode)') as (
    path: string,
    flags: number,
    mode: number,
  ) => number,
  fcntl: lib.func('int fcntl(int fd, int cmd, intptr_t arg)') as (fd: number, cmd: number, arg: number) => number,
  memfd_create: lib.func('int memfd_create(const char *name, unsigned int flags)') as (
    name: string,
    flags: number,
  ) => number,
  ftruncate: lib.func('ftruncate', 'int', ['int', off_t]) as (fd: number, length: number) => number,
  mmap: lib.func('mmap', 'void *', ['void *', 'size_t', 'int', 'int', 'int', off_t]) as (
    addr: null,
    length: number,
    prot: number,
    flags: number,
    fd: number,
    offset: number,
  ) => Ptr,
  munmap: lib.func('int munmap(void *addr, size_t length)') as (addr: Ptr, length: number) => number,
  eventfd: lib.func('int eventfd(unsigned int initval, int flags)') as (initval: number, flags: number) => number,
  socket: lib.func('int socket(int domain, int type, int protocol)') as (d: number, t: number, p: number) => number,
  // Socket addresses are built as raw bytes (sockaddr_un, sockaddr_ll) and passed as buffers.
  connect: lib.func('int connect(int fd, const void *addr, uint32_t addrlen)') as (
    fd: number,
    addr: Uint8Array,
    len: number,
  ) => number,
  bind: lib.func('int bind(int fd, const void *addr, uint32_t addrlen)') as (
    fd: number,
    addr: Uint8Array,
    len: number,
  ) => number,
  listen: lib.func('int listen(int fd, int backlog)') as (fd: number, backlog: number) => number,
  accept4: lib.func('int accept4(int fd, void *addr, void *addrlen, int flags)') as (
    fd: number,
    addr: null,
    addrlen: null,
    flags: number,
  ) => number,
  // msghdr is laid out by hand in a native arena (see socket.ts), so the pointer is an address.
  sendmsg: lib.func('intptr_t sendmsg(int fd, uintptr_t msg, int flags)') as (
    fd: number,
    msg: bigint,
    flags: number,
  ) => number,
  recvmsg: lib.func('intptr_t recvmsg(int fd, uintptr_t msg, int flags)') as (
    fd: number,
    msg: bigint,
    flags: number,
  ) => number,
  setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)') as (
    fd: number,
    level: number,
    name: number,
    val: Uint8Array,
    len: number,
  ) => number,
  // struct pollfd { int fd; short events; short revents; }[] as raw bytes.
  poll: lib.func('int poll(void *fds, uint64_t nfds, int timeout)') as (
    fds: Uint8Array,
    nfds: number,
    timeoutMs: number,
  ) => number,
  // ioctl is variadic in the header but a 3-argument syscall wrapper in glibc; on x86-64 a fixed
  // 3-argument prototype passes the same registers. Two spellings: a struct pointer or an integer.
  ioctlPtr: lib.func('ioctl', 'int', ['int', 'unsigned long', 'void *']) as (
    fd: number,
    req: number,
    arg: Uint8Array,
  ) => number,
  ioctlInt: lib.func('ioctl', 'int', ['int', 'unsigned long', 'intptr_t']) as (
    fd: number,
    req: number,
    arg: number,
  ) => number,
  // syscall(2) for calls glibc has no wrapper for (io_uring_setup, io_setup, io_destroy). It is
  // variadic: koffi passes each extra argument with the type named before it ('uint32_t', n, ...).
  syscall: lib.func('long syscall(long number, ...)') as (nr: number, ...typedArgs: unknown[]) => number | bigint,
  setns: lib.func('int setns(int fd, int nstype)') as (fd: number, nstype: number) => number,
  if_nametoindex: lib.func('unsigned int if_nametoindex(const char *name)') as (name: string) => number,
  strerror: lib.func('const char *strerror(int errnum)') as (errnum: number) => string,
};

/** The errno of the last libc call made on this thread. */
export function errno(): number {
  return koffi.errno();
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(koffi.os.errno).map(([k, v]) => [v, k]));

export function errnoName(e: number): string {
  return ERRNO_NAMES.get(e) ?? `errno ${e}`;
}

export const E = koffi.os.errno as Record<string, number>;

/** A failed system call: which call, on what, and errno with its name and text. */
export class SysError extends Error {
  override readonly name = 'SysError';
  readonly code: string;
  constructor(
    readonly call: string,
    readonly errno: number,
    detail = '',
  ) {
    super(`${call}${detail ? ` (${detail})` : ''} failed: ${errnoName(errno)} (${libc.strerror(errno)})`);
    this.code = errnoName(errno);
  }
}

/** Throw SysError when a libc call returned -1; otherwise return the result. */
export function check(call: string, rc: number, detail = ''): number {
  if (rc < 0) throw new SysError(call, errno(), detail);
  return rc;
}

/** Close an fd, ignoring EBADF-style errors (used on cleanup paths). */
export function closeQuiet(fd: number): void {
  if (fd >= 0) libc.close(fd);
}

/**
 * A close() for an object owning `fd`: closes it once, and later calls do nothing (by then the
 * number may name someone else's fd). `before` runs first, once (cancel pending waits).
 */
export function closeOnce(fd: number, before?: () => void): () => void {
  let open = true;
  return () => {
    if (!open) return;
    open = false;
    before?.();
    closeQuiet(fd);
  };
}

/** Native memory owned by the caller, with its address and a byte view (for hand-built structs). */
export interface Arena {
  addr: bigint;
  bytes: Uint8Array;
  view: DataView;
}

// Arenas are never freed while their view can be reached: a FinalizationRegistry frees the
// native block only after the ArrayBuffer over it has been garbage-collected.
const arenaRegistry = new FinalizationRegistry<Ptr>((p) => koffi.free(p));

export function arena(size: number): Arena {
  const p = koffi.alloc('uint8_t', size);
  const ab = koffi.view(p, size);
  arenaRegistry.register(ab, p);
  const bytes = new Uint8Array(ab);
  bytes.fill(0);
  return { addr: BigInt(koffi.address(p)), bytes, view: new DataView(ab) };
}

/** Address of a pointer koffi returned (mmap). */
export function addressOf(p: Ptr): bigint {
  return BigInt(koffi.address(p));
}

/** A byte view over native memory at `p` (no copy). */
export function viewOf(p: Ptr, len: number): ArrayBuffer {
  return koffi.view(p, len);
}
