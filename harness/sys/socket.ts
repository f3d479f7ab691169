// Sockets through libc: AF_UNIX stream sockets (connect/listen/accept) and sendmsg/recvmsg with
// SCM_RIGHTS, which Node's `net` cannot do. All sockets are created non-blocking; callers wait for
// readiness with poll.ts (libuv) so the event loop keeps running.
//
// msghdr, iovec and cmsghdr are laid out by hand in one native arena per call site (x86-64 LP64
// layouts from <bits/socket.h>), so every pointer in them is a plain address we control.
import { libc, check, closeQuiet, errno, E, SysError, arena, type Arena } from './libc.ts';

export const AF_UNIX = 1;
export const AF_PACKET = 17;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SCM_RIGHTS = 1;
export const MSG_CTRUNC = 0x8;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_CMSG_CLOEXEC = 0x40000000;

/** vhost-user and QEMU pass at most 8 fds per message. */
export const MAX_FDS = 8;

const SUN_PATH_MAX = 108;
const MSGHDR = 56; // name 0, namelen 8, iov 16, iovlen 24, control 32, controllen 40, flags 48
const IOVEC = 16;
const CMSG_HDR = 16; // cmsg_len (size_t), cmsg_level (int), cmsg_type (int)
const cmsgSpace = (n: number) => CMSG_HDR + ((n * 4 + 7) & ~7);

/** struct sockaddr_un for a filesystem path. */
function sockaddrUn(path: string): Uint8Array {
  const p = Buffer.from(path, 'utf8');
  if (p.length >= SUN_PATH_MAX) {
    throw new RangeError(`unix socket path is ${p.length} bytes, the limit is ${SUN_PATH_MAX - 1}: ${path}`);
  }
  const a = new Uint8Array(2 + SUN_PATH_MAX);
  new DataView(a.buffer).setUint16(0, AF_UNIX, true);
  a.set(p, 2);
  return a;
}

export function unixSocket(): number {
  return check('socket', libc.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), 'AF_UNIX');
}

/** Connect to a listening unix socket. Unix connects complete at once or fail (no EINPROGRESS). */
export function unixConnect(path: string): number {
  const fd = unixSocket();
  const addr = sockaddrUn(path);
  if (libc.connect(fd, addr, addr.length) < 0) {
    const e = errno();
    closeQuiet(fd);
    throw new SysError('connect', e, path);
  }
  return fd;
}

/** Bind and listen on a new unix socket path (the caller removes the file when done). */
export function unixListen(path: string, backlog = 4): number {
  const fd = unixSocket();
  const addr = sockaddrUn(path);
  try {
    check('bind', libc.bind(fd, addr, addr.length), path);
    check('listen', libc.listen(fd, backlog), path);
  } catch (err) {
    closeQuiet(fd);
    throw err;
  }
  return fd;
}

/** Accept one connection; null when none is pending (the listening fd is non-blocking). */
export function unixAccept(listenFd: number): number | null {
  const fd = libc.accept4(listenFd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) return fd;
  const e = errno();
  if (e === E.EAGAIN) return null;
  throw new SysError('accept4', e, `fd ${listenFd}`);
}

export interface Received {
  /** Bytes read (0 means the peer closed the connection). */
  bytes: Uint8Array;
  /** fds that arrived with them, already owned by us (close them). */
  fds: number[];
  /** The control data did not fit: fds were dropped by the kernel. */
  truncatedFds: boolean;
}

/**
 * A reusable native buffer for sendmsg/recvmsg on one socket (one in-flight call at a time,
 * which holds because calls are synchronous). `maxData` bounds one call's payload.
 */
export class MsgBuffer {
  private readonly a: Arena;
  private readonly iovOff = MSGHDR;
  private readonly ctlOff = MSGHDR + IOVEC;
  private readonly dataOff = MSGHDR + IOVEC + cmsgSpace(MAX_FDS);

  constructor(readonly maxData: number) {
    this.a = arena(this.dataOff + maxData);
  }

