// A virtio-net device written to the spec (§5.1), in-process, over the device-side queues. It is
// the yardstick for the driver library and the conformance suite: TX chains are read (12-byte
// header + frame) and handed to a sink; inject() writes a frame into posted RX buffers (mergeable
// when MRG_RXBUF is negotiated). Kick and call are plain method/callback + counters, so a test can
// count notifications. Deliberate faults (broken-net.ts) override the protected hooks.
//
// Two ring life cycles: over a virtio transport (the default) the rings run from DRIVER_OK until
// reset; as a vhost-user back-end each ring runs from runQueue() (SET_VRING_KICK) to stopQueue()
// (GET_VRING_BASE), may be disabled meanwhile (SET_VRING_ENABLE 0: buffers are used but no data
// passes), and the status is only recorded (vhost-user.rst "Starting and stopping rings").

import { F, featureSet, has } from '../features.ts';
import { VIRTIO_STATUS } from '../layout.ts';
import type { GuestMemory } from '../memory.ts';
import { decodeNetHdr, emptyNetHdr, encodeNetHdr, type NetHdr } from '../net-header.ts';
import { broken, type Broken } from './broken.ts';
import type { DescChain } from './chain.ts';
import { createDeviceQueue } from './create-queue.ts';
import { DeviceMemory } from './device-memory.ts';
import { rejectFeatures } from './net-features.ts';
import type { DeviceQueue, DeviceQueueConfig } from './queue.ts';

/** virtio-net header size with VERSION_1 (§5.1.6). */
export const NET_HDR_LEN = 12;
/** num_buffers: bytes 10..12 of the header (§5.1.6). */
const NUM_BUFFERS_AT = 10;
const NUM_BUFFERS_END = 12;

export const REFERENCE_NET_FEATURES = featureSet(
  F.F_VERSION_1,
  F.NET_F_MRG_RXBUF,
  F.F_INDIRECT_DESC,
  F.F_EVENT_IDX,
  F.F_RING_PACKED,
  F.F_IN_ORDER,
);

export interface ReferenceNetOptions {
  /** Features offered (default REFERENCE_NET_FEATURES). */
  offered?: bigint;
  /** Queue pairs (default 1): queues 2k (RX) and 2k+1 (TX). No control queue. */
  queuePairs?: number;
  /** The link: every transmitted frame with its header. */
  onTx?: (frame: Uint8Array, hdr: NetHdr, pair: number) => void;
  /** Used-buffer notification to the driver (the call eventfd). */
  onCall?: (queue: number) => void;
  /** The device set DEVICE_NEEDS_RESET. */
  onBroken?: (why: DeviceBroken) => void;
  /** 'virtio' (default): rings start at DRIVER_OK. 'vhost-user': runQueue()/stopQueue(), status only recorded. */
  lifecycle?: 'virtio' | 'vhost-user';
}

export interface DeviceBroken extends Broken {
  queue: number;
}

export type InjectResult =
  | { kind: 'delivered'; buffers: number; bytes: number }
  | { kind: 'dropped'; reason: 'not-ready' | 'no-buffers' | 'buffer-too-small' }
  | DeviceBroken;

export interface InjectOptions {
  pair?: number;
  /** Header fields to deliver (num_buffers is always set by the device). */
  hdr?: Partial<NetHdr>;
}

export class ReferenceNetDevice {
  readonly offered: bigint;
  readonly queuePairs: number;
  /** Features the driver wrote (final once FEATURES_OK sticks). */
  features = 0n;
  status = 0;
  broken: DeviceBroken | undefined;
  /** Per queue: available-buffer notifications received, used-buffer notifications sent. */
  readonly kicks: number[];
  readonly calls: number[];
  /** Configuration-change notifications (sent when the device needs a reset, §2.1.2). */
  configChanges = 0;
  readonly stats = { txFrames: 0, rxFrames: 0, rxDropped: 0 };

  protected mem: DeviceMemory | undefined;
  protected readonly queues: (DeviceQueue | undefined)[];
  private readonly configs: (DeviceQueueConfig | undefined)[];
  /** Per queue: whether data passes (SET_VRING_ENABLE); always true over a virtio transport. */
  private readonly enabled: boolean[];
  private readonly vhostUser: boolean;
  private txChain: DescChain | undefined;
  private rxPool: DescChain[] = [];
  private readonly hdrBytes = new Uint8Array(NET_HDR_LEN);

  constructor(readonly options: ReferenceNetOptions = {}) {
    this.offered = options.offered ?? REFERENCE_NET_FEATURES;
    this.queuePairs = options.queuePairs ?? 1;
    const n = 2 * this.queuePairs;
    this.kicks = new Array<number>(n).fill(0);
    this.calls = new Array<number>(n).fill(0);
    this.queues = new Array<DeviceQueue | undefined>(n).fill(undefined);
    this.configs = new Array<DeviceQueueConfig | undefined>(n).fill(undefined);
    this.enabled = new Array<boolean>(n).fill(true);
    this.vhostUser = options.lifecycle === 'vhost-user';
  }

