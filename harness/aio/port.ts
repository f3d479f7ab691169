// The host end of the device: a tap or a macvtap, one fd per queue pair, each with IFF_VNET_HDR
// and a 12-byte header (TUNSETVNETHDRSZ) so the guest's virtio-net header passes straight through
// and TSO/GSO/checksum offloads survive. The offloads the tap accepts towards us (TUNSETOFFLOAD)
// are probed once; after negotiation exactly the guest's GUEST_* features are switched on, so the
// tap never hands over a GSO packet or a partial checksum the driver cannot take.
import fs from 'node:fs';
import { UsageError } from '../core/errors.ts';
import { libc, closeQuiet, errno, SysError } from '../sys/libc.ts';
import { ioctlPtr } from '../sys/ioctl.ts';
import { IFF_MULTI_QUEUE, IFF_NO_PI, IFF_TAP, IFF_VNET_HDR, TUNSETIFF, TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN, openTap, setTapOffload, setVnetHdrSize } from '../sys/tun.ts';
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

function mtuOf(name: string): number {
  const mtu = Number(sysfs(name, 'mtu'));
  return Number.isInteger(mtu) && mtu > 0 ? mtu : 1500;
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
 */
export function openTapPort(name: string, queues: number): TapPort {
  const flags = sysfs(name, 'tun_flags');
  let multiQueue = queues > 1;
  if (flags !== undefined) {
    const f = parseInt(flags, 16);
    if (!(f & IFF_TAP)) throw new UsageError(`--tap ${name}: ${name} is a tun (layer 3) device, not a tap`, 'name a tap device (ip tuntap add dev NAME mode tap)');
    multiQueue = (f & IFF_MULTI_QUEUE) !== 0;
    if (queues > 1 && !multiQueue) {
      throw new UsageError(`--tap ${name}: the tap is single-queue but --queues ${queues} needs one queue per pair`, `recreate it with: ip tuntap add dev ${name} mode tap multi_queue (or use --queues 1)`);
    }
  } else if (sysfs(name, 'ifindex') !== undefined) {
    throw new UsageError(`--tap ${name}: ${name} exists but is not a tun/tap device`, 'name a tap device, or use --macvtap for a macvtap');
  }
  const fds: number[] = [];
  try {
    for (let q = 0; q < queues; q++) fds.push(openTap(name, { vnetHdr: true, multiQueue, vnetHdrSize: HDR_LEN }).fd);
  } catch (e) {
    fds.forEach(closeQuiet);
    throw e;
  }
  return port('tap', name, fds, multiQueue);
}

/**
 * A macvtap by link name: its character device (/dev/tap<ifindex>, or `node` when given) is
 * opened once per queue pair. The node must carry the device number sysfs names for the link:
 * /dev is shared by every namespace, /sys/class/net is not.
 */
export function openMacvtapPort(name: string, queues: number, node?: string): TapPort {
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