  private layout(len: number, nfds: number | 'max'): void {
    const { view, addr } = this.a;
    const base = addr;
    this.a.bytes.fill(0, 0, this.dataOff);
    view.setBigUint64(16, base + BigInt(this.iovOff), true); // msg_iov
    view.setBigUint64(24, 1n, true); // msg_iovlen
    view.setBigUint64(this.iovOff, base + BigInt(this.dataOff), true); // iov_base
    view.setBigUint64(this.iovOff + 8, BigInt(len), true); // iov_len
    const space = nfds === 'max' ? cmsgSpace(MAX_FDS) : nfds > 0 ? cmsgSpace(nfds) : 0;
    if (space > 0) {
      view.setBigUint64(32, base + BigInt(this.ctlOff), true); // msg_control
      view.setBigUint64(40, BigInt(space), true); // msg_controllen
    }
  }

  /**
   * sendmsg: `data` with `fds` attached to its first byte. Returns bytes sent, or null on EAGAIN.
   * MSG_NOSIGNAL: a dead peer gives EPIPE, not SIGPIPE.
   */
  send(fd: number, data: Uint8Array, fds: readonly number[] = []): number | null {
    if (data.length > this.maxData) throw new RangeError(`sendmsg: ${data.length} bytes exceed ${this.maxData}`);
    if (fds.length > MAX_FDS) throw new RangeError(`sendmsg: ${fds.length} fds exceed ${MAX_FDS} per message`);
    this.layout(data.length, fds.length);
    const { view, bytes } = this.a;
    if (fds.length > 0) {
      view.setBigUint64(this.ctlOff, BigInt(CMSG_HDR + 4 * fds.length), true); // cmsg_len
      view.setInt32(this.ctlOff + 8, SOL_SOCKET, true);
      view.setInt32(this.ctlOff + 12, SCM_RIGHTS, true);
      fds.forEach((f, i) => view.setInt32(this.ctlOff + CMSG_HDR + 4 * i, f, true));
    }
    bytes.set(data, this.dataOff);
    const n = libc.sendmsg(fd, this.a.addr, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return n;
    const e = errno();
    if (e === E.EAGAIN) return null;
    throw new SysError('sendmsg', e, `fd ${fd}, ${data.length} bytes, ${fds.length} fds`);
  }

  /** recvmsg of up to `len` bytes, collecting SCM_RIGHTS fds. Null on EAGAIN. */
  recv(fd: number, len: number): Received | null {
    if (len > this.maxData) throw new RangeError(`recvmsg: ${len} bytes exceed ${this.maxData}`);
    this.layout(len, 'max');
    const n = libc.recvmsg(fd, this.a.addr, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
      const e = errno();
      if (e === E.EAGAIN) return null;
      throw new SysError('recvmsg', e, `fd ${fd}`);
    }
    const { view, bytes } = this.a;
    const flags = view.getInt32(48, true);
    const fds: number[] = [];
    const ctlLen = Number(view.getBigUint64(40, true));
    // Walk the cmsg list; only SCM_RIGHTS is expected, anything else is skipped.
    let off = 0;
    while (off + CMSG_HDR <= ctlLen) {
      const cl = Number(view.getBigUint64(this.ctlOff + off, true));
      if (cl < CMSG_HDR) break;
      const level = view.getInt32(this.ctlOff + off + 8, true);
      const type = view.getInt32(this.ctlOff + off + 12, true);
      if (level === SOL_SOCKET && type === SCM_RIGHTS) {
        for (let i = 0; i < (cl - CMSG_HDR) / 4; i++) fds.push(view.getInt32(this.ctlOff + off + CMSG_HDR + 4 * i, true));
      }
      off += (cl + 7) & ~7;
    }
    return {
      bytes: bytes.slice(this.dataOff, this.dataOff + n),
      fds,
      truncatedFds: (flags & MSG_CTRUNC) !== 0,
    };
  }
}

/** setsockopt with an int value. */
export function setsockoptInt(fd: number, level: number, name: number, value: number, what = ''): void {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setInt32(0, value, true);
  check('setsockopt', libc.setsockopt(fd, level, name, v, 4), what || `level ${level} name ${name}`);
}
