// Kernel vhost transport: /dev/vhost-net ioctls (linux include/uapi/linux/vhost.h,
// tools/virtio/vhost_net_test.c). The same DeviceSession as vhost-user, so the suite runs the same
// checks on both; operations vhost-net cannot express (protocol features, ring enable, status)
// throw NotExpressibleError with the reason, and `supports()` says so up front.
//
// The kernel dereferences user addresses in *this* process: the memory table must carry the real
// addresses of our mapping (memfdGuestMemory({ uva: 'process' })), and ring addresses are
// translated through it like for vhost-user.
import fs from 'node:fs';
import { libc, closeQuiet, errno, SysError, O_CLOEXEC, O_RDWR } from '../sys/libc.ts';
import { IO, IOR, IOW, IOWR, ioctlPtr } from '../sys/ioctl.ts';
import { CapabilityError } from '../core/errors.ts';
import type { GuestMemory } from '../virtio/memory.ts';
import {
  Transcript,
  DeviceRejectedError,
  NotExpressibleError,
  ringUserAddresses,
  type DeviceSession,
  type Exchange,
  type RingAddresses,
  type SessionOp,
  type Support,
} from './session.ts';

export const VHOST_NET_DEVICE = '/dev/vhost-net';
const V = 0xaf;

/** ioctl numbers from <linux/vhost.h>; the unit test checks them against the compiled values. */
export const VHOST = {
  GET_FEATURES: IOR(V, 0x00, 8),
  SET_FEATURES: IOW(V, 0x00, 8),
  SET_OWNER: IO(V, 0x01),
  RESET_OWNER: IO(V, 0x02),
  SET_MEM_TABLE: IOW(V, 0x03, 8), // struct vhost_memory without its flexible array
  SET_VRING_NUM: IOW(V, 0x10, 8),
  SET_VRING_ADDR: IOW(V, 0x11, 40),
  SET_VRING_BASE: IOW(V, 0x12, 8),
  GET_VRING_BASE: IOWR(V, 0x12, 8),
  SET_VRING_KICK: IOW(V, 0x20, 8),
  SET_VRING_CALL: IOW(V, 0x21, 8),
  SET_VRING_ERR: IOW(V, 0x22, 8),
  NET_SET_BACKEND: IOW(V, 0x30, 8),
} as const;


/** Why vhost-net cannot run here, or undefined when /dev/vhost-net exists. */
export function vhostNetMissing(): string | undefined {
  return fs.existsSync(VHOST_NET_DEVICE) ? undefined : `${VHOST_NET_DEVICE} missing (CONFIG_VHOST_NET)`;
}

const NO_PROTOCOL = 'vhost-net has no vhost-user protocol features';
const UNSUPPORTED: Record<SessionOp, string | undefined> = {
  protocolFeatures: NO_PROTOCOL,
  queueNum: 'vhost-net serves one queue pair per open fd (multiqueue = one fd per pair)',
  ringEnable: 'vhost-net has no per-ring enable (rings run once a backend is attached)',
  status: 'virtio status is a vDPA ioctl (VHOST_VDPA_SET_STATUS), not vhost-net',
  replyAck: 'ioctls return their result directly',
  resetDevice: 'vhost-net resets with VHOST_RESET_OWNER',
};

export class VhostKernelSession implements DeviceSession {
  readonly transport = 'vhost-net' as const;
  readonly label = VHOST_NET_DEVICE;
  private readonly log = new Transcript();
  private memory: GuestMemory | undefined;
  private closed = false;

  private constructor(readonly fd: number) {}

  /** Open /dev/vhost-net; CapabilityError when the kernel lacks it. */
  static open(): VhostKernelSession {
    const missing = vhostNetMissing();
    if (missing) throw new CapabilityError(missing, 'a kernel built with CONFIG_VHOST_NET (module vhost_net) is needed');
    const fd = libc.open(VHOST_NET_DEVICE, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) {
      const e = new SysError('open', errno(), VHOST_NET_DEVICE);
      throw new CapabilityError(e.message, 'run as root');
    }
    return new VhostKernelSession(fd);
  }

  get transcript(): readonly Exchange[] {
    return this.log.entries;
  }

  supports(op: SessionOp): Support {
    const reason = UNSUPPORTED[op];
    return reason ? { ok: false, reason } : { ok: true };
  }

  /** One ioctl, recorded; errno becomes DeviceRejectedError (the device said no). */
  private async io(name: keyof typeof VHOST, arg: Uint8Array, request: unknown): Promise<Uint8Array> {
    return this.log.record(`VHOST_${name}`, request, async () => {
      if (this.closed) throw new Error(`${VHOST_NET_DEVICE}: session closed`);
      try {
        ioctlPtr(this.fd, VHOST[name], arg, `VHOST_${name}`);
      } catch (err) {
        if (err instanceof SysError) throw new DeviceRejectedError(`VHOST_${name}`, err.code, this.label);
        throw err;
      }
      return arg;
    }, () => undefined);
  }

