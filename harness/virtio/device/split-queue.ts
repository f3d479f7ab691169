// Device side of a split virtqueue (§2.7): reads the available ring up to avail.idx, walks chains
// (split-walk.ts), writes used elements, publishes used.idx, and decides notifications in both
// directions. Indices are free-running u16 values kept as numbers masked with 0xffff.
//
// Memory ordering (JS memory model): Atomics operations are sequentially consistent, so an
// Atomics.store publishes every plain write before it, and an Atomics.load makes every write
// published before the matching store visible to the plain reads after it. That gives the
// acquire/release pairs virtio asks for without explicit fences; each pairing is named below.

import { VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_USED_F_NO_NOTIFY, vringNeedEvent } from '../layout.ts';
import { broken, latchBroken, type Broken } from './broken.ts';
import { DescChain, EMPTY, type PopResult } from './chain.ts';
import type { DeviceMemory } from './device-memory.ts';
import { InFlight } from './in-flight.ts';
import type { DeviceQueue, DeviceQueueConfig, QueueFeatures } from './queue.ts';
import { isBroken, ringArea, u16At, u32At } from './ring-views.ts';
import { SplitChainWalker } from './split-walk.ts';

export class SplitDeviceQueue implements DeviceQueue {
  readonly kind = 'split' as const;
  readonly size: number;
  broken: Broken | undefined;
  onBroken: ((b: Broken) => void) | undefined;

  /** avail: [flags, idx, ring[size], used_event]. */
  private avail: Uint16Array = new Uint16Array(0);
  /** used as u16: [flags, idx, ...ring..., avail_event at 2 + 4*size]. */
  private used16: Uint16Array = new Uint16Array(0);
  /** used as u32: [flags|idx, (id, len)[size]]. */
  private used32: Uint32Array = new Uint32Array(0);
  private walker: SplitChainWalker | undefined;
  private readonly mask: number;
  private readonly tracked: InFlight;

  /** Next available-ring entry to read (free-running). */
  private lastAvail: number;
  /** avail.idx as last read. */
  private availShadow: number;
  /** Next used-ring entry to write (free-running); published to used.idx by flush(). */
  private usedIdx = 0;
  private publishedUsed = 0;
  /** used.idx when the last notification decision was taken (vring_need_event's old). */
  private signalledUsed = 0;
  /** IN_ORDER: the head the driver must offer next (-1 until the first pop). */
  private expectedHead = -1;

  constructor(
    readonly mem: DeviceMemory,
    cfg: DeviceQueueConfig,
    readonly features: QueueFeatures,
  ) {
    const n = cfg.size;
    this.size = n;
    this.mask = n - 1;
    this.lastAvail = this.availShadow = (cfg.base ?? 0) & 0xffff;
    this.tracked = new InFlight(Math.max(n, 1), Math.max(n, 1), features.inOrder);
    const bad = this.setup(cfg);
    if (bad) this.broken = bad;
  }

  get inFlight(): number {
    return this.tracked.count;
  }

  private setup(cfg: DeviceQueueConfig): Broken | undefined {
    const n = cfg.size;
    if (!Number.isInteger(n) || n < 1 || n > 32768 || (n & (n - 1)) !== 0) {
      return broken('ring-layout', '2.7', `queue size ${n} is not a power of 2 between 1 and 32768`);
    }
    const desc = ringArea(this.mem, cfg.desc, 16 * n, 16, 'descriptor table', '2.7.1');
    if (isBroken(desc)) return desc;
    const avail = ringArea(this.mem, cfg.driver, 6 + 2 * n, 2, 'available ring', '2.7.1');
    if (isBroken(avail)) return avail;
    const used = ringArea(this.mem, cfg.device, 6 + 8 * n, 4, 'used ring', '2.7.1');
    if (isBroken(used)) return used;
    this.avail = u16At(this.mem, avail, 3 + n);
    this.used16 = u16At(this.mem, used, 3 + 4 * n);
    this.used32 = u32At(this.mem, used, 1 + 2 * n);
    this.walker = new SplitChainWalker(this.mem, n, this.mem.views[desc.region], desc.off, this.features.indirect, () => this.honoursIndirectWrite());
    // Resume from the ring as the driver (or a previous backend) left it (vhost-user reconnect, S7).
    this.usedIdx = this.publishedUsed = this.signalledUsed = Atomics.load(this.used16, 1);
    return undefined;
  }

  newChain(): DescChain {
    return new DescChain(this.mem);
  }

  hasAvailable(): boolean {
    if (this.broken) return false;
    if (this.lastAvail !== this.availShadow) return true;
    this.readAvailIdx();
    return !this.broken && this.lastAvail !== this.availShadow;
  }

  pop(chain: DescChain): PopResult {
    if (this.broken) return this.broken;
    if (this.lastAvail === this.availShadow) {
      this.readAvailIdx();
      if (this.broken) return this.broken;
      if (this.lastAvail === this.availShadow) return EMPTY;
    }
    // Plain read of the ring entry: ordered after the Atomics.load of avail.idx in readAvailIdx,
    // which pairs with the driver's barrier before its avail.idx store (§2.7.13.3.1).
    const slot = this.lastAvail & this.mask;
    const head = this.avail[2 + slot];
    const bad = this.checkHead(slot, head) ?? this.walker!.walk(head, chain);
    if (bad) return this.fail(bad);
    this.tracked.add(head, chain.descCount);
    if (this.features.inOrder) this.expectedHead = (head + chain.descCount) & this.mask;
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    return chain;
  }

