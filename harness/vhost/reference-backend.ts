// The reference virtio-net device (or a deliberately broken variant) behind a vhost-user
// connection: the back-end side of qemu docs/interop/vhost-user.rst, one handler per front-end
// request, mapping each onto ReferenceNetDevice in its vhost-user life cycle. One instance serves
// one connection; the fault trigger outlives it (the process keeps one for its whole life).
//
// Rings follow "Starting and stopping rings": a ring starts at SET_VRING_KICK (buffers already
// available are processed then, without waiting for a kick or for DRIVER_OK) and stops at
// GET_VRING_BASE (the reply is where it stopped; the ring is not touched and its call fd not
// signalled until it starts again). With VHOST_USER_F_PROTOCOL_FEATURES negotiated a ring is
// initialised disabled and SET_VRING_ENABLE 1 enables it; a started, disabled ring is processed
// but passes no data (TX buffers used and their frames discarded, RX gets nothing). SET_STATUS is
// recorded (GET_STATUS returns it) and starts nothing; SET_STATUS 0 and RESET_DEVICE stop every
// ring and reset the device. Ring addresses arrive as front-end user addresses and are translated
// through the memory table to guest-physical ones; descriptor addresses are guest-physical.
import { mapPlanMemory } from '../aio/dataplane/memory.ts';
import { MemoryTable } from '../aio/control/memory-table.ts';
import { TimeoutError } from '../core/errors.ts';
import { wrapEventFd, type EventFd } from '../sys/eventfd.ts';
import { closeQuiet } from '../sys/libc.ts';
import { brokenNetDevice, faultSpecName, type FaultSpec } from '../virtio/device/broken-net.ts';
import type { FaultTrigger } from '../virtio/device/fault-trigger.ts';
import type { DeviceQueueConfig } from '../virtio/device/queue.ts';
import { REFERENCE_NET_FEATURES, ReferenceNetDevice, type DeviceBroken, type InjectResult, type ReferenceNetOptions } from '../virtio/device/reference-net.ts';
import { rejectFeatures } from '../virtio/device/net-features.ts';
import { F, bit, featureNames, has } from '../virtio/features.ts';
import { Refused, UNOFFERED_REQUESTS, checkRingAddr, checkRingSize, checkVringEnable, ringFdOf, wrapHandlers, type HandlerTable } from './device-table.ts';
import { ProtocolFeature, protocolFeatureNames, type UnknownMessage } from './vhost-user-codec.ts';
import type { DeviceHandlers, RequestOf } from './vhost-user-device-io.ts';

/** Virtio features plus bit 30 (ring enable control and protocol features). */
export const REFERENCE_BACKEND_FEATURES = REFERENCE_NET_FEATURES | bit(F.VHOST_USER_F_PROTOCOL_FEATURES);
/** REPLY_ACK, RESET_DEVICE, STATUS. No MQ (one queue pair), no CONFIG, no inflight tracking. */
export const REFERENCE_BACKEND_PROTOCOL = bit(ProtocolFeature.REPLY_ACK) | bit(ProtocolFeature.RESET_DEVICE) | bit(ProtocolFeature.STATUS);
const RINGS = 2;

interface Ring {
  num: number | undefined;
  uva: { desc: bigint; avail: bigint; used: bigint } | undefined;
  /** SET_VRING_BASE, or where the ring stopped. */
  base: number;
  kick: EventFd | undefined;
  call: EventFd | undefined;
  err: EventFd | undefined;
  /** Between SET_VRING_KICK and GET_VRING_BASE. */
  started: boolean;
  /** SET_VRING_ENABLE state (applies only with bit 30 negotiated). */
  enabled: boolean;
}

const newRing = (): Ring => ({ num: undefined, uva: undefined, base: 0, kick: undefined, call: undefined, err: undefined, started: false, enabled: false });

export interface ReferenceBackendOptions {
  fault?: FaultSpec;
  /** The fault's trigger, shared by every connection of the process. */
  trigger?: FaultTrigger;
  /** A frame the device transmitted (the link). */
  onTx(frame: Uint8Array): void;
  log(message: string): void;
  /** Log every request. */
  verbose?: boolean;
  /** The device code threw: the connection should end (a crashed device). */
  onCrash(err: Error): void;
}

export class ReferenceBackend {
  readonly handlers: DeviceHandlers;
  readonly device: ReferenceNetDevice;
  private protocol = 0n;
  private memory: MemoryTable | undefined;
  private memoryVersion = 0;
  private rings: Ring[] = Array.from({ length: RINGS }, newRing);
  private closed = false;

  constructor(private readonly o: ReferenceBackendOptions) {
    const opts: ReferenceNetOptions = {
      offered: REFERENCE_BACKEND_FEATURES,
      lifecycle: 'vhost-user',
      onTx: (frame) => o.onTx(frame),
      onCall: (q) => this.rings[q]?.call?.signal(),
      onBroken: (b) => this.broken(b),
    };
    this.device = o.fault ? brokenNetDevice(o.fault.fault, { ...opts, trigger: o.trigger }) : new ReferenceNetDevice(opts);
    this.handlers = wrapHandlers(this.handlerTable(), o);
  }