  // ---- control plane ----

  setMemory(mem: GuestMemory): void {
    this.mem = new DeviceMemory(mem);
  }

  /** Driver's feature write. Ignored once FEATURES_OK is set (§3.1.1: features are then fixed). */
  setDriverFeatures(features: bigint): void {
    if (!(this.status & VIRTIO_STATUS.FEATURES_OK)) this.features = features;
  }

  /** Ring addresses for queue i; takes effect at DRIVER_OK (or at once if already running). */
  setQueue(i: number, cfg: DeviceQueueConfig): void {
    this.checkQueueIndex(i);
    this.configs[i] = cfg;
    if (!this.vhostUser && this.status & VIRTIO_STATUS.DRIVER_OK) this.startQueue(i);
  }

  /**
   * vhost-user life cycle: queue i runs from now on at `cfg` (SET_VRING_KICK), whatever the status;
   * TX buffers already available are processed at once, without waiting for a kick.
   */
  runQueue(i: number, cfg: DeviceQueueConfig): void {
    this.checkQueueIndex(i);
    this.configs[i] = cfg;
    this.startQueue(i);
    if (i % 2 === 1 && this.running() && this.queues[i]) this.drainTx(i);
  }

  /**
   * vhost-user life cycle (GET_VRING_BASE): queue i stops; the device does not touch it or notify
   * for it until it runs again. Returns where it stopped (DeviceQueue.base()), undefined if not running.
   */
  stopQueue(i: number): number | undefined {
    this.checkQueueIndex(i);
    const q = this.queues[i];
    this.queues[i] = undefined;
    this.configs[i] = undefined;
    return q?.base();
  }

  /** vhost-user SET_VRING_ENABLE: a disabled queue still uses TX buffers (frames discarded); RX gets nothing. */
  setQueueEnabled(i: number, enabled: boolean): void {
    this.checkQueueIndex(i);
    this.enabled[i] = enabled;
  }

  /** Driver's status write: 0 resets; FEATURES_OK sticks only for an acceptable set (§2.2.2). */
  setStatus(value: number): void {
    if (value === 0) return this.reset();
    const rising = value & ~this.status;
    let next = value | (this.status & VIRTIO_STATUS.DEVICE_NEEDS_RESET);
    if (rising & VIRTIO_STATUS.FEATURES_OK && this.featureProblem() !== undefined) next &= ~VIRTIO_STATUS.FEATURES_OK;
    if (rising & VIRTIO_STATUS.DRIVER_OK && !(next & VIRTIO_STATUS.FEATURES_OK)) next &= ~VIRTIO_STATUS.DRIVER_OK;
    this.status = next;
    if (!this.vhostUser && rising & VIRTIO_STATUS.DRIVER_OK && next & VIRTIO_STATUS.DRIVER_OK) this.start();
  }

  /** Why the driver's features would be refused at FEATURES_OK, or undefined. */
  featureProblem(): string | undefined {
    return rejectFeatures(this.offered, this.features);
  }

  /** §2.4: back to the initial state; no queue access or notification afterwards. */
  reset(): void {
    this.status = 0;
    this.features = 0n;
    this.broken = undefined;
    this.queues.fill(undefined);
    this.configs.fill(undefined);
    this.txChain = undefined;
    this.rxPool = [];
  }

  queue(i: number): DeviceQueue | undefined {
    return this.queues[i];
  }

  // ---- data plane ----

  /** Available-buffer notification for queue i. */
  kick(i: number): void {
    this.checkQueueIndex(i);
    this.kicks[i]++;
    // F4/F5: before DRIVER_OK, after reset or once broken the device does not touch the rings.
    if (!this.running() || !this.queues[i]) return;
    if (i % 2 === 1) this.drainTx(i);
  }

  /** A frame arriving from the link, delivered into RX queue 2*pair. */
  inject(frame: Uint8Array, opts: InjectOptions = {}): InjectResult {
    const qi = 2 * (opts.pair ?? 0);
    this.checkQueueIndex(qi);
    if (this.broken) return this.broken;
    const q = this.queues[qi];
    if (!this.running() || !q || !this.enabled[qi]) return this.drop('not-ready');
    const hdr = { ...emptyNetHdr(), ...opts.hdr };
    return has(this.features, F.NET_F_MRG_RXBUF) ? this.receiveMergeable(qi, q, frame, hdr) : this.receiveOne(qi, q, frame, hdr);
  }

  // ---- hooks for deliberately broken variants (broken-net.ts) ----