  private u64(v: bigint): Uint8Array {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, true);
    return b;
  }

  private state(index: number, num: number): Uint8Array {
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, index, true);
    dv.setUint32(4, num, true);
    return b;
  }

  private file(index: number, fd: number | null): Uint8Array {
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, index, true);
    dv.setInt32(4, fd ?? -1, true);
    return b;
  }

  async getFeatures(): Promise<bigint> {
    const b = await this.io('GET_FEATURES', new Uint8Array(8), null);
    const f = new DataView(b.buffer).getBigUint64(0, true);
    const last = this.log.entries[this.log.entries.length - 1];
    last.reply = `0x${f.toString(16)}`;
    return f;
  }

  async setFeatures(features: bigint): Promise<void> {
    await this.io('SET_FEATURES', this.u64(features), `0x${features.toString(16)}`);
  }

  async getProtocolFeatures(): Promise<bigint> {
    throw new NotExpressibleError('protocolFeatures', NO_PROTOCOL);
  }
  async setProtocolFeatures(): Promise<void> {
    throw new NotExpressibleError('protocolFeatures', NO_PROTOCOL);
  }
  async getQueueNum(): Promise<number> {
    throw new NotExpressibleError('queueNum', UNSUPPORTED.queueNum!);
  }

  async setOwner(): Promise<void> {
    await this.io('SET_OWNER', new Uint8Array(0), null);
  }

  /** struct vhost_memory {u32 nregions, padding; {u64 gpa, size, uva, flags_padding}[]}. */
  async setMemTable(mem: GuestMemory): Promise<void> {
    const b = new Uint8Array(8 + 32 * mem.regions.length);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, mem.regions.length, true);
    mem.regions.forEach((r, i) => {
      dv.setBigUint64(8 + 32 * i, r.gpa, true);
      dv.setBigUint64(16 + 32 * i, BigInt(r.size), true);
      dv.setBigUint64(24 + 32 * i, r.uva, true);
    });
    const desc = mem.regions.map((r) => ({ gpa: `0x${r.gpa.toString(16)}`, size: r.size, uva: `0x${r.uva.toString(16)}` }));
    await this.io('SET_MEM_TABLE', b, { regions: desc });
    this.memory = mem;
  }

  async setVringNum(index: number, num: number): Promise<void> {
    await this.io('SET_VRING_NUM', this.state(index, num), { index, num });
  }

  async setVringBase(index: number, base: number): Promise<void> {
    await this.io('SET_VRING_BASE', this.state(index, base), { index, num: base });
  }

  /** struct vhost_vring_addr {u32 index, flags; u64 desc, used, avail, log} (40 bytes). */
  async setVringAddr(a: RingAddresses): Promise<void> {
    const u = ringUserAddresses(this.memory, a);
    const b = new Uint8Array(40);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, a.index, true);
    dv.setUint32(4, a.flags ?? 0, true);
    dv.setBigUint64(8, u.desc, true);
    dv.setBigUint64(16, u.used, true);
    dv.setBigUint64(24, u.avail, true);
    dv.setBigUint64(32, a.log ?? 0n, true);
    await this.io('SET_VRING_ADDR', b, { index: a.index, desc: hex(u.desc), used: hex(u.used), avail: hex(u.avail) });
  }

  async setVringKick(index: number, fd: number | null): Promise<void> {
    await this.io('SET_VRING_KICK', this.file(index, fd), { index, fd });
  }
  async setVringCall(index: number, fd: number | null): Promise<void> {
    await this.io('SET_VRING_CALL', this.file(index, fd), { index, fd });
  }
  async setVringErr(index: number, fd: number | null): Promise<void> {
    await this.io('SET_VRING_ERR', this.file(index, fd), { index, fd });
  }

  /** Attach (fd) or detach (null) the tap or AF_PACKET socket that carries ring `index`'s packets. */
  async setBackend(index: number, fd: number | null): Promise<void> {
    await this.io('NET_SET_BACKEND', this.file(index, fd), { index, fd });
  }

  async setVringEnable(): Promise<void> {
    throw new NotExpressibleError('ringEnable', UNSUPPORTED.ringEnable!);
  }

  async getVringBase(index: number): Promise<number> {
    const b = await this.io('GET_VRING_BASE', this.state(index, 0), { index });
    return new DataView(b.buffer).getUint32(4, true);
  }

  async setStatus(): Promise<void> {
    throw new NotExpressibleError('status', UNSUPPORTED.status!);
  }
  async getStatus(): Promise<number> {
    throw new NotExpressibleError('status', UNSUPPORTED.status!);
  }

  async reset(): Promise<string> {
    await this.io('RESET_OWNER', new Uint8Array(0), null);
    return 'VHOST_RESET_OWNER';
  }

  async close(): Promise<void> {
    if (!this.closed) closeQuiet(this.fd);
    this.closed = true;
  }
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}
