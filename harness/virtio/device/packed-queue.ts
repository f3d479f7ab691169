// Device side of a packed virtqueue (§2.8). A descriptor is available when its AVAIL bit equals the
// device's avail wrap counter and its USED bit does not (§2.8.1). Lists are walked in ring order
// (bounded by the queue size), used descriptors are written at consecutive positions skipping each
// buffer's list length (§2.8.6), and the first used descriptor of a flush is marked last (§2.8.9),
// so the driver never sees part of a batch. Memory ordering as in split-queue.ts: flags are
// accessed with seq-cst Atomics, everything else with plain reads/writes ordered by them.

import {
  RING_EVENT_FLAGS_DESC,
  RING_EVENT_FLAGS_DISABLE,
  RING_EVENT_FLAGS_ENABLE,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  packedIsAvail,
  packedOffWrap,
  packedUsedFlags,
  vringNeedEvent,
} from '../layout.ts';
import { broken, latchBroken, type Broken } from './broken.ts';
import { DescChain, EMPTY, type PopResult } from './chain.ts';
import { addBuffer, rangeError, TableLocator } from './desc-checks.ts';
import type { DeviceMemory } from './device-memory.ts';
import { InFlight } from './in-flight.ts';
import type { DeviceQueue, DeviceQueueConfig, QueueFeatures } from './queue.ts';
import { isBroken, ringArea, u16At, u32At } from './ring-views.ts';

const MAX_CHAIN_BYTES = 4294967296;

export class PackedDeviceQueue implements DeviceQueue {
  readonly kind = 'packed' as const;
  readonly size: number;
  broken: Broken | undefined;
  onBroken: ((b: Broken) => void) | undefined;

  /** Descriptor ring as u16 (id at 8s+6, flags at 8s+7) and u32 (addr at 4s, 4s+1; len at 4s+2). */
  private d16: Uint16Array = new Uint16Array(0);
  private d32: Uint32Array = new Uint32Array(0);
  /** Driver event suppression (read by the device): [off_wrap, flags]. */
  private drvEvent: Uint16Array = new Uint16Array(0);
  /** Device event suppression (written by the device): [off_wrap, flags]. */
  private devEvent: Uint16Array = new Uint16Array(0);
  private tables: TableLocator | undefined;
  private readonly tracked: InFlight;

  private availPos = 0;
  private availWrap = 1;
  private usedPos = 0;
  private usedWrap = 1;
  /** Position and wrap after the last flush, and when the last notification decision was taken. */
  private pubPos = 0;
  private pubWrap = 1;
  private sigPos = 0;
  private sigWrap = 1;
  /** The first used descriptor written since the last flush; its flags are stored by flush(). */
  private pendingSlot = -1;
  private pendingFlags = 0;

  constructor(
    readonly mem: DeviceMemory,
    cfg: DeviceQueueConfig,
    readonly features: QueueFeatures,
  ) {
    this.size = cfg.size;
    this.tracked = new InFlight(65536, Math.max(cfg.size, 1), features.inOrder);
    const bad = this.setup(cfg);
    if (bad) this.broken = bad;
  }

  get inFlight(): number {
    return this.tracked.count;
  }

  private setup(cfg: DeviceQueueConfig): Broken | undefined {
    const n = cfg.size;
    if (!Number.isInteger(n) || n < 1 || n > 32768) return broken('ring-layout', '2.8', `queue size ${n} is not between 1 and 32768`);
    const desc = ringArea(this.mem, cfg.desc, 16 * n, 16, 'descriptor ring', '2.8.11');
    if (isBroken(desc)) return desc;
    const drv = ringArea(this.mem, cfg.driver, 4, 4, 'driver event suppression', '2.8.11');
    if (isBroken(drv)) return drv;
    const dev = ringArea(this.mem, cfg.device, 4, 4, 'device event suppression', '2.8.11');
    if (isBroken(dev)) return dev;
    this.d16 = u16At(this.mem, desc, 8 * n);
    this.d32 = u32At(this.mem, desc, 4 * n);
    this.drvEvent = u16At(this.mem, drv, 2);
    this.devEvent = u16At(this.mem, dev, 2);
    this.tables = new TableLocator(this.mem, n);
    const base = cfg.base ?? packedOffWrap(0, 1);
    const avail = base & 0xffff;
    const used = base >>> 16 || avail;
    this.availPos = avail & 0x7fff;
    this.availWrap = avail >> 15;
    this.usedPos = this.pubPos = this.sigPos = used & 0x7fff;
    this.usedWrap = this.pubWrap = this.sigWrap = used >> 15;
    if (this.availPos >= n || this.usedPos >= n) return broken('ring-layout', '2.8', `ring base ${base} names a position beyond queue size ${n}`);
    return undefined;
  }

