// Driver side of a packed virtqueue (virtio v1.2-cs01 §2.8): one descriptor ring written by both
// sides, plus the driver and device event suppression structures.
//
// Buffer IDs come from a private free list; the ring positions a buffer occupies are tracked per ID
// so the driver can skip to where the device writes the next used descriptor (§2.8.6).
//
// Memory ordering (Atomics are sequentially consistent):
//   [W1] Atomics.store(first descriptor's flags) — release: the rest of the chain, ids, addresses,
//        lengths and indirect tables are written before it (§2.8.21.1.1 "memory barrier before the
//        flags update"); pairs with the device's read barrier after it sees AVAIL flip.
//   [M1] that store, then Atomics.load(device event suppression) in kickNeeded — the full barrier
//        of §2.8.21.2.1; pairs with the device's barrier between writing its event structure and
//        re-checking the ring.
//   [R1] Atomics.load(flags at the next used position) — acquire: pairs with the device's write
//        barrier before it sets AVAIL/USED on a used descriptor (id and len are read after).
//   [M2] Atomics.store(driver event suppression) then [R1] in enableInterrupts.

import type { GuestMemory } from '../memory.ts';
import {
  DESC_SIZE,
  EVENT_WRAP_SHIFT,
  RING_EVENT_FLAGS_DESC,
  RING_EVENT_FLAGS_DISABLE,
  RING_EVENT_FLAGS_ENABLE,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  packedAvailFlags,
  packedUsedFlags,
  vringNeedEvent,
} from '../layout.ts';
import { allocateLayout } from './allocate.ts';
import type { GuestArena } from './arena.ts';
import { resolveConfig, useIndirect, type ResolvedConfig } from './config.ts';
import { IdFifo } from './id-fifo.ts';
import { type Buf, type DeviceStart, type QueueConfig, type QueueLayout, RingViolation, type Used, type Virtqueue } from './types.ts';
import { assertLittleEndian, u16View, u32View, writeAddr } from './views.ts';

export class PackedQueue<T = unknown> implements Virtqueue<T> {
  readonly kind = 'packed' as const;
  readonly size: number;
  readonly layout: QueueLayout;
  lastLen = 0;
  lastToken: T | undefined;
  lastBatched = false;
  /** Flags of the last used descriptor read (for WRITE checks, §2.8.4). */
  lastUsedFlags = 0;
  /** Element Length exactly as the device wrote it, even when WRITE was clear. */
  lastRawLen = 0;

  private violation: RingViolation | undefined;
  private readonly cfg: ResolvedConfig;
  private readonly d32: Uint32Array; // 4 words per descriptor: addr lo, addr hi, len, id | flags << 16
  private readonly d16: Uint16Array; // same memory; id at 8i+6, flags at 8i+7
  private readonly drv: Uint16Array; // driver event suppression: off_wrap, flags
  private readonly dev: Uint32Array; // device event suppression read as one word: off_wrap | flags << 16
  private readonly table: Uint32Array | null;

  private nextAvail: number;
  private availWrap: number;
  private lastUsed: number;
  private usedWrap: number;
  private numAdded = 0; // descriptors made available since the last kickNeeded()
  private free: number;
  private flight = 0;
  private freeId = 0;
  private readonly idNext: Uint16Array;
  private readonly ndesc: Uint16Array; // ring descriptors per Buffer ID
  private readonly inLen: Float64Array;
  private readonly busy: Uint8Array;
  private readonly tokens: (T | undefined)[];
  private readonly fifo: IdFifo | null;
  private batchLast = -1;
  private batchLen = 0;

  static create<T = unknown>(arena: GuestArena, cfg: QueueConfig): PackedQueue<T> {
    const r = resolveConfig('packed', cfg);
    const layout = allocateLayout(arena, 'packed', r.size, r.indirectMax, r.indirect && r.policy !== 'never');
    return new PackedQueue<T>(arena.mem, layout, cfg);
  }

