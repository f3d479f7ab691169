// The host end of the device: a tap or a macvtap, one fd per queue pair, each with IFF_VNET_HDR
// and a 12-byte header (TUNSETVNETHDRSZ) so the guest's virtio-net header passes straight through
// and TSO/GSO/checksum offloads survive. The offloads the tap accepts towards us (TUNSETOFFLOAD)
// are probed once; after negotiation exactly the guest's GUEST_* features are switched on, so the
// tap never hands over a GSO packet or a partial checksum the driver cannot take.
import fs from 'node:fs';
import { UsageError } from '../core/errors.ts';
import { libc, closeQuiet, errno, SysError } from '../sys/libc.ts';
import { IOR, ioctlPtr } from '../sys/ioctl.ts';
import { IFF_NO_PI, IFF_TAP, IFF_VNET_HDR, TUNSETIFF, TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN, openTap, setTapOffload, setVnetHdrSize } from '../sys/tun.ts';
import { parseDevnum, rdevOf } from '../backends/macvtap-device.ts';
import { HDR_LEN } from './dataplane/net-hdr.ts';

export const TUN_F_UFO = 0x10;
const ALL_OFFLOADS = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO;
const O_RDWR = 0o2;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;

export interface TapPort {
  kind: 'tap' | 'macvtap';
  name: string;
  /** One fd per queue pair. */
  fds: number[];
  /** Queues can be detached (TUNSETQUEUE) while their RX ring does not run. */
  multiQueue: boolean;
  mtu: number;
  /** TUN_F_* the device accepted in the probe. */
  offloads: number;
  /** Switch the tap's offloads to what the negotiated TUN_F_* set allows. */
  setOffloads(flags: number): void;
  close(): void;
}

