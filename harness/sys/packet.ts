// AF_PACKET raw sockets bound to one interface: inject whole Ethernet frames and capture what
// arrives. PACKET_IGNORE_OUTGOING keeps our own transmissions out of the receive queue.
import { libc, check, closeOnce, closeQuiet, errno, E, SysError } from './libc.ts';
import { AF_PACKET, SOCK_RAW, SOCK_NONBLOCK, SOCK_CLOEXEC, setsockoptInt } from './socket.ts';
import { waitFd, cancelWaits } from './poll.ts';

export const SOL_PACKET = 263;
export const PACKET_VNET_HDR = 15;
export const PACKET_IGNORE_OUTGOING = 23;
export const ETH_P_ALL = 0x0003;
const MAX_FRAME = 65536;

const htons = (v: number) => ((v & 0xff) << 8) | ((v >> 8) & 0xff);

/** struct sockaddr_ll (20 bytes) for bind(). */
function sockaddrLl(ifindex: number, protocol: number): Uint8Array {
  const a = new Uint8Array(20);
  const dv = new DataView(a.buffer);
  dv.setUint16(0, AF_PACKET, true);
  dv.setUint16(2, htons(protocol), true);
  dv.setInt32(4, ifindex, true);
  return a;
}

export interface PacketSocket {
  readonly fd: number;
  readonly ifname: string;
  readonly ifindex: number;
  send(frame: Uint8Array): void;
  /** One frame if one is queued, else null (non-blocking). */
  tryRecv(): Uint8Array | null;
  /** The next frame, waiting up to timeoutMs (TimeoutError after). */
  recv(timeoutMs: number): Promise<Uint8Array>;
  /** Discard everything queued; returns how many frames were dropped. */
  drain(): number;
  close(): void;
}

export interface PacketOptions {
  /** Skip frames this socket sends itself (default true). */
  ignoreOutgoing?: boolean;
}

/**
 * A raw socket on `ifname` in the current namespace (wrap in inNetns to use another). Created with
 * protocol 0 so it receives nothing until bind() names the interface; nothing from other
 * interfaces can slip in between.
 */
export function packetSocket(ifname: string, opts: PacketOptions = {}): PacketSocket {
  const ifindex = libc.if_nametoindex(ifname);
  if (ifindex === 0) throw new SysError('if_nametoindex', errno(), ifname);
  const fd = check('socket', libc.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), 'AF_PACKET');
  try {
    if (opts.ignoreOutgoing !== false) setsockoptInt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, 'PACKET_IGNORE_OUTGOING');
    const sll = sockaddrLl(ifindex, ETH_P_ALL);
    check('bind', libc.bind(fd, sll, sll.length), `AF_PACKET to ${ifname} (ifindex ${ifindex})`);
  } catch (err) {
    closeQuiet(fd);
    throw err;
  }
  return wrapPacketFd(fd, ifname, ifindex);
}

function wrapPacketFd(fd: number, ifname: string, ifindex: number): PacketSocket {
  const buf = new Uint8Array(MAX_FRAME);
  const tryRecv = (): Uint8Array | null => {
    const n = libc.read(fd, buf, buf.length);
    if (n >= 0) return buf.slice(0, n);
    const e = errno();
    if (e === E.EAGAIN) return null;
    throw new SysError('read', e, `AF_PACKET on ${ifname}`);
  };
  return {
    fd,
    ifname,
    ifindex,
    send(frame) {
      const n = check('write', libc.write(fd, frame, frame.length), `AF_PACKET on ${ifname}`);
      if (n !== frame.length) throw new Error(`AF_PACKET on ${ifname}: short write ${n} of ${frame.length}`);
    },
    tryRecv,
    async recv(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const f = tryRecv();
        if (f) return f;
        await waitFd(fd, { readable: true }, Math.max(1, deadline - Date.now()), `a frame on ${ifname}`);
      }
    },
    drain() {
      let n = 0;
      while (tryRecv()) n++;
      return n;
    },
    close: closeOnce(fd, () => cancelWaits(fd)),
  };
}
