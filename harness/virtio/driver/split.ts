// Driver side of a split virtqueue (virtio v1.2-cs01 §2.7): descriptor table, available ring
// (with used_event) and used ring (with avail_event) at GPAs in guest memory.
//
// Private bookkeeping (free list, chain links, tokens) lives in process arrays, never in the
// descriptor table, so a device that scribbles on the table cannot corrupt the driver's state.
//
// Memory ordering. Every field the device reads or writes concurrently is accessed with Atomics
// (sequentially consistent, so each Atomics.store is also a full barrier on x86):
//   [W1] Atomics.store(avail.idx)   — release: descriptors and ring[] written before it are visible
//        to a device that reads avail.idx first; pairs with the device's read barrier after
//        loading avail.idx (§2.7.13.3.1 "suitable memory barrier before the idx update").
//   [M1] Atomics.store(avail.idx) then Atomics.load(used.flags / avail_event) in kickNeeded —
//        the store-load barrier of §2.7.13.4.1; pairs with the device's barrier between
//        writing avail_event/flags and re-reading avail.idx.
//   [R1] Atomics.load(used.idx)     — acquire: pairs with the device's write barrier between
//        writing used ring entries (and buffer data) and used.idx (§2.7.8.2).
//   [M2] Atomics.store(used_event / avail.flags) then Atomics.load(used.idx) in enableInterrupts —
//        pairs with the device's barrier between writing used.idx and reading used_event.

import type { GuestMemory } from '../memory.ts';
import {
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_USED_F_NO_NOTIFY,
  availEventOffset,
  splitSizes,
  usedEventOffset,
  vringNeedEvent,
  DESC_SIZE,
} from '../layout.ts';
import { allocateLayout } from './allocate.ts';
import type { GuestArena } from './arena.ts';
import { resolveConfig, useIndirect, type ResolvedConfig } from './config.ts';
import { IdFifo } from './id-fifo.ts';
import { type Buf, type DeviceStart, type QueueConfig, type QueueLayout, RingViolation, type Used, type Virtqueue } from './types.ts';
import { assertLittleEndian, u16View, u32View, writeAddr } from './views.ts';

const AVAIL_IDX = 1; // u16 index of avail.idx
const USED_IDX = 1; // u16 index of used.idx
const KICK_WINDOW = 0xffff; // idx is a free-running u16 (§2.7.6): more unkicked adds than this would alias

export class SplitQueue<T = unknown> implements Virtqueue<T> {
  readonly kind = 'split' as const;
  readonly size: number;
  readonly layout: QueueLayout;
  lastLen = 0;
  lastToken: T | undefined;
  lastBatched = false;

  private violation: RingViolation | undefined;
  private readonly cfg: ResolvedConfig;
  private readonly mask: number;
  private readonly desc: Uint32Array; // 4 words per descriptor: addr lo, addr hi, len, flags | next << 16
  private readonly avail: Uint16Array; // flags, idx, ring[size], used_event
  private readonly used16: Uint16Array; // flags, idx, …, avail_event
  private readonly used32: Uint32Array; // word 0 = flags|idx, then {id, len} pairs
  private readonly table: Uint32Array | null; // indirect pool
  private readonly usedEventAt: number;
  private readonly availEventAt: number;

  private availIdx: number; // our copy of avail.idx
  private numAdded = 0; // buffers published since the last kickNeeded()
  private lastUsedIdx: number; // next used entry to read
  private seenUsedIdx: number; // used.idx at the last load
  private freeHead = 0;
  private nextDesc = 0; // IN_ORDER: descriptors are taken in table order (§2.7.5)
  private free: number;
  private flight = 0;
  private readonly next: Uint16Array; // free list and chain links
  private readonly chainLen: Uint16Array;
  private readonly chainTail: Uint16Array;
  private readonly inLen: Float64Array; // device-writable bytes per head (IN_ORDER skipped buffers)
  private readonly busy: Uint8Array;
  private readonly tokens: (T | undefined)[];
  private readonly fifo: IdFifo | null;
  private batchLast = -1; // IN_ORDER: head named by a batch entry still being drained
  private batchLen = 0;

  /** Allocate the rings from `arena` and initialise them. */
  static create<T = unknown>(arena: GuestArena, cfg: QueueConfig): SplitQueue<T> {
    const r = resolveConfig('split', cfg);
    const layout = allocateLayout(arena, 'split', r.size, r.indirectMax, r.indirect && r.policy !== 'never');
    return new SplitQueue<T>(arena.mem, layout, cfg);
  }