  newChain(): DescChain {
    return new DescChain(this.mem);
  }

  hasAvailable(): boolean {
    return !this.broken && packedIsAvail(Atomics.load(this.d16, 8 * this.availPos + 7), this.availWrap);
  }

  pop(chain: DescChain): PopResult {
    if (this.broken) return this.broken;
    // Acquire on the head's flags: pairs with the driver's barrier before it flips them (§2.8.21).
    const flags0 = Atomics.load(this.d16, 8 * this.availPos + 7);
    if (!packedIsAvail(flags0, this.availWrap)) return EMPTY;
    const bad = this.walk(chain, flags0) ?? this.checkTaken(chain);
    if (bad) return this.fail(bad);
    this.tracked.add(chain.id, chain.descCount);
    this.availPos += chain.descCount;
    if (this.availPos >= this.size) {
      this.availPos -= this.size;
      this.availWrap ^= 1;
    }
    return chain;
  }

  unpop(chain: DescChain): void {
    if (this.broken) return;
    if (!this.tracked.has(chain.id)) throw new Error(`device bug: unpop of buffer ${chain.id}, which is not in flight`);
    this.tracked.removeLatest(chain.id, chain.descCount);
    this.availPos -= chain.descCount;
    if (this.availPos < 0) {
      this.availPos += this.size;
      this.availWrap ^= 1;
    }
  }

  push(chain: DescChain, len: number): void {
    this.pushUsed(chain.id, len, chain.descCount);
  }

  pushUsed(id: number, len: number, descCount: number): void {
    if (this.broken) return;
    this.tracked.retire(id, descCount);
    this.writeUsed(id, len, descCount);
  }

  pushBatch(count: number, lastLen: number): void {
    if (this.broken) return;
    this.tracked.retireOldest(count);
    // §2.8.8: one used descriptor with the last buffer's id; skip all the batch's slots.
    this.writeUsed(this.tracked.batchLastId, lastLen, this.tracked.batchSlots);
  }

  /** Write a used descriptor with no in-flight check (fault injection only). */
  pushUnchecked(id: number, len: number, descCount: number): void {
    if (!this.broken) this.writeUsed(id, len, descCount);
  }

  flush(): void {
    if (this.broken || this.pendingSlot < 0) return;
    // Release: the batch's other used descriptors (and the data) are visible before this store;
    // pairs with the driver's load of the flags at its next used position (§2.8.9).
    Atomics.store(this.d16, 8 * this.pendingSlot + 7, this.pendingFlags);
    this.pendingSlot = -1;
    this.pubPos = this.usedPos;
    this.pubWrap = this.usedWrap;
  }

