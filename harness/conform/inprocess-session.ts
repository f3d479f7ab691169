// A control session on the in-process reference virtio-net device (or one of its deliberately
// broken variants), shaped like a vhost session so the checks drive it the same way: feature and
// status writes, a memory table, ring addresses, and real eventfds for kick and call. Kicks are
// watched on the event loop and delivered to ReferenceNetDevice.kick(); the device's used-buffer
// notifications signal the call eventfd. The device's status register stands in for SET_STATUS.
//
// A JavaScript exception inside the device is this DUT's crash: the session records it and the
// DUT reports itself dead until restarted, as a crashed device process would.
import { TimeoutError } from '../core/errors.ts';
import { FdClosedError } from '../sys/poll.ts';
import { wrapEventFd, type EventFd } from '../sys/eventfd.ts';
import { NotExpressibleError, Transcript, type Exchange, type RingAddresses, type SessionOp, type Support } from '../vhost/session.ts';
import type { ReferenceNetDevice } from '../virtio/device/reference-net.ts';
import type { DeviceQueueConfig } from '../virtio/device/queue.ts';
import type { GuestMemory } from '../virtio/memory.ts';
import type { ControlSession } from './types.ts';

/** A GPA no memory table holds: ring addresses that translate to nothing end up here. */
const NOWHERE = 2 ** 51;

interface RingState {
  num?: number;
  base?: number;
  addr?: { desc: number; driver: number; device: number };
  call?: EventFd;
  kickFd?: number;
}

const UNSUPPORTED: Partial<Record<SessionOp, string>> = {
  protocolFeatures: 'the in-process device has no vhost-user protocol features',
  ringEnable: 'the in-process reference device has no per-ring enable (a vhost-user ring state)',
  replyAck: 'in-process calls return their result directly',
};

export class InProcessSession implements ControlSession {
  readonly transport = 'in-process' as const;
  readonly label: string;
  private readonly log = new Transcript();
  private readonly rings = new Map<number, RingState>();
  private mem: GuestMemory | undefined;
  private closed = false;

  constructor(
    readonly device: ReferenceNetDevice,
    name: string,
    private readonly onCrash: (err: Error) => void,
  ) {
    this.label = `in-process ${name}`;
  }

  get transcript(): readonly Exchange[] {
    return this.log.entries;
  }

  /** The device's used-buffer notification for queue q: signal its call eventfd. */
  notify(q: number): void {
    this.rings.get(q)?.call?.signal();
  }

  supports(op: SessionOp): Support {
    const reason = UNSUPPORTED[op];
    return reason ? { ok: false, reason } : { ok: true };
  }

  private op<T>(name: string, request: unknown, fn: () => T): Promise<T> {
    return this.log.record(name, request, async () => {
      if (this.closed) throw new Error(`${this.label}: session closed`);
      return this.guarded(fn);
    });
  }