  /** Use rings already placed at `layout` (alignment is checked: §2.7.1 driver MUST). */
  constructor(mem: GuestMemory, layout: QueueLayout, config: QueueConfig) {
    assertLittleEndian();
    const cfg = resolveConfig('split', config);
    if (layout.kind !== 'split' || layout.size !== cfg.size) throw new RangeError(`layout is for a ${layout.kind} queue of ${layout.size}, config asks for split ${cfg.size}`);
    if (layout.desc % 16 !== 0) throw new RangeError(`descriptor table at 0x${layout.desc.toString(16)} is not 16-byte aligned (virtio §2.7.1)`);
    const n = cfg.size;
    const sizes = splitSizes(n, true);
    this.cfg = cfg;
    this.size = n;
    this.mask = n - 1;
    this.layout = layout;
    this.desc = u32View(mem, layout.desc, n * 4, 'descriptor table');
    this.avail = u16View(mem, layout.driver, sizes.avail / 2, 'available ring');
    this.used16 = u16View(mem, layout.device, sizes.used / 2, 'used ring');
    this.used32 = u32View(mem, layout.device, (sizes.used - 2) / 4, 'used ring');
    this.table = layout.indirectPool >= 0 ? u32View(mem, layout.indirectPool, n * layout.indirectMax * 4, 'indirect pool') : null;
    if (cfg.policy !== 'never' && this.table === null) throw new RangeError('INDIRECT_DESC is on but the layout has no indirect pool');
    this.usedEventAt = usedEventOffset(n) / 2;
    this.availEventAt = availEventOffset(n) / 2;

    this.next = new Uint16Array(n);
    for (let i = 0; i < n; i++) this.next[i] = (i + 1) & this.mask;
    this.chainLen = new Uint16Array(n);
    this.chainTail = new Uint16Array(n);
    this.inLen = new Float64Array(n);
    this.busy = new Uint8Array(n);
    this.tokens = new Array<T | undefined>(n).fill(undefined);
    this.fifo = cfg.inOrder ? new IdFifo(n) : null;
    this.free = n;

    // §2.7.10.1: the driver initialises used.flags to 0. A preset base goes into both indices so a
    // device started with SET_VRING_BASE(base) finds a consistent ring (requirement S7).
    this.availIdx = this.lastUsedIdx = this.seenUsedIdx = cfg.base;
    Atomics.store(this.avail, 0, 0);
    Atomics.store(this.avail, this.usedEventAt, cfg.base);
    Atomics.store(this.used16, 0, 0);
    Atomics.store(this.used16, USED_IDX, cfg.base);
    Atomics.store(this.avail, AVAIL_IDX, cfg.base);
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
  /** Our copy of avail.idx (next index to publish). */
  get nextAvailIdx(): number {
    return this.availIdx;
  }
  /** Index of the next used entry the driver will read. */
  get nextUsedIdx(): number {
    return this.lastUsedIdx;
  }

  deviceStart(): DeviceStart {
    return { base: this.cfg.base };
  }

  add(out: readonly Buf[], ins: readonly Buf[], token: T, indirect?: boolean): number {
    if (this.violation) throw this.violation;
    const n = out.length + ins.length;
    if (n === 0) throw new RangeError('a buffer needs at least one element (virtio §2.7.13.1)');
    const ind = useIndirect(this.cfg, n, indirect);
    const m = ind ? 1 : n;
    if (m > this.size) throw new RangeError(`a chain of ${m} descriptors is longer than the queue size ${this.size} (virtio §2.7.5.3.1)`);
    if (this.free < m) return -1;

    const head = this.fifo !== null ? this.nextDesc : this.freeHead;
    const last = ind ? this.writeIndirect(head, out, ins) : this.writeChain(head, out, ins);
    if (this.fifo !== null) {
      this.nextDesc = (last + 1) & this.mask;
      this.fifo.push(head);
    } else {
      this.freeHead = this.next[last];
    }
    this.chainLen[head] = m;
    this.chainTail[head] = last;
    this.busy[head] = 1;
    this.tokens[head] = token;
    this.free -= m;
    this.flight++;

    this.avail[2 + (this.availIdx & this.mask)] = head;
    this.availIdx = (this.availIdx + 1) & 0xffff;
    Atomics.store(this.avail, AVAIL_IDX, this.availIdx); // [W1]
    this.numAdded++;
    return head;
  }

  /** Direct chain starting at `head`; returns the last descriptor's index. */
  private writeChain(head: number, out: readonly Buf[], ins: readonly Buf[]): number {
    const d = this.desc;
    const nOut = out.length;
    const n = nOut + ins.length;
    const inOrder = this.fifo !== null;
    let i = head;
    let writable = 0;
    for (let j = 0; j < n; j++) {
      const b = j < nOut ? out[j] : ins[j - nOut];
      const w = i << 2;
      writeAddr(d, w, b.addr);
      d[w + 2] = b.len;
      const flags = j < nOut ? 0 : VIRTQ_DESC_F_WRITE;
      if (j >= nOut) writable += b.len;
      if (j === n - 1) {
        d[w + 3] = flags;
        break;
      }
      // IN_ORDER: next is x+1, and 0 after the last table entry (§2.7.5.2).
      const nx = inOrder ? (i + 1) & this.mask : this.next[i];
      d[w + 3] = flags | VIRTQ_DESC_F_NEXT | (nx << 16);
      i = nx;
    }
    this.inLen[head] = writable;
    return i;
  }

  /** One ring descriptor pointing at this head's indirect table (§2.7.5.3). */
  private writeIndirect(head: number, out: readonly Buf[], ins: readonly Buf[]): number {
    const t = this.table!;
    const nOut = out.length;
    const n = nOut + ins.length;
    const base = head * this.layout.indirectMax;
    let writable = 0;
    for (let j = 0; j < n; j++) {
      const b = j < nOut ? out[j] : ins[j - nOut];
      const w = (base + j) << 2;
      writeAddr(t, w, b.addr);
      t[w + 2] = b.len;
      let flags = j < nOut ? 0 : VIRTQ_DESC_F_WRITE;
      if (j >= nOut) writable += b.len;
      // Indirect entries are sequential: next = j+1 (§2.7.5.3.1, required with IN_ORDER).
      if (j < n - 1) flags |= VIRTQ_DESC_F_NEXT | ((j + 1) << 16);
      t[w + 3] = flags;
    }
    const w = head << 2;
    writeAddr(this.desc, w, this.layout.indirectPool + base * DESC_SIZE);
    this.desc[w + 2] = n * DESC_SIZE;
    this.desc[w + 3] = VIRTQ_DESC_F_INDIRECT;
    this.inLen[head] = writable;
    return head;
  }

  kickNeeded(): boolean {
    if (this.violation) throw this.violation;
    const added = this.numAdded;
    this.numAdded = 0;
    if (added >= KICK_WINDOW) return true; // old/new would alias; always safe to notify
    // [M1] the Atomics.store of avail.idx in add() precedes these loads.
    if (this.cfg.eventIdx) {
      return vringNeedEvent(Atomics.load(this.used16, this.availEventAt), this.availIdx, (this.availIdx - added) & 0xffff);
    }
    return (Atomics.load(this.used16, 0) & VIRTQ_USED_F_NO_NOTIFY) === 0;
  }

  pollUsed(): number {
    if (this.violation) throw this.violation;
    if (this.batchLast >= 0) return this.takeBatched();
    if (this.lastUsedIdx === this.seenUsedIdx) {
      this.seenUsedIdx = Atomics.load(this.used16, USED_IDX); // [R1]
      if (this.lastUsedIdx === this.seenUsedIdx) return -1;
      this.checkUsedIdx();
    }
    const slot = this.lastUsedIdx & this.mask;
    const id = this.used32[1 + 2 * slot];
    const len = this.used32[2 + 2 * slot];
    if (id >= this.size || this.busy[id] === 0) {
      return this.fail(`used ring entry ${this.lastUsedIdx} names id ${id}, which is not the head of a buffer in flight`, '2.7.8');
    }
    if (this.fifo !== null && id !== this.fifo.peek()) {
      // §2.7.9: one entry for a batch, carrying the last buffer's head, in the first buffer's slot.
      this.batchLast = id;
      this.batchLen = len;
      return this.takeBatched();
    }
    this.lastUsedIdx = (this.lastUsedIdx + 1) & 0xffff;
    this.complete(id, len, false);
    return id;
  }

  private checkUsedIdx(): void {
    const ahead = (this.seenUsedIdx - this.lastUsedIdx) & 0xffff;
    if (ahead > this.flight) {
      this.fail(`used.idx jumped to ${this.seenUsedIdx}, ${ahead} entries past ${this.lastUsedIdx} with only ${this.flight} buffers in flight`, '2.7.8');
    }
  }

  private takeBatched(): number {
    if (this.lastUsedIdx === this.seenUsedIdx) {
      this.seenUsedIdx = Atomics.load(this.used16, USED_IDX); // [R1]
      if (this.lastUsedIdx === this.seenUsedIdx) {
        return this.fail(`IN_ORDER batch entry names head ${this.batchLast} but used.idx stops at ${this.seenUsedIdx} before reaching it`, '2.7.9');
      }
      this.checkUsedIdx();
    }
    const id = this.fifo!.peek();
    this.lastUsedIdx = (this.lastUsedIdx + 1) & 0xffff;
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
    this.free += this.chainLen[id];
    if (this.fifo !== null) {
      this.fifo.shift();
    } else {
      this.next[this.chainTail[id]] = this.freeHead;
      this.freeHead = id;
    }
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
    return this.batchLast >= 0 || Atomics.load(this.used16, USED_IDX) !== this.lastUsedIdx;
  }

  disableInterrupts(): void {
    if (this.cfg.eventIdx) {
      // flags must stay 0 with EVENT_IDX (§2.7.7.1). The furthest used_event is one behind the next
      // entry: the device would have to use 65535 more buffers before it matches.
      Atomics.store(this.avail, this.usedEventAt, (this.lastUsedIdx - 1) & 0xffff);
    } else {
      Atomics.store(this.avail, 0, VIRTQ_AVAIL_F_NO_INTERRUPT);
    }
  }

  enableInterrupts(): boolean {
    if (this.cfg.eventIdx) Atomics.store(this.avail, this.usedEventAt, this.lastUsedIdx);
    else Atomics.store(this.avail, 0, 0);
    return this.hasUsed(); // [M2]
  }

  private fail(message: string, clause: string): never {
    this.violation = new RingViolation(message, clause);
    throw this.violation;
  }
}