  constructor(mem: GuestMemory, layout: QueueLayout, config: QueueConfig) {
    assertLittleEndian();
    const cfg = resolveConfig('packed', config);
    if (layout.kind !== 'packed' || layout.size !== cfg.size) throw new RangeError(`layout is for a ${layout.kind} queue of ${layout.size}, config asks for packed ${cfg.size}`);
    if (layout.desc % 16 !== 0) throw new RangeError(`descriptor ring at 0x${layout.desc.toString(16)} is not 16-byte aligned (virtio §2.8.11)`);
    const n = cfg.size;
    this.cfg = cfg;
    this.size = n;
    this.layout = layout;
    this.d32 = u32View(mem, layout.desc, n * 4, 'descriptor ring');
    this.d16 = u16View(mem, layout.desc, n * 8, 'descriptor ring');
    this.drv = u16View(mem, layout.driver, 2, 'driver event suppression');
    this.dev = u32View(mem, layout.device, 1, 'device event suppression');
    this.table = layout.indirectPool >= 0 ? u32View(mem, layout.indirectPool, n * layout.indirectMax * 4, 'indirect pool') : null;
    if (cfg.policy !== 'never' && this.table === null) throw new RangeError('INDIRECT_DESC is on but the layout has no indirect pool');

    this.idNext = new Uint16Array(n);
    for (let i = 0; i < n; i++) this.idNext[i] = i + 1; // n terminates (never reached: ids ≤ descriptors)
    this.ndesc = new Uint16Array(n);
    this.inLen = new Float64Array(n);
    this.busy = new Uint8Array(n);
    this.tokens = new Array<T | undefined>(n).fill(undefined);
    this.fifo = cfg.inOrder ? new IdFifo(n) : null;
    this.free = n;
    this.nextAvail = this.lastUsed = cfg.base;
    this.availWrap = this.usedWrap = cfg.wrap;
    this.initRing();
    Atomics.store(this.drv, 0, 0);
    Atomics.store(this.drv, 1, RING_EVENT_FLAGS_ENABLE);
  }

  /**
   * Every descriptor must look "used in an earlier lap" from where the driver starts: the spec's
   * zeroed ring does that for base 0 / wrap 1. Positions before a preset base belong to the
   * current lap (AVAIL = USED = wrap), the rest to the previous one (AVAIL = USED = !wrap).
   */
  private initRing(): void {
    const { base, wrap } = this.cfg;
    for (let p = 0; p < this.size; p++) {
      const lapWrap = p < base ? wrap : wrap ^ 1;
      this.d32[p * 4] = this.d32[p * 4 + 1] = this.d32[p * 4 + 2] = 0;
      this.d16[p * 8 + 6] = 0;
      Atomics.store(this.d16, p * 8 + 7, packedUsedFlags(lapWrap));
    }
  }

  get broken(): RingViolation | undefined {
    return this.violation;
  }
  get numFree(): number {
    return this.free;
  }
  get inFlight(): number {
    return this.flight;
  }
  /** Next ring position to make available, and the driver ring wrap counter. */
  get availState(): { pos: number; wrap: number } {
    return { pos: this.nextAvail, wrap: this.availWrap };
  }
  /** Next ring position where a used descriptor is expected, and the wrap counter it must carry. */
  get usedState(): { pos: number; wrap: number } {
    return { pos: this.lastUsed, wrap: this.usedWrap };
  }

  deviceStart(): DeviceStart {
    return { base: this.cfg.base | (this.cfg.wrap << EVENT_WRAP_SHIFT) };
  }

