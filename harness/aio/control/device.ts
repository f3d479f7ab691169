// The control plane of the aio-tap vhost-user device (qemu docs/interop/vhost-user.rst, the
// back-end side): one handler per front-end request in a DeviceHandlers table (a mapped type over
// the message union, so a request without a handler does not compile). It keeps every piece of
// vhost-user state and every fd on the main thread, and after each change sends each queue pair's
// Worker the pair's whole plan; the Worker reconciles. Refusals say what was wrong and where.
//
// Ring life cycle (vhost-user.rst "Starting and stopping rings"): a ring starts when its kick fd
// arrives and stops at GET_VRING_BASE; with VHOST_USER_F_PROTOCOL_FEATURES it starts disabled
// until SET_VRING_ENABLE. With the STATUS protocol feature the rings run only while the status
// has DRIVER_OK (no buffer use before DRIVER_OK, §2.1.2); SET_STATUS 0 stops them but keeps their
// positions, because QEMU 7.2 sends it before GET_VRING_BASE.
import { F, bit, featureNames, has } from '../../virtio/features.ts';
import { VIRTIO_STATUS } from '../../virtio/layout.ts';
import { rejectFeatures } from '../../virtio/device/net-features.ts';
import { ProtocolFeature, protocolFeatureNames, type UnknownMessage } from '../../vhost/vhost-user-codec.ts';
import type { DeviceHandlers, RequestOf } from '../../vhost/vhost-user-device-io.ts';
import { UNOFFERED_REQUESTS, checkRingAddr, checkRingSize, checkVringEnable, ringFdOf, wrapHandlers, type HandlerTable } from '../../vhost/device-table.ts';
import { closeQuiet } from '../../sys/libc.ts';
import type { PairPlan, RingPlan, StoppedRing } from '../dataplane/plan.ts';
import { tunOffloadsFor } from '../features.ts';
import { MemoryTable } from './memory-table.ts';
import type { PairWorker } from './pair-worker.ts';
import { Refused } from './refusal.ts';

interface Ring {
  num: number | undefined;
  /** Ring areas as front-end user addresses (translated through the table at each plan). */
  uva: { desc: bigint; avail: bigint; used: bigint } | undefined;
  base: number;
  baseGeneration: number;
  layoutGeneration: number;
  kickFd: number;
  callFd: number;
  errFd: number;
  /** Kick fd received and not stopped by GET_VRING_BASE. */
  started: boolean;
  /** SET_VRING_ENABLE state. */
  enabled: boolean;
  /** Why the data plane broke this ring (the device then reports DEVICE_NEEDS_RESET). */
  broken: string | undefined;
}

/** Generations are unique for the life of the process, so a reset ring never matches an old one. */
let generations = 0;
const nextGeneration = () => ++generations;

function newRing(): Ring {
  return {
    num: undefined,
    uva: undefined,
    base: 0,
    baseGeneration: nextGeneration(),
    layoutGeneration: nextGeneration(),
    kickFd: -1,
    callFd: -1,
    errFd: -1,
    started: false,
    enabled: false,
    broken: undefined,
  };
}

export interface DeviceSetup {
  pairs: number;
  offered: bigint;
  offeredProtocol: bigint;
  workers: PairWorker[];
  /** Apply TUN_F_* offloads to the tap (after SET_FEATURES). */
  setTapOffloads(flags: number): void;
  log(message: string): void;
  /** Log every request (name and payload). */
  verbose?: boolean;
}

export class AioVhostDevice {
  readonly handlers: DeviceHandlers;
  private features: bigint | undefined;
  private protocol = 0n;
  private status = 0;
  private memory: MemoryTable | undefined;
  private memoryVersion = 0;
  private rings: Ring[];
  private seq = 0;
  /** fds replaced by a request, closed once every Worker has stopped using them. */
  private retired: number[] = [];

  constructor(private readonly setup: DeviceSetup) {
    this.rings = Array.from({ length: 2 * setup.pairs }, newRing);
    this.handlers = this.buildHandlers();
  }

  /** Requests the codec does not know: refused (ack 1); their fds are closed. */
  onUnknown = (m: UnknownMessage): void => {
    m.fds.forEach(closeQuiet);
    this.setup.log(`refused unknown request ${m.code} (${m.payload.length} payload bytes)`);
  };

  /** A Worker reported that the driver broke a ring. */
  ringBroken(pair: number, ring: 0 | 1, message: string, clause: string): void {
    const index = 2 * pair + ring;
    this.rings[index]!.broken = `${message} (virtio §${clause})`;
    this.status |= VIRTIO_STATUS.DEVICE_NEEDS_RESET;
    this.setup.log(`ring ${index} broken, device needs reset: ${message} (virtio §${clause})`);
  }

  /** The front-end went away: back to the state a new connection expects. */
  async disconnect(): Promise<void> {
    await this.reset();
    this.protocol = 0n;
  }

  // ---- the handler table --------------------------------------------------------------------