  /** Requests the codec does not know: refused (ack 1); their fds are closed. */
  onUnknown = (m: UnknownMessage): void => {
    m.fds.forEach(closeQuiet);
    this.o.log(`refused unknown request ${m.code} (${m.payload.length} payload bytes)`);
  };

  /** A frame from the link, for the RX ring. */
  inject(frame: Uint8Array): InjectResult | undefined {
    return this.guard(() => this.device.inject(frame));
  }

  /** The connection ended: stop every ring, close every fd, forget the memory table. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.resetDevice();
  }

  /** One line for logs: features, protocol features, status, each ring's state. */
  describe(): string {
    const rings = this.rings.map((r, i) => `${i}:${r.started ? 'started' : 'stopped'}${r.enabled ? '+enabled' : ''}`).join(' ');
    const fault = this.o.fault ? `; fault ${faultSpecName(this.o.fault)} ${this.o.trigger?.describe() ?? ''}` : '';
    return `features ${featureNames(this.device.features).join('|') || 'none'}; protocol ${protocolFeatureNames(this.protocol).join('|') || 'none'}; status 0x${this.device.status.toString(16)}; rings ${rings}${fault}`;
  }

  private handlerTable(): HandlerTable {
    return {
      ...UNOFFERED_REQUESTS,
      GET_FEATURES: () => REFERENCE_BACKEND_FEATURES,
      SET_FEATURES: (m) => this.setFeatures(m.payload),
      SET_OWNER: () => undefined,
      // Deprecated, but what QEMU sends to reset a back-end without RESET_DEVICE.
      RESET_OWNER: () => this.resetDevice(),
      RESET_DEVICE: () => this.resetDevice(),
      SET_MEM_TABLE: (m) => this.setMemTable(m),
      SET_VRING_NUM: (m) => this.setVringNum(m.payload.index, m.payload.num),
      SET_VRING_ADDR: (m) => this.setVringAddr(m.payload),
      SET_VRING_BASE: (m) => void (this.ringAt(m.payload.index, 'SET_VRING_BASE').base = m.payload.num),
      GET_VRING_BASE: (m) => ({ index: m.payload.index, num: this.stopRing(this.ringAt(m.payload.index, 'GET_VRING_BASE'), m.payload.index) }),
      SET_VRING_KICK: (m) => this.setVringKick(m),
      SET_VRING_CALL: (m) => this.setVringFd('call', m),
      SET_VRING_ERR: (m) => this.setVringFd('err', m),
      GET_PROTOCOL_FEATURES: () => REFERENCE_BACKEND_PROTOCOL,
      SET_PROTOCOL_FEATURES: (m) => this.setProtocolFeatures(m.payload),
      GET_QUEUE_NUM: () => 1n,
      SET_VRING_ENABLE: (m) => this.setVringEnable(m.payload.index, m.payload.num),
      SET_STATUS: (m) => this.setStatus(Number(m.payload & 0xffn)),
      GET_STATUS: () => BigInt(this.device.status),
    };
  }

  // ---- requests -----------------------------------------------------------------------------

  private setFeatures(f: bigint): void {
    const problem = rejectFeatures(REFERENCE_BACKEND_FEATURES, f);
    if (problem) throw new Refused(`SET_FEATURES 0x${f.toString(16)}: ${problem}`);
    this.device.setDriverFeatures(f);
    // Bit 30 decides whether the enable state applies.
    this.rings.forEach((r, i) => r.started && this.device.setQueueEnabled(i, this.enabledNow(r)));
  }

  private setProtocolFeatures(bits: bigint): void {
    const extra = bits & ~REFERENCE_BACKEND_PROTOCOL;
    if (extra) throw new Refused(`SET_PROTOCOL_FEATURES: ${protocolFeatureNames(extra).join(', ')} not offered`);
    this.protocol = bits;
  }

  private setMemTable(m: RequestOf<'SET_MEM_TABLE'>): void {
    const table = MemoryTable.fromMessage(m.payload, m.fds, ++this.memoryVersion);
    m.fds.length = 0; // the table owns them now
    const old = this.memory;
    this.memory = table;
    this.device.setMemory(mapPlanMemory(table.plan()).device.guest);
    // Running rings go on from where they are, through the new table.
    this.rings.forEach((r, i) => {
      if (!r.started) return;
      this.haltQueue(r, i);
      try {
        this.startRing(r, i, 'SET_MEM_TABLE');
      } catch (e) {
        this.o.log(`${(e as Error).message}; it stays stopped`);
      }
    });
    old?.close();
  }

  private ringAt(index: number, what: string): Ring {
    const r = this.rings[index];
    if (!r) throw new Refused(`${what}: ring ${index} does not exist (this device has ${RINGS} rings: 1 queue pair)`);
    return r;
  }

  private setVringNum(index: number, num: number): void {
    const r = this.ringAt(index, 'SET_VRING_NUM');
    checkRingSize(index, num, this.device.features);
    r.num = num;
  }