  /** Run device code; an exception is a device crash. */
  private guarded<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      this.onCrash(err as Error);
      throw err;
    }
  }

  getFeatures(): Promise<bigint> {
    return this.op('GET_FEATURES', null, () => this.device.offered);
  }
  setFeatures(features: bigint): Promise<void> {
    return this.op('SET_FEATURES', `0x${features.toString(16)}`, () => this.device.setDriverFeatures(features));
  }
  getProtocolFeatures(): Promise<bigint> {
    return Promise.reject(new NotExpressibleError('protocolFeatures', UNSUPPORTED.protocolFeatures!));
  }
  setProtocolFeatures(): Promise<void> {
    return Promise.reject(new NotExpressibleError('protocolFeatures', UNSUPPORTED.protocolFeatures!));
  }
  getQueueNum(): Promise<number> {
    return this.op('GET_QUEUE_NUM', null, () => this.device.queuePairs);
  }
  setOwner(): Promise<void> {
    return this.op('SET_OWNER', null, () => undefined);
  }
  setMemTable(mem: GuestMemory): Promise<void> {
    const regions = mem.regions.map((r) => ({ gpa: `0x${r.gpa.toString(16)}`, size: r.size }));
    return this.op('SET_MEM_TABLE', { regions }, () => {
      this.mem = mem;
      this.device.setMemory(mem);
    });
  }
  setVringNum(index: number, num: number): Promise<void> {
    return this.op('SET_VRING_NUM', { index, num }, () => void (this.ring(index).num = num));
  }
  setVringBase(index: number, base: number): Promise<void> {
    return this.op('SET_VRING_BASE', { index, base }, () => void (this.ring(index).base = base));
  }
  setVringAddr(a: RingAddresses): Promise<void> {
    return this.op('SET_VRING_ADDR', { index: a.index, desc: hex(a.desc), avail: hex(a.avail), used: hex(a.used) }, () => {
      const gpa = (field: 'desc' | 'avail' | 'used'): number => {
        if (!a.rawUserAddresses) return Number(a[field]);
        // Deliberately bad user addresses: translate through the table; outside it, nowhere.
        const g = this.mem?.uvaToGpa(a.rawUserAddresses[field]);
        return g === undefined ? NOWHERE : Number(g);
      };
      this.ring(a.index).addr = { desc: gpa('desc'), driver: gpa('avail'), device: gpa('used') };
    });
  }
  setVringKick(index: number, fd: number | null): Promise<void> {
    return this.op('SET_VRING_KICK', { index, fd }, () => {
      const r = this.ring(index);
      r.kickFd = fd ?? undefined;
      this.configure(index);
      if (fd !== null) void this.watchKicks(index, fd);
    });
  }
  setVringCall(index: number, fd: number | null): Promise<void> {
    return this.op('SET_VRING_CALL', { index, fd }, () => void (this.ring(index).call = fd === null ? undefined : wrapEventFd(fd)));
  }
  setVringErr(index: number, fd: number | null): Promise<void> {
    return this.op('SET_VRING_ERR', { index, fd }, () => undefined);
  }
  setVringEnable(): Promise<void> {
    return Promise.reject(new NotExpressibleError('ringEnable', UNSUPPORTED.ringEnable!));
  }
  getVringBase(index: number): Promise<number> {
    return this.op('GET_VRING_BASE', { index }, () => this.device.queue(index)?.base() ?? this.rings.get(index)?.base ?? 0);
  }
  setStatus(status: number): Promise<void> {
    return this.op('SET_STATUS', status, () => this.device.setStatus(status));
  }
  getStatus(): Promise<number> {
    return this.op('GET_STATUS', null, () => this.device.status);
  }
  reset(): Promise<string> {
    return this.op('RESET (status 0)', null, () => {
      this.device.setStatus(0);
      return 'status 0';
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Kick watchers stop when the owner closes the kick eventfds (cancelWaits); the device is reset
    // so nothing it holds can touch guest memory after the session.
    this.guardedQuiet(() => this.device.reset());
  }

  private guardedQuiet(fn: () => void): void {
    try {
      this.guarded(fn);
    } catch {
      /* recorded as a crash */
    }
  }

  private ring(index: number): RingState {
    let r = this.rings.get(index);
    if (!r) this.rings.set(index, (r = {}));
    return r;
  }

  /** Hand the ring to the device once its size and addresses are known (the vhost order: KICK last). */
  private configure(index: number): void {
    const r = this.ring(index);
    if (r.num === undefined || !r.addr) return;
    const cfg: DeviceQueueConfig = { size: r.num, desc: r.addr.desc, driver: r.addr.driver, device: r.addr.device, base: r.base ?? 0 };
    this.device.setQueue(index, cfg);
  }

  /** Deliver kicks from the eventfd until it is closed (cancelWaits) or the session ends. */
  private async watchKicks(index: number, fd: number): Promise<void> {
    const efd = wrapEventFd(fd); // not ours to close
    while (!this.closed) {
      try {
        await efd.wait(60_000);
      } catch (err) {
        if (err instanceof TimeoutError) continue;
        if (err instanceof FdClosedError) return;
        return; // the fd went away under us: nothing more to watch
      }
      if (this.closed) return;
      this.guardedQuiet(() => this.device.kick(index));
    }
  }
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}