  private buildHandlers(): DeviceHandlers {
    return wrapHandlers(this.handlerTable(), this.setup);
  }

  private handlerTable(): HandlerTable {
    return {
      ...UNOFFERED_REQUESTS,
      GET_FEATURES: () => this.setup.offered,
      SET_FEATURES: (m) => this.setFeatures(m.payload),
      SET_OWNER: () => undefined,
      RESET_OWNER: () => this.reset(),
      RESET_DEVICE: () => this.reset(),
      SET_MEM_TABLE: (m) => this.setMemTable(m),
      SET_VRING_NUM: (m) => this.setVringNum(m.payload.index, m.payload.num),
      SET_VRING_ADDR: (m) => this.setVringAddr(m),
      SET_VRING_BASE: (m) => this.setVringBase(m.payload.index, m.payload.num),
      GET_VRING_BASE: (m) => this.getVringBase(m.payload.index),
      SET_VRING_KICK: (m) => this.setVringFd('kick', m),
      SET_VRING_CALL: (m) => this.setVringFd('call', m),
      SET_VRING_ERR: (m) => this.setVringFd('err', m),
      GET_PROTOCOL_FEATURES: () => this.setup.offeredProtocol,
      SET_PROTOCOL_FEATURES: (m) => this.setProtocolFeatures(m.payload),
      GET_QUEUE_NUM: () => BigInt(this.setup.pairs),
      SET_VRING_ENABLE: (m) => this.setVringEnable(m.payload.index, m.payload.num),
      SET_STATUS: (m) => this.setStatus(Number(m.payload & 0xffn)),
      GET_STATUS: () => BigInt(this.status),
    };
  }

  // ---- requests -----------------------------------------------------------------------------

  private async setFeatures(f: bigint): Promise<void> {
    const problem = rejectFeatures(this.setup.offered, f);
    if (problem) throw new Refused(`SET_FEATURES 0x${f.toString(16)}: ${problem}`);
    if (has(f, F.F_RING_PACKED) !== has(this.features ?? 0n, F.F_RING_PACKED)) {
      // Ring sizes were checked against the old format; recheck them at the next start.
      for (const r of this.rings) r.layoutGeneration = nextGeneration();
    }
    this.features = f;
    this.setup.setTapOffloads(tunOffloadsFor(f));
    await this.syncAll();
  }

  private setProtocolFeatures(bits: bigint): void {
    const extra = bits & ~this.setup.offeredProtocol;
    if (extra) throw new Refused(`SET_PROTOCOL_FEATURES: ${protocolFeatureNames(extra).join(', ')} not offered`);
    this.protocol = bits;
  }

  private async setMemTable(m: RequestOf<'SET_MEM_TABLE'>): Promise<void> {
    const table = MemoryTable.fromMessage(m.payload, m.fds, ++this.memoryVersion);
    m.fds.length = 0; // the table owns them now
    const old = this.memory;
    this.memory = table;
    await this.syncAll();
    old?.close();
  }

  private ringAt(index: number, what: string): Ring {
    const r = this.rings[index];
    if (!r) throw new Refused(`${what}: ring ${index} does not exist (this device has ${this.rings.length} rings: ${this.setup.pairs} queue pair(s))`);
    return r;
  }

  private async setVringNum(index: number, num: number): Promise<void> {
    const r = this.ringAt(index, 'SET_VRING_NUM');
    checkRingSize(index, num, this.features ?? 0n);
    r.num = num;
    r.layoutGeneration = nextGeneration();
    await this.syncRing(index);
  }

  private async setVringAddr(m: RequestOf<'SET_VRING_ADDR'>): Promise<void> {
    const a = m.payload;
    const r = this.ringAt(a.index, 'SET_VRING_ADDR');
    checkRingAddr(a, this.memory);
    r.uva = { desc: a.desc, avail: a.avail, used: a.used };
    r.layoutGeneration = nextGeneration();
    await this.syncRing(a.index);
  }

  private async setVringBase(index: number, base: number): Promise<void> {
    const r = this.ringAt(index, 'SET_VRING_BASE');
    r.base = base;
    r.baseGeneration = nextGeneration();
    await this.syncRing(index);
  }

  private async getVringBase(index: number): Promise<{ index: number; num: number }> {
    const r = this.ringAt(index, 'GET_VRING_BASE');
    r.started = false;
    this.retire(r, 'kickFd');
    await this.syncRing(index);
    return { index, num: r.base };
  }

  private async setVringFd(which: 'kick' | 'call' | 'err', m: RequestOf<'SET_VRING_KICK' | 'SET_VRING_CALL' | 'SET_VRING_ERR'>): Promise<void> {
    const r = this.ringAt(m.payload.index, `SET_VRING_${which.toUpperCase()}`);
    const fd = ringFdOf(which, m);
    const key = `${which}Fd` as const;
    this.retire(r, key);
    r[key] = fd;
    if (which === 'kick') r.started = true;
    await this.syncRing(m.payload.index);
  }