  unpop(chain: DescChain): void {
    if (this.broken) return;
    const prev = (this.lastAvail - 1) & 0xffff;
    if (this.avail[2 + (prev & this.mask)] !== chain.id || !this.tracked.has(chain.id)) {
      throw new Error(`device bug: unpop of chain ${chain.id}, which is not the latest popped`);
    }
    this.tracked.removeLatest(chain.id, chain.descCount);
    this.lastAvail = prev;
    if (this.features.inOrder) this.expectedHead = chain.id;
  }

  push(chain: DescChain, len: number): void {
    this.pushUsed(chain.id, len, chain.descCount);
  }

  pushUsed(id: number, len: number, descCount: number): void {
    if (this.broken) return;
    this.tracked.retire(id, descCount);
    this.writeUsed(id, len);
  }

  pushBatch(count: number, lastLen: number): void {
    if (this.broken) return;
    this.tracked.retireOldest(count);
    // §2.7.9: one entry with the last buffer's id, in the first buffer's slot; used.idx moves by count.
    this.writeUsed(this.tracked.batchLastId, lastLen);
    this.usedIdx = (this.usedIdx + count - 1) & 0xffff;
  }

  /** Write a used element with no in-flight check (fault injection only: a device returning twice). */
  pushUnchecked(id: number, len: number): void {
    if (!this.broken) this.writeUsed(id, len);
  }

  /**
   * Fault injection only (a device consuming beyond avail.idx, §2.7.6): return the avail-ring slot
   * at last_avail_idx, which the driver has not published, as used with whatever head it holds.
   * Nothing is tracked and last_avail_idx stays. Returns that id, or undefined when broken.
   */
  pushBeyondAvail(len: number): number | undefined {
    if (this.broken) return undefined;
    const id = this.avail[2 + (this.lastAvail & this.mask)];
    this.writeUsed(id, len);
    return id;
  }

  flush(): void {
    if (this.broken || this.usedIdx === this.publishedUsed) return;
    this.publishUsedIdx(this.usedIdx);
    this.publishedUsed = this.usedIdx;
  }

  /**
   * Store used.idx. Atomics.store publishes the used elements written before it (§2.7.8.2: len
   * and data before idx); pairs with the driver's load of used.idx before it reads used.ring.
   * Protected so a deliberately broken device can publish a wrong value.
   */
  protected publishUsedIdx(idx: number): void {
    Atomics.store(this.used16, 1, idx);
  }

  /** Whether WRITE on a ring descriptor with INDIRECT applies to its table: never (§2.7.5.3.2); fault injection overrides. */
  protected honoursIndirectWrite(): boolean {
    return false;
  }

  needsNotify(): boolean {
    if (this.broken || this.publishedUsed === this.signalledUsed) return false;
    const old = this.signalledUsed;
    const now = (this.signalledUsed = this.publishedUsed);
    // These loads follow the used.idx store in flush(); both are seq-cst Atomics, so the device
    // cannot read a stale used_event/flags from before its own store (the full barrier of
    // §2.7.7.2). Pairs with the driver's barrier between writing used_event/flags and re-reading
    // used.idx when it re-enables notifications.
    if (this.features.eventIdx) return vringNeedEvent(Atomics.load(this.avail, 2 + this.size), now, old);
    return (Atomics.load(this.avail, 0) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  disableKicks(): void {
    // With EVENT_IDX the device MUST keep used.flags 0 (§2.7.10.2); avail_event simply stays behind.
    if (this.broken || this.features.eventIdx) return;
    Atomics.store(this.used16, 0, VIRTQ_USED_F_NO_NOTIFY);
  }

  enableKicks(): boolean {
    if (this.broken) return false;
    if (this.features.eventIdx) Atomics.store(this.used16, 2 + 4 * this.size, this.lastAvail);
    else Atomics.store(this.used16, 0, 0);
    // Re-check after the store (seq-cst store then load): a buffer the driver added before seeing
    // the store came without a kick. Pairs with the driver's barrier between its avail.idx store
    // and reading used.flags / avail_event (§2.7.13.4.1).
    return this.hasAvailable();
  }

  base(): number {
    return this.lastAvail;
  }

  private readAvailIdx(): void {
    // Acquire: pairs with the driver's store of avail.idx after its ring writes (§2.7.13.3.1).
    const idx = Atomics.load(this.avail, 1);
    const pending = (idx - this.lastAvail) & 0xffff;
    if (pending > this.size) {
      this.fail(
        broken(
          'avail-idx-jump',
          '2.7',
          `avail.idx jumped from ${this.availShadow} to ${idx}: ${pending} entries past the next unread one (${this.lastAvail}), more than queue size ${this.size}`,
        ),
      );
      return;
    }
    this.availShadow = idx;
  }

  private checkHead(slot: number, head: number): Broken | undefined {
    if (head >= this.size) {
      return broken('index-out-of-range', '2.7.6', `avail.ring[${slot}] = ${head} is not a descriptor index (queue size ${this.size})`);
    }
    if (this.tracked.has(head)) {
      return broken('buffer-id-in-use', '2.7.13', `avail.ring[${slot}] offers head ${head} again before the device returned it`);
    }
    if (this.features.inOrder && this.expectedHead >= 0 && head !== this.expectedHead) {
      return broken('in-order-violation', '2.7.5', `IN_ORDER: avail.ring[${slot}] = ${head}, expected descriptor ${this.expectedHead} (ring order)`);
    }
    return undefined;
  }

  private writeUsed(id: number, len: number): void {
    const slot = this.usedIdx & this.mask;
    // Plain stores: made visible by the used.idx Atomics.store in flush().
    this.used32[1 + 2 * slot] = id;
    this.used32[2 + 2 * slot] = len;
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
  }

  private fail(b: Broken): Broken {
    return latchBroken(this, b);
  }
}
