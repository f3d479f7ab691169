// Tap devices through /dev/net/tun: TUNSETIFF with IFF_TAP|IFF_NO_PI (+IFF_VNET_HDR so the
// virtio-net header passes through, +IFF_MULTI_QUEUE for one fd per queue pair), TUNSETVNETHDRSZ
// and TUNSETOFFLOAD. A tap made this way is not persistent: it disappears when its last fd closes.
import { libc, closeOnce, closeQuiet, errno, SysError, O_CLOEXEC, O_NONBLOCK, O_RDWR } from './libc.ts';
import { IOW, ioctlPtr, ioctlInt } from './ioctl.ts';
import { CapabilityError } from '../core/errors.ts';

export const IFF_TAP = 0x0002;
export const IFF_NO_PI = 0x1000;
export const IFF_VNET_HDR = 0x4000;
export const IFF_MULTI_QUEUE = 0x0100;
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_TSO_ECN = 0x08;

const T = 'T'.charCodeAt(0);
export const TUNSETIFF = IOW(T, 202, 4);
export const TUNSETOFFLOAD = IOW(T, 208, 4);
export const TUNSETVNETHDRSZ = IOW(T, 216, 4);

const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;

export interface TapOptions {
  vnetHdr?: boolean;
  multiQueue?: boolean;
  /** Bytes of virtio-net header the tap adds/strips (12 with VERSION_1 or MRG_RXBUF). */
  vnetHdrSize?: number;
}

export interface TapFd {
  fd: number;
  name: string;
  close(): void;
}

/** Open (creating if needed) tap `name` and return a non-blocking fd on it. */
export function openTap(name: string, opts: TapOptions = {}): TapFd {
  if (Buffer.byteLength(name) >= IFNAMSIZ) throw new RangeError(`tap name ${name} exceeds ${IFNAMSIZ - 1} bytes`);
  const fd = libc.open('/dev/net/tun', O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) {
    const e = errno();
    throw new CapabilityError(`cannot open /dev/net/tun: ${new SysError('open', e).code}`, 'CONFIG_TUN and root are needed');
  }
  try {
    const ifr = new Uint8Array(IFREQ_SIZE);
    ifr.set(Buffer.from(name), 0);
    const flags = IFF_TAP | IFF_NO_PI | (opts.vnetHdr ? IFF_VNET_HDR : 0) | (opts.multiQueue ? IFF_MULTI_QUEUE : 0);
    new DataView(ifr.buffer).setInt16(IFNAMSIZ, flags, true);
    ioctlPtr(fd, TUNSETIFF, ifr, `TUNSETIFF ${name}`);
    const actual = Buffer.from(ifr.subarray(0, IFNAMSIZ)).toString('utf8').replace(/\0.*$/s, '');
    if (opts.vnetHdr && opts.vnetHdrSize !== undefined) setVnetHdrSize(fd, opts.vnetHdrSize);
    return { fd, name: actual, close: closeOnce(fd) };
  } catch (err) {
    closeQuiet(fd);
    throw err;
  }
}

export function setVnetHdrSize(fd: number, size: number): void {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setInt32(0, size, true);
  ioctlPtr(fd, TUNSETVNETHDRSZ, v, 'TUNSETVNETHDRSZ');
}

/** TUN_F_* offloads the reader of this tap accepts (value passed by value, not by pointer). */
export function setTapOffload(fd: number, flags: number): void {
  ioctlInt(fd, TUNSETOFFLOAD, flags, 'TUNSETOFFLOAD');
}