function sysfs(name: string, file: string): string | undefined {
  try {
    return fs.readFileSync(`/sys/class/net/${name}/${file}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

const SIOCGIFMTU = 0x8921;
const AF_INET = 2;
const SOCK_DGRAM = 2;

/**
 * The link's MTU through SIOCGIFMTU on a socket, which lives in the calling thread's network
 * namespace (sysfs shows the namespace /sys was mounted in, which differs inside inNetns).
 */
function mtuOf(name: string): number {
  const s = libc.socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) return 1500;
  try {
    const ifr = new Uint8Array(40);
    ifr.set(Buffer.from(name), 0);
    ioctlPtr(s, SIOCGIFMTU, ifr, `SIOCGIFMTU ${name}`);
    return new DataView(ifr.buffer).getInt32(16, true);
  } catch {
    return 1500;
  } finally {
    closeQuiet(s);
  }
}

/** Find the richest offload set the device takes (UFO is gone from newer kernels), then clear it. */
function probeOffloads(fd: number): number {
  let got = 0;
  for (const want of [ALL_OFFLOADS, ALL_OFFLOADS & ~TUN_F_UFO, TUN_F_CSUM, 0]) {
    try {
      setTapOffload(fd, want);
      got = want;
      break;
    } catch {
      /* try a smaller set */
    }
  }
  setTapOffload(fd, 0);
  return got;
}

function port(kind: TapPort['kind'], name: string, fds: number[], multiQueue: boolean): TapPort {
  const offloads = probeOffloads(fds[0]!);
  let closed = false;
  return {
    kind,
    name,
    fds,
    multiQueue,
    mtu: mtuOf(name),
    offloads,
    setOffloads(flags) {
      for (const fd of fds) setTapOffload(fd, flags & offloads);
    },
    close() {
      if (closed) return;
      closed = true;
      for (const fd of fds) closeQuiet(fd);
    },
  };
}

/**
 * A tap by name, `queues` fds on it. An existing tap keeps its own multi-queue setting (it must be
 * multi_queue for queues > 1); a missing one is created, non-persistent, and goes away with us.
 * Everything goes through the tun ioctls, which act in the calling thread's namespace.
 */
export function openTapPort(name: string, queues: number): TapPort {
  const open = (multiQueue: boolean) => openTap(name, { vnetHdr: true, multiQueue, vnetHdrSize: HDR_LEN }).fd;
  const fds: number[] = [];
  let multiQueue = queues > 1;
  try {
    try {
      fds.push(open(multiQueue));
    } catch (e) {
      // TUNSETIFF refuses a multi-queue mismatch with an existing tap (EINVAL): one queue of a
      // multi_queue tap is fine; several queues of a single-queue tap are not.
      if ((e as SysError).code !== 'EINVAL') throw e;
      if (queues > 1) throw refusedTap(name, queues, e as Error);
      multiQueue = true;
      try {
        fds.push(open(true));
      } catch (e2) {
        throw refusedTap(name, queues, e2 as Error);
      }
    }
    const flags = tapFlags(fds[0]!);
    if (!(flags & IFF_TAP)) throw new UsageError(`--tap ${name}: ${name} is a tun (layer 3) device, not a tap`, 'name a tap device (ip tuntap add dev NAME mode tap)');
    for (let q = 1; q < queues; q++) fds.push(open(multiQueue));
  } catch (e) {
    fds.forEach(closeQuiet);
    throw e;
  }
  return port('tap', name, fds, multiQueue);
}

function refusedTap(name: string, queues: number, e: Error): UsageError {
  return new UsageError(
    `--tap ${name}: the kernel refused to attach (${e.message}): ${name} exists but is not a tap${queues > 1 ? ' created multi_queue' : ''}`,
    queues > 1 ? `create it with: ip tuntap add dev ${name} mode tap multi_queue (or use --queues 1)` : 'name a tap device, or a name that does not exist yet',
  );
}

const TUNGETIFF = IOR('T'.charCodeAt(0), 210, 4);

function tapFlags(fd: number): number {
  const ifr = new Uint8Array(40);
  ioctlPtr(fd, TUNGETIFF, ifr, 'TUNGETIFF');
  return new DataView(ifr.buffer).getUint16(16, true);
}

/**
 * A macvtap by link name: its character device (/dev/tap<ifindex>, or `node` when given) is
 * opened once per queue pair. The node must carry the device number sysfs names for the link:
 * /dev is shared by every namespace, /sys/class/net is not.
 */
export function openMacvtapPort(name: string, queues: number, node?: string): TapPort {
  // sysfs must show this namespace: true in a process started with `ip netns exec`.
  const ifindex = sysfs(name, 'ifindex');
  if (ifindex === undefined) throw new UsageError(`--macvtap ${name}: no such network device in this namespace`, 'create it first: ip link add link DEV name NAME type macvtap mode bridge');
  const devText = sysfs(name, `macvtap/tap${ifindex}/dev`);
  if (devText === undefined) throw new UsageError(`--macvtap ${name}: not a macvtap (no /sys/class/net/${name}/macvtap/tap${ifindex}/dev)`, 'use --tap for a tap device');
  const devnum = parseDevnum(devText);
  const path = node ?? `/dev/tap${ifindex}`;
  const fds: number[] = [];
  try {
    for (let q = 0; q < queues; q++) fds.push(openMacvtapQueue(path, rdevOf(devnum), `${devnum.major}:${devnum.minor}`));
  } catch (e) {
    fds.forEach(closeQuiet);
    throw e;
  }
  return port('macvtap', name, fds, queues > 1);
}

function openMacvtapQueue(path: string, rdev: number, devText: string): number {
  const fd = libc.open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) throw new SysError('open', errno(), `${path} (the macvtap's character device)`);
  try {
    // Checked on the open fd, so a node replaced between a check and the open cannot fool us.
    if (fs.fstatSync(fd).rdev !== rdev) throw new UsageError(`${path} is not the macvtap's device ${devText}`, 'pass its node with --macvtap-node PATH');
    const ifr = new Uint8Array(40);
    new DataView(ifr.buffer).setInt16(16, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, true);
    ioctlPtr(fd, TUNSETIFF, ifr, `TUNSETIFF on ${path}`);
    setVnetHdrSize(fd, HDR_LEN);
    return fd;
  } catch (e) {
    closeQuiet(fd);
    throw e;
  }
}