  private async setVringEnable(index: number, num: number): Promise<void> {
    const r = this.ringAt(index, 'SET_VRING_ENABLE');
    // Without bit 30 in SET_FEATURES the state is kept but the rings run enabled (ringPlan).
    r.enabled = checkVringEnable(index, num, this.setup.offered);
    await this.syncRing(index);
  }

  private async setStatus(value: number): Promise<void> {
    let next = value & ~VIRTIO_STATUS.DEVICE_NEEDS_RESET;
    const rising = next & ~this.status;
    // FEATURES_OK sticks only for an acceptable feature set (§2.2.2, §3.1.1).
    if (rising & VIRTIO_STATUS.FEATURES_OK && (this.features === undefined || rejectFeatures(this.setup.offered, this.features))) {
      next &= ~VIRTIO_STATUS.FEATURES_OK;
    }
    this.status = next | (this.status & VIRTIO_STATUS.DEVICE_NEEDS_RESET);
    if (value === 0) {
      // A status of 0 is a reset request (§2.4): the rings stop, keeping their positions.
      this.status = 0;
      for (const r of this.rings) r.broken = undefined;
    }
    await this.syncAll();
  }

  /** RESET_DEVICE / RESET_OWNER: every ring stopped and forgotten (§2.4: no access after reset). */
  private async reset(): Promise<void> {
    for (const r of this.rings) r.started = false;
    this.features = undefined;
    this.status = 0;
    await this.syncAll();
    for (const r of this.rings) {
      for (const k of ['kickFd', 'callFd', 'errFd'] as const) closeQuiet(r[k]);
    }
    this.rings = this.rings.map(newRing);
    const mem = this.memory;
    this.memory = undefined;
    await this.syncAll();
    mem?.close();
    this.setup.setTapOffloads(0);
  }

  // ---- plans --------------------------------------------------------------------------------

  private retire(r: Ring, key: 'kickFd' | 'callFd' | 'errFd'): void {
    if (r[key] >= 0) this.retired.push(r[key]);
    r[key] = -1;
  }

  private live(): boolean {
    if (this.features === undefined || !this.memory) return false;
    const gated = (this.protocol & bit(ProtocolFeature.STATUS)) !== 0n;
    return !gated || (this.status & VIRTIO_STATUS.DRIVER_OK) !== 0;
  }

  private ringPlan(index: number): RingPlan {
    const r = this.rings[index]!;
    const enabled = has(this.features ?? 0n, F.VHOST_USER_F_PROTOCOL_FEATURES) ? r.enabled : true;
    const layout = this.layoutOf(index, r);
    return {
      running: r.started && layout !== null && this.live(),
      enabled,
      layout,
      base: r.base,
      baseGeneration: r.baseGeneration,
      layoutGeneration: r.layoutGeneration,
      kickFd: r.kickFd,
      callFd: r.callFd,
      errFd: r.errFd,
    };
  }

  private layoutOf(index: number, r: Ring): RingPlan['layout'] {
    if (!this.memory || !r.uva || r.num === undefined) return null;
    const t = this.memory;
    const desc = t.uvaToGpa(r.uva.desc, 1);
    const driver = t.uvaToGpa(r.uva.avail, 1);
    const device = t.uvaToGpa(r.uva.used, 1);
    if (desc === undefined || driver === undefined || device === undefined) {
      this.setup.log(`ring ${index}: its addresses are not in the current memory table; it stays stopped`);
      return null;
    }
    return { size: r.num, desc, driver, device };
  }

  private pairPlan(pair: number): PairPlan {
    return {
      seq: ++this.seq,
      features: (this.features ?? 0n).toString(),
      memory: this.memory?.plan() ?? null,
      rings: [this.ringPlan(2 * pair), this.ringPlan(2 * pair + 1)],
    };
  }

  private async syncRing(index: number): Promise<void> {
    await this.syncPair(index >> 1);
    this.closeRetired();
  }

  private async syncAll(): Promise<void> {
    await Promise.all(this.setup.workers.map((_, p) => this.syncPair(p)));
    this.closeRetired();
  }

  private async syncPair(pair: number): Promise<void> {
    const stopped: StoppedRing[] = await this.setup.workers[pair]!.apply(this.pairPlan(pair));
    // Where a stopped ring stopped is where it resumes (and what GET_VRING_BASE answers).
    for (const s of stopped) this.rings[2 * pair + s.ring]!.base = s.base;
  }

  private closeRetired(): void {
    for (const fd of this.retired.splice(0)) closeQuiet(fd);
  }

  /** One line for logs: features, protocol features, status, and each ring's state. */
  describe(): string {
    const f = this.features === undefined ? 'none' : featureNames(this.features).join('|');
    const rings = this.rings.map((r, i) => `${i}:${r.started ? 'started' : 'stopped'}${r.enabled ? '+enabled' : ''}${r.broken ? '+BROKEN' : ''}`).join(' ');
    return `features ${f}; protocol ${protocolFeatureNames(this.protocol).join('|') || 'none'}; status 0x${this.status.toString(16)}; rings ${rings}`;
  }
}