  private setVringAddr(a: RequestOf<'SET_VRING_ADDR'>['payload']): void {
    const r = this.ringAt(a.index, 'SET_VRING_ADDR');
    checkRingAddr(a, this.memory);
    r.uva = { desc: a.desc, avail: a.avail, used: a.used };
  }

  private setVringKick(m: RequestOf<'SET_VRING_KICK'>): void {
    const index = m.payload.index;
    const r = this.ringAt(index, 'SET_VRING_KICK');
    if (!this.memory || r.num === undefined || !r.uva) {
      const missing = [!this.memory && 'SET_MEM_TABLE', r.num === undefined && 'SET_VRING_NUM', !r.uva && 'SET_VRING_ADDR'].filter(Boolean).join(', ');
      throw new Refused(`SET_VRING_KICK ring ${index}: the ring cannot start without ${missing}`);
    }
    const fd = ringFdOf('kick', m);
    this.stopRing(r, index); // a new kick fd restarts a started ring where it is
    r.kick = wrapEventFd(fd);
    void this.watchKicks(index, r.kick);
    this.startRing(r, index, 'SET_VRING_KICK');
  }

  private setVringFd(which: 'call' | 'err', m: RequestOf<'SET_VRING_CALL' | 'SET_VRING_ERR'>): void {
    const r = this.ringAt(m.payload.index, `SET_VRING_${which.toUpperCase()}`);
    const fd = ringFdOf(which, m);
    r[which]?.close();
    r[which] = fd < 0 ? undefined : wrapEventFd(fd);
  }

  private setVringEnable(index: number, num: number): void {
    const r = this.ringAt(index, 'SET_VRING_ENABLE');
    r.enabled = checkVringEnable(index, num, REFERENCE_BACKEND_FEATURES);
    if (r.started) this.device.setQueueEnabled(index, this.enabledNow(r));
  }

  private setStatus(value: number): void {
    if (value !== 0) return this.device.setStatus(value);
    // A status of 0 is a reset (§2.4): the rings stop, keeping where they stopped for GET_VRING_BASE.
    this.rings.forEach((r, i) => this.stopRing(r, i));
    this.device.setStatus(0);
  }

  /** RESET_DEVICE / RESET_OWNER / disconnect: every ring stopped and forgotten, every fd closed. */
  private resetDevice(): void {
    this.rings.forEach((r, i) => {
      this.stopRing(r, i);
      r.call?.close();
      r.err?.close();
    });
    this.rings = Array.from({ length: RINGS }, newRing);
    this.device.reset();
    this.memory?.close();
    this.memory = undefined;
  }

  // ---- ring life cycle ------------------------------------------------------------------------

  private enabledNow(r: Ring): boolean {
    return has(this.device.features, F.VHOST_USER_F_PROTOCOL_FEATURES) ? r.enabled : true;
  }

  /** Start a ring whose size and addresses are known: the device processes it from now on. */
  private startRing(r: Ring, index: number, why: string): void {
    const cfg = this.layout(r, index, why);
    r.started = true;
    this.device.setQueueEnabled(index, this.enabledNow(r));
    this.guard(() => this.device.runQueue(index, cfg));
  }

  /** The device stops using the ring; where it stopped becomes the ring's base. */
  private haltQueue(r: Ring, index: number): void {
    if (!r.started) return;
    r.started = false;
    r.base = this.device.stopQueue(index) ?? r.base;
  }

  /** Stop a ring (GET_VRING_BASE; nothing happens to a stopped one) and close its kick fd; returns where it stopped. */
  private stopRing(r: Ring, index: number): number {
    this.haltQueue(r, index);
    r.kick?.close(); // ends its watcher
    r.kick = undefined;
    return r.base;
  }

  private layout(r: Ring, index: number, why: string): DeviceQueueConfig {
    const t = this.memory!;
    const gpa = (uva: bigint) => t.uvaToGpa(uva, 1);
    const desc = gpa(r.uva!.desc);
    const driver = gpa(r.uva!.avail);
    const device = gpa(r.uva!.used);
    if (desc === undefined || driver === undefined || device === undefined) {
      throw new Refused(`${why} ring ${index}: its addresses are not user addresses in the current memory table`);
    }
    return { size: r.num!, desc, driver, device, base: r.base };
  }

  /** Deliver kicks until the kick fd is closed (the ring stopped, or the kick fd was replaced). */
  private async watchKicks(index: number, kick: EventFd): Promise<void> {
    for (;;) {
      try {
        await kick.wait(3_600_000);
      } catch (e) {
        if (e instanceof TimeoutError) continue;
        return; // FdClosedError: the ring stopped
      }
      if (this.rings[index]?.kick !== kick) return;
      this.guard(() => this.device.kick(index));
    }
  }

  private broken(b: DeviceBroken): void {
    this.o.log(`ring ${b.queue} broken, device needs reset: ${b.message} (virtio §${b.clause})`);
    this.rings[b.queue]?.err?.signal();
  }

  /** Run device code; an exception is a device crash, which ends the connection. */
  private guard<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      this.o.log(`device error: ${(e as Error).stack ?? (e as Error).message}`);
      this.o.onCrash(e as Error);
      return undefined;
    }
  }
}