  /** used.len for a chain the device wrote `written` bytes into (§2.7.8: exactly that). */
  protected usedLen(_chain: DescChain, written: number, _dir: 'tx' | 'rx'): number {
    return written;
  }

  /** Whether to send a used-buffer notification after a flush (`returned`: buffers were used since the last one). */
  protected shouldCall(q: DeviceQueue, _returned: boolean): boolean {
    return q.needsNotify();
  }

  /**
   * A TX chain with fewer device-readable bytes than the header (§5.1.6.2): the device marks itself
   * broken. True instead means "go on": the chain is returned unsent.
   */
  protected unreadableTx(qi: number, chain: DescChain): boolean {
    const total = chain.readable.totalLen;
    this.markBroken(qi, broken('device-buffer', '5.1.6.2', `transmit buffer (id ${chain.id}) has ${total} device-readable bytes, less than the ${NET_HDR_LEN}-byte virtio-net header`));
    return false;
  }

  /** Whether the device writes num_buffers into a mergeable packet's header (§5.1.6.4.1: it must). */
  protected writesNumBuffers(): boolean {
    return true;
  }

  /** After a TX chain has been read, before it is returned. */
  protected afterTransmit(_q: DeviceQueue, _chain: DescChain): void {}

  /** After the last used entry of a TX drain was written, before flush (id/descCount of that buffer). */
  protected afterTxPushes(_q: DeviceQueue, _id: number, _descCount: number): void {}

  protected createQueue(mem: DeviceMemory, cfg: DeviceQueueConfig, features: bigint): DeviceQueue {
    return createDeviceQueue(mem, cfg, features);
  }

  // ---- internals ----

  private running(): boolean {
    if (this.vhostUser) return !this.broken;
    return (this.status & VIRTIO_STATUS.DRIVER_OK) !== 0 && !this.broken && !(this.status & VIRTIO_STATUS.FAILED);
  }

  private start(): void {
    for (let i = 0; i < this.configs.length; i++) if (this.configs[i]) this.startQueue(i);
  }

  private startQueue(i: number): void {
    if (!this.mem) throw new Error('reference-net: setMemory() before DRIVER_OK');
    const q = this.createQueue(this.mem, this.configs[i]!, this.features);
    this.queues[i] = q;
    if (q.broken) return this.markBroken(i, q.broken);
    q.onBroken = (b) => this.markBroken(i, b);
  }

  private markBroken(queue: number, b: Broken): void {
    if (this.broken) return;
    this.broken = { ...b, queue };
    // §2.1.2: set DEVICE_NEEDS_RESET and send a configuration change notification.
    this.status |= VIRTIO_STATUS.DEVICE_NEEDS_RESET;
    this.configChanges++;
    this.options.onBroken?.(this.broken);
  }

  private drainTx(qi: number): void {
    const q = this.queues[qi]!;
    const chain = (this.txChain ??= q.newChain());
    const inOrder = has(this.features, F.F_IN_ORDER);
    // Suppress kicks while draining; re-enable and re-check so a buffer added meanwhile is not missed (N7).
    do {
      q.disableKicks();
      let batch = 0;
      let lastLen = 0;
      let lastId = -1;
      let lastDescs = 0;
      for (;;) {
        const r = q.pop(chain);
        if (r.kind === 'empty') break;
        if (r.kind === 'broken' || !this.transmit(qi, chain)) return;
        this.afterTransmit(q, chain);
        const len = this.usedLen(chain, 0, 'tx'); // TX: the device writes nothing (S5)
        if (inOrder) batch++;
        else q.push(chain, len);
        lastLen = len;
        lastId = chain.id;
        lastDescs = chain.descCount;
      }
      if (batch > 0) q.pushBatch(batch, lastLen);
      if (lastId >= 0) this.afterTxPushes(q, lastId, lastDescs);
      this.complete(qi, q, lastId >= 0);
    } while (q.enableKicks() && this.running());
  }

  /**
   * Read header + frame from a TX chain and hand the frame to the sink (not from a disabled queue:
   * the buffer is used, the frame discarded). False if the device broke.
   */
  private transmit(qi: number, chain: DescChain): boolean {
    const total = chain.readable.totalLen;
    if (total < NET_HDR_LEN) return this.unreadableTx(qi, chain);
    if (!this.enabled[qi]) return true;
    chain.readable.gather(this.hdrBytes);
    const frame = new Uint8Array(total - NET_HDR_LEN);
    chain.readable.gather(frame, 0, NET_HDR_LEN);
    this.stats.txFrames++;
    this.options.onTx?.(frame, decodeNetHdr(this.hdrBytes), (qi - 1) / 2);
    return true;
  }

