// The smallest device half that keeps a benchmark ring moving: it takes every available buffer in
// ring order and marks it used with len 0, nothing else (no buffer access). It polls with kicks
// disabled, and can enable them before it sleeps; it reads the driver's interrupt suppression
// (flags only: the benchmark does not negotiate EVENT_IDX). It exists to measure the driver's ring
// operations, not to check anything; the reference device in harness/virtio/device is the one
// written to the spec.

import type { GuestMemory } from '../memory.ts';
import {
  RING_EVENT_FLAGS_DISABLE,
  RING_EVENT_FLAGS_ENABLE,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_AVAIL,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_USED,
  VIRTQ_USED_F_NO_NOTIFY,
  splitSizes,
} from '../layout.ts';
import type { QueueLayout } from '../driver/types.ts';
import { u16View, u32View } from '../driver/views.ts';

export interface MiniDevice {
  /** Marks every buffer available now as used; returns how many. */
  step(): number;
  /** Ask for kicks; true if a buffer is already available (then do not sleep). */
  enableKicks(): boolean;
  disableKicks(): void;
  /** After step() returned buffers: whether the driver wants a used-buffer notification. */
  callWanted(): boolean;
}

export class MiniSplitDevice implements MiniDevice {
  private readonly avail: Uint16Array;
  private readonly used16: Uint16Array;
  private readonly used32: Uint32Array;
  private readonly mask: number;
  private lastAvail: number;
  private usedIdx: number;

  constructor(mem: GuestMemory, layout: QueueLayout, base = 0) {
    const s = splitSizes(layout.size, true);
    this.mask = layout.size - 1;
    this.avail = u16View(mem, layout.driver, s.avail / 2);
    this.used16 = u16View(mem, layout.device, s.used / 2);
    this.used32 = u32View(mem, layout.device, (s.used - 2) / 4);
    this.lastAvail = this.usedIdx = base;
    this.disableKicks(); // polling: no kicks wanted
  }

  enableKicks(): boolean {
    Atomics.store(this.used16, 0, 0);
    return Atomics.load(this.avail, 1) !== this.lastAvail; // store→load: pairs with the driver's kickNeeded
  }
  disableKicks(): void {
    Atomics.store(this.used16, 0, VIRTQ_USED_F_NO_NOTIFY);
  }
  callWanted(): boolean {
    return (Atomics.load(this.avail, 0) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0; // after the used.idx store
  }

  step(): number {
    const availIdx = Atomics.load(this.avail, 1); // acquire: pairs with the driver's avail.idx store
    let n = 0;
    while (this.lastAvail !== availIdx) {
      const slot = this.usedIdx & this.mask;
      this.used32[1 + 2 * slot] = this.avail[2 + (this.lastAvail & this.mask)];
      this.used32[2 + 2 * slot] = 0;
      this.lastAvail = (this.lastAvail + 1) & 0xffff;
      this.usedIdx = (this.usedIdx + 1) & 0xffff;
      n++;
    }
    if (n > 0) Atomics.store(this.used16, 1, this.usedIdx); // release: entries before idx
    return n;
  }
}

export class MiniPackedDevice implements MiniDevice {
  private readonly d16: Uint16Array;
  private readonly d32: Uint32Array;
  private readonly drv: Uint16Array;
  private readonly dev: Uint16Array;
  private readonly size: number;
  private pos = 0;
  private wrap = 1;

  constructor(mem: GuestMemory, layout: QueueLayout) {
    this.size = layout.size;
    this.d16 = u16View(mem, layout.desc, layout.size * 8);
    this.d32 = u32View(mem, layout.desc, layout.size * 4);
    this.drv = u16View(mem, layout.driver, 2);
    this.dev = u16View(mem, layout.device, 2);
    this.disableKicks();
  }

  enableKicks(): boolean {
    Atomics.store(this.dev, 1, RING_EVENT_FLAGS_ENABLE);
    const f = Atomics.load(this.d16, (this.pos << 3) + 7);
    return ((f >>> 7) & 1) === this.wrap && ((f >>> 15) & 1) !== this.wrap;
  }
  disableKicks(): void {
    Atomics.store(this.dev, 1, RING_EVENT_FLAGS_DISABLE);
  }
  callWanted(): boolean {
    return Atomics.load(this.drv, 1) !== RING_EVENT_FLAGS_DISABLE;
  }

  step(): number {
    let n = 0;
    for (;;) {
      const first = this.pos;
      const w = this.wrap;
      const f = Atomics.load(this.d16, (first << 3) + 7); // acquire: pairs with the driver's flags store
      if (((f >>> 7) & 1) !== w || ((f >>> 15) & 1) === w) return n;
      // Walk to the end of the list; the Buffer ID is in its last descriptor.
      let p = first;
      let flags = f;
      let count = 1;
      while (flags & VIRTQ_DESC_F_NEXT) {
        p = p + 1 === this.size ? 0 : p + 1;
        flags = this.d16[(p << 3) + 7];
        count++;
      }
      const id = this.d16[(p << 3) + 6];
      this.d32[(first << 2) + 2] = 0;
      this.d16[(first << 3) + 6] = id;
      Atomics.store(this.d16, (first << 3) + 7, w ? VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED : 0); // release
      this.pos += count;
      if (this.pos >= this.size) {
        this.pos -= this.size;
        this.wrap ^= 1;
      }
      n++;
    }
  }
}

export function miniDevice(mem: GuestMemory, layout: QueueLayout): MiniDevice {
  return layout.kind === 'split' ? new MiniSplitDevice(mem, layout) : new MiniPackedDevice(mem, layout);
}