  add(out: readonly Buf[], ins: readonly Buf[], token: T, indirect?: boolean): number {
    if (this.violation) throw this.violation;
    const n = out.length + ins.length;
    if (n === 0) throw new RangeError('a buffer needs at least one element (virtio §2.8.21.1)');
    const ind = useIndirect(this.cfg, n, indirect);
    const m = ind ? 1 : n;
    if (m > this.size) throw new RangeError(`a list of ${m} descriptors is longer than the queue size ${this.size} (virtio §2.8.17)`);
    if (this.free < m) return -1;

    const id = this.freeId;
    this.freeId = this.idNext[id];
    const first = this.nextAvail;
    const firstFlags = ind ? this.writeIndirect(id, out, ins) : this.writeChain(id, out, ins);
    this.ndesc[id] = m;
    this.busy[id] = 1;
    this.tokens[id] = token;
    this.free -= m;
    this.flight++;
    this.fifo?.push(id);
    Atomics.store(this.d16, first * 8 + 7, firstFlags); // [W1]
    this.numAdded += m;
    return id;
  }

  /** Writes the list at nextAvail, all flags but the first; returns the first descriptor's flags. */
  private writeChain(id: number, out: readonly Buf[], ins: readonly Buf[]): number {
    const nOut = out.length;
    const n = nOut + ins.length;
    let pos = this.nextAvail;
    let wrap = this.availWrap;
    let firstFlags = 0;
    let writable = 0;
    for (let j = 0; j < n; j++) {
      const b = j < nOut ? out[j] : ins[j - nOut];
      const w = pos << 2;
      writeAddr(this.d32, w, b.addr);
      this.d32[w + 2] = b.len;
      this.d16[(pos << 3) + 6] = id; // required in the last descriptor (§2.8.6); harmless in the others
      let flags = packedAvailFlags(wrap);
      if (j >= nOut) {
        flags |= VIRTQ_DESC_F_WRITE;
        writable += b.len;
      }
      if (j < n - 1) flags |= VIRTQ_DESC_F_NEXT;
      if (j === 0) firstFlags = flags;
      else Atomics.store(this.d16, (pos << 3) + 7, flags); // one store per flags field; [W1] publishes the list
      if (++pos === this.size) {
        pos = 0;
        wrap ^= 1; // §2.8.1: toggles after the last descriptor in the ring
      }
    }
    this.nextAvail = pos;
    this.availWrap = wrap;
    this.inLen[id] = writable;
    return firstFlags;
  }

  /** One ring descriptor pointing at this ID's table; table entries carry only WRITE (§2.8.7). */
  private writeIndirect(id: number, out: readonly Buf[], ins: readonly Buf[]): number {
    const t = this.table!;
    const nOut = out.length;
    const n = nOut + ins.length;
    const base = id * this.layout.indirectMax;
    let writable = 0;
    for (let j = 0; j < n; j++) {
      const b = j < nOut ? out[j] : ins[j - nOut];
      const w = (base + j) << 2;
      writeAddr(t, w, b.addr);
      t[w + 2] = b.len;
      if (j >= nOut) writable += b.len;
      t[w + 3] = j < nOut ? 0 : VIRTQ_DESC_F_WRITE << 16; // id 0 (reserved), flags
    }
    const pos = this.nextAvail;
    const w = pos << 2;
    writeAddr(this.d32, w, this.layout.indirectPool + base * DESC_SIZE);
    this.d32[w + 2] = n * DESC_SIZE;
    this.d16[(pos << 3) + 6] = id;
    const flags = packedAvailFlags(this.availWrap) | VIRTQ_DESC_F_INDIRECT;
    if (pos + 1 === this.size) {
      this.nextAvail = 0;
      this.availWrap ^= 1;
    } else {
      this.nextAvail = pos + 1;
    }
    this.inLen[id] = writable;
    return flags;
  }

  kickNeeded(): boolean {
    if (this.violation) throw this.violation;
    const added = this.numAdded;
    this.numAdded = 0;
    const word = Atomics.load(this.dev, 0); // [M1]
    const flags = word >>> 16;
    if (flags === RING_EVENT_FLAGS_DISABLE) return false;
    if (flags !== RING_EVENT_FLAGS_DESC || !this.cfg.eventIdx) return true; // ENABLE, or reserved: notify
    if (added >= this.size) return true; // old position would be ambiguous
    const offWrap = word & 0xffff;
    let event = offWrap & 0x7fff;
    // An event offset from the previous lap lies `size` positions behind this lap's numbering.
    if (offWrap >>> EVENT_WRAP_SHIFT !== this.availWrap) event -= this.size;
    return vringNeedEvent(event, this.nextAvail, this.nextAvail - added);
  }