  /** Without MRG_RXBUF: the whole packet in one buffer, num_buffers = 1 (§5.1.6.3.2, §5.1.6.4.1). */
  private receiveOne(qi: number, q: DeviceQueue, frame: Uint8Array, hdr: NetHdr): InjectResult {
    const chain = this.rxChain(q, 0);
    const r = q.pop(chain);
    if (r.kind === 'empty') return this.drop('no-buffers');
    if (r.kind === 'broken') return this.broken!;
    const need = NET_HDR_LEN + frame.length;
    if (chain.writable.totalLen < need) {
      // The driver SHOULD post big enough buffers (§5.1.6.3.1); leave this one for smaller frames.
      q.unpop(chain);
      return this.drop('buffer-too-small');
    }
    hdr.numBuffers = 1;
    this.writePacket(chain, hdr, frame, 0, need);
    q.push(chain, this.usedLen(chain, need, 'rx'));
    return this.delivered(qi, q, 1, need);
  }

  /** MRG_RXBUF: spread over as many buffers as needed, all but the last filled (§5.1.6.4.1). */
  private receiveMergeable(qi: number, q: DeviceQueue, frame: Uint8Array, hdr: NetHdr): InjectResult {
    const need = NET_HDR_LEN + frame.length;
    let n = 0;
    for (let room = 0; room < need; n++) {
      const chain = this.rxChain(q, n);
      const r = q.pop(chain);
      if (r.kind === 'broken') return this.broken!;
      if (r.kind === 'empty') {
        for (let k = n - 1; k >= 0; k--) q.unpop(this.rxPool[k]);
        return this.drop('no-buffers');
      }
      if (chain.writable.totalLen < NET_HDR_LEN) {
        this.markBroken(qi, broken('device-buffer', '5.1.6.3.1', `receive buffer (id ${chain.id}) has ${chain.writable.totalLen} device-writable bytes; with MRG_RXBUF each buffer must hold the ${NET_HDR_LEN}-byte header`));
        return this.broken!;
      }
      room += chain.writable.totalLen;
    }
    hdr.numBuffers = n;
    const keepNumBuffers = !this.writesNumBuffers();
    const inOrder = has(this.features, F.F_IN_ORDER);
    let at = 0;
    let lastLen = 0;
    for (let k = 0; k < n; k++) {
      const chain = this.rxPool[k];
      const len = Math.min(chain.writable.totalLen, need - at);
      this.writePacket(chain, hdr, frame, at, len, keepNumBuffers);
      at += len;
      lastLen = this.usedLen(chain, len, 'rx');
      // IN_ORDER: the filled buffers count as fully used, so one entry (the last) returns them all (§2.7.9).
      if (!inOrder) q.push(chain, lastLen);
    }
    if (inOrder) q.pushBatch(n, lastLen);
    return this.delivered(qi, q, n, need);
  }

  /**
   * Write bytes [from, from+len) of header‖frame into the chain's writable part. keepNumBuffers
   * (fault injection only): the header's num_buffers bytes keep what the buffer held.
   */
  private writePacket(chain: DescChain, hdr: NetHdr, frame: Uint8Array, from: number, len: number, keepNumBuffers = false): void {
    const list = chain.writable;
    let done = 0;
    if (from < NET_HDR_LEN) {
      encodeNetHdr(hdr, this.hdrBytes);
      if (keepNumBuffers) list.gather(this.hdrBytes.subarray(0, NUM_BUFFERS_END), NUM_BUFFERS_AT, NUM_BUFFERS_AT);
      done = list.scatter(this.hdrBytes, 0, from, Math.min(NET_HDR_LEN, from + len));
    }
    const frameFrom = Math.max(0, from - NET_HDR_LEN);
    list.scatter(frame, done, frameFrom, frameFrom + (len - done));
  }

  private delivered(qi: number, q: DeviceQueue, buffers: number, bytes: number): InjectResult {
    this.complete(qi, q, true);
    this.stats.rxFrames++;
    return { kind: 'delivered', buffers, bytes };
  }

  /** Publish used entries, then notify if the driver asked for it. */
  private complete(qi: number, q: DeviceQueue, returned: boolean): void {
    q.flush();
    if (this.shouldCall(q, returned)) {
      this.calls[qi]++;
      this.options.onCall?.(qi);
    }
  }

  private rxChain(q: DeviceQueue, k: number): DescChain {
    while (this.rxPool.length <= k) this.rxPool.push(q.newChain());
    return this.rxPool[k];
  }

  private drop(reason: 'not-ready' | 'no-buffers' | 'buffer-too-small'): InjectResult {
    this.stats.rxDropped++;
    return { kind: 'dropped', reason };
  }

  private checkQueueIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= 2 * this.queuePairs) {
      throw new RangeError(`queue ${i} does not exist: this device has ${2 * this.queuePairs} queues (0..${2 * this.queuePairs - 1})`);
    }
  }
}