  needsNotify(): boolean {
    if (this.broken || (this.pubPos === this.sigPos && this.pubWrap === this.sigWrap)) return false;
    let old = this.sigPos;
    const now = this.pubPos;
    this.sigPos = now;
    this.sigWrap = this.pubWrap;
    // seq-cst loads after the flags store in flush(): the full barrier §2.8.10 asks for before
    // reading the driver event suppression structure; pairs with the driver's barrier between
    // writing it and re-checking the ring.
    const flags = Atomics.load(this.drvEvent, 1) & 3;
    if (flags === RING_EVENT_FLAGS_DISABLE) return false;
    // ENABLE, DESC without EVENT_IDX, or the reserved value: a notification is always safe.
    if (flags !== RING_EVENT_FLAGS_DESC || !this.features.eventIdx) return true;
    const offWrap = Atomics.load(this.drvEvent, 0);
    let event = offWrap & 0x7fff;
    // Put old, new and the event on one line that ends at `now` (positions in the previous lap
    // become negative), then apply vring_need_event: notify iff event ∈ [old, now).
    if (now <= old) old -= this.size;
    if (offWrap >> 15 !== this.pubWrap) event -= this.size;
    return vringNeedEvent(event, now, old);
  }

  disableKicks(): void {
    if (!this.broken) Atomics.store(this.devEvent, 1, RING_EVENT_FLAGS_DISABLE);
  }

  enableKicks(): boolean {
    if (this.broken) return false;
    if (this.features.eventIdx) {
      // Ask for a kick when the driver makes the next descriptor (the one we would read) available.
      Atomics.store(this.devEvent, 0, packedOffWrap(this.availPos, this.availWrap));
      Atomics.store(this.devEvent, 1, RING_EVENT_FLAGS_DESC);
    } else {
      Atomics.store(this.devEvent, 1, RING_EVENT_FLAGS_ENABLE);
    }
    // Re-check after the stores; pairs with the driver's barrier before reading this structure.
    return this.hasAvailable();
  }

  base(): number {
    return (packedOffWrap(this.availPos, this.availWrap) | (packedOffWrap(this.usedPos, this.usedWrap) << 16)) >>> 0;
  }

  /** Walk the list starting at availPos into chain (head flags already loaded). */
  private walk(chain: DescChain, flags0: number): Broken | undefined {
    chain.reset(this.mem);
    let pos = this.availPos;
    let wrap = this.availWrap;
    let flags = flags0;
    let total = 0;
    let sawWritable = false;
    for (let slots = 0; ; ) {
      if (slots === this.size) {
        return broken('chain-too-long', '2.8.17', `descriptor list from slot ${this.availPos} is longer than queue size ${this.size}`);
      }
      if (slots > 0) {
        flags = Atomics.load(this.d16, 8 * pos + 7);
        if (!packedIsAvail(flags, wrap)) {
          return broken('partial-list', '2.8.17', `descriptor list from slot ${this.availPos}: slot ${pos} (NEXT of the one before) is not available`);
        }
      }
      slots++;
      const lo = this.d32[4 * pos];
      const hi = this.d32[4 * pos + 1];
      const len = this.d32[4 * pos + 2];
      chain.id = this.d16[8 * pos + 6];
      chain.descCount = slots;
      if (flags & VIRTQ_DESC_F_INDIRECT) return this.walkIndirect(chain, pos, lo, hi, len, flags, slots);
      const writable = (flags & VIRTQ_DESC_F_WRITE) !== 0;
      if (!writable && sawWritable) {
        return broken('readable-after-writable', '2.8.17', `descriptor at slot ${pos} is device-readable but follows a device-writable one`);
      }
      sawWritable ||= writable;
      total += len;
      if (total > MAX_CHAIN_BYTES) return broken('chain-too-large', '2.8.17', `descriptor list from slot ${this.availPos} holds more than 2^32 bytes`);
      chain.buffers++;
      if (!addBuffer(writable ? chain.writable : chain.readable, lo, hi, len)) {
        return rangeError(lo, hi, len, `descriptor at slot ${pos}`, '2.8.4');
      }
      if (!(flags & VIRTQ_DESC_F_NEXT)) return undefined;
      if (++pos === this.size) {
        pos = 0;
        wrap ^= 1;
      }
    }
  }