  pollUsed(): number {
    if (this.violation) throw this.violation;
    if (this.batchLast >= 0) return this.takeBatched();
    const p = this.lastUsed;
    const f = Atomics.load(this.d16, (p << 3) + 7); // [R1]
    const w = this.usedWrap;
    // Used: AVAIL = USED = the wrap counter this position is in (§2.8.1).
    if (((f >>> 15) & 1) !== w || ((f >>> 7) & 1) !== w) return -1;
    const id = this.d16[(p << 3) + 6];
    const raw = this.d32[(p << 2) + 2];
    if (id >= this.size || this.busy[id] === 0) {
      return this.fail(`used descriptor at ring position ${p} (wrap ${w}) names Buffer ID ${id}, which is not in flight`, '2.8.6');
    }
    this.lastUsedFlags = f;
    this.lastRawLen = raw;
    const len = f & VIRTQ_DESC_F_WRITE ? raw : 0; // len is reserved without WRITE (§2.8.4)
    if (this.fifo !== null && id !== this.fifo.peek()) {
      // §2.8.8: one used descriptor for a batch, with the last buffer's ID, at the batch's first position.
      this.batchLast = id;
      this.batchLen = len;
      return this.takeBatched();
    }
    this.skip(id);
    this.complete(id, len, false);
    return id;
  }

  /** Advance past the ring positions of buffer `id` (the device skips the same way, §2.8.6). */
  private skip(id: number): void {
    let p = this.lastUsed + this.ndesc[id];
    if (p >= this.size) {
      p -= this.size;
      this.usedWrap ^= 1;
    }
    this.lastUsed = p;
  }

  private takeBatched(): number {
    const id = this.fifo!.peek();
    this.skip(id);
    if (id === this.batchLast) {
      this.batchLast = -1;
      this.complete(id, this.batchLen, false);
    } else {
      this.complete(id, this.inLen[id], true);
    }
    return id;
  }

  private complete(id: number, len: number, batched: boolean): void {
    this.busy[id] = 0;
    this.flight--;
    this.free += this.ndesc[id];
    this.fifo?.shift();
    this.idNext[id] = this.freeId;
    this.freeId = id;
    this.lastToken = this.tokens[id];
    this.tokens[id] = undefined;
    this.lastLen = len;
    this.lastBatched = batched;
  }

  getUsed(): Used<T> | null {
    const id = this.pollUsed();
    if (id < 0) return null;
    return { id, len: this.lastLen, token: this.lastToken as T, batched: this.lastBatched };
  }

  hasUsed(): boolean {
    if (this.violation) throw this.violation;
    if (this.batchLast >= 0) return true;
    const f = Atomics.load(this.d16, (this.lastUsed << 3) + 7);
    const w = this.usedWrap;
    return ((f >>> 15) & 1) === w && ((f >>> 7) & 1) === w;
  }

  disableInterrupts(): void {
    Atomics.store(this.drv, 1, RING_EVENT_FLAGS_DISABLE);
  }

  enableInterrupts(): boolean {
    if (this.cfg.eventIdx) {
      // Notify when the device writes a used descriptor at our next used position (§2.8.10).
      Atomics.store(this.drv, 0, this.lastUsed | (this.usedWrap << EVENT_WRAP_SHIFT));
      Atomics.store(this.drv, 1, RING_EVENT_FLAGS_DESC);
    } else {
      Atomics.store(this.drv, 1, RING_EVENT_FLAGS_ENABLE);
    }
    return this.hasUsed(); // [M2]
  }

  private fail(message: string, clause: string): never {
    this.violation = new RingViolation(message, clause);
    throw this.violation;
  }
}