  /**
   * An INDIRECT descriptor: it must stand alone (§2.8.19), and its table is read sequentially.
   * Inside the table only WRITE is meaningful; other flags and the Buffer ID are reserved and
   * ignored (§2.8.7), so a NEXT or INDIRECT there does not change the walk.
   */
  private walkIndirect(chain: DescChain, pos: number, lo: number, hi: number, len: number, flags: number, slots: number): Broken | undefined {
    if (!this.features.indirect) {
      return broken('indirect-not-negotiated', '2.8.19', `descriptor at slot ${pos} sets INDIRECT but VIRTIO_F_INDIRECT_DESC was not negotiated`);
    }
    if (slots > 1 || flags & VIRTQ_DESC_F_NEXT) {
      return broken('indirect-with-next', '2.8.19', `descriptor at slot ${pos} sets INDIRECT within a NEXT-linked list`);
    }
    if (len === 0 || len % 16 !== 0) {
      return broken('indirect-length', '2.8.7', `descriptor at slot ${pos}: indirect table length ${len} is not a positive multiple of 16`);
    }
    const n = len / 16;
    if (n > this.size) return broken('chain-too-long', '2.8.5', `indirect table of ${n} descriptors is longer than queue size ${this.size}`);
    const unlocated = this.tables!.locate(lo, hi, len, pos, '2.8.7');
    if (unlocated) return unlocated;
    chain.indirect = true;
    const view = this.tables!.view;
    const base = this.tables!.off;
    // WRITE on the pointer is ignored (§2.8.7); only a deliberately broken device honours it.
    const tableWritable = (flags & VIRTQ_DESC_F_WRITE) !== 0 && this.honoursIndirectWrite();
    let total = 0;
    let sawWritable = false;
    for (let k = 0; k < n; k++) {
      const off = base + 16 * k;
      const elo = view.getUint32(off, true);
      const ehi = view.getUint32(off + 4, true);
      const elen = view.getUint32(off + 8, true);
      const writable = (view.getUint16(off + 14, true) & VIRTQ_DESC_F_WRITE) !== 0 || tableWritable;
      if (!writable && sawWritable) {
        return broken('readable-after-writable', '2.8.17', `indirect descriptor ${k} is device-readable but follows a device-writable one`);
      }
      sawWritable ||= writable;
      total += elen;
      if (total > MAX_CHAIN_BYTES) return broken('chain-too-large', '2.8.17', `indirect table at slot ${pos} holds more than 2^32 bytes`);
      chain.buffers++;
      if (!addBuffer(writable ? chain.writable : chain.readable, elo, ehi, elen)) {
        return rangeError(elo, ehi, elen, `indirect descriptor ${k}`, '2.8.7');
      }
    }
    return undefined;
  }

  /** Whether WRITE on a descriptor with INDIRECT applies to its table: never (§2.8.7); fault injection overrides. */
  protected honoursIndirectWrite(): boolean {
    return false;
  }

  private checkTaken(chain: DescChain): Broken | undefined {
    if (this.tracked.has(chain.id)) {
      return broken('buffer-id-in-use', '2.8.21', `Buffer ID ${chain.id} made available again before the device used it`);
    }
    if (this.tracked.slots + chain.descCount > this.size) {
      return broken('ring-overrun', '2.8.16', `${this.tracked.slots + chain.descCount} descriptors outstanding, more than queue size ${this.size}`);
    }
    return undefined;
  }

  private writeUsed(id: number, len: number, descCount: number): void {
    const pos = this.usedPos;
    this.d16[8 * pos + 6] = id;
    this.d32[4 * pos + 2] = len;
    // §2.8.1: AVAIL = USED = device wrap counter; §2.8.3: WRITE iff the device wrote data.
    const flags = packedUsedFlags(this.usedWrap) | (len > 0 ? VIRTQ_DESC_F_WRITE : 0);
    if (this.pendingSlot < 0) {
      this.pendingSlot = pos;
      this.pendingFlags = flags;
    } else {
      Atomics.store(this.d16, 8 * pos + 7, flags);
    }
    this.usedPos += descCount;
    if (this.usedPos >= this.size) {
      this.usedPos -= this.size;
      this.usedWrap ^= 1;
    }
  }

  private fail(b: Broken): Broken {
    return latchBroken(this, b);
  }
}
