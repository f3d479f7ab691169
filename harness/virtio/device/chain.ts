// One buffer taken from the ring: its id and its readable and writable segments. The caller owns
// the object and hands it to pop() again and again; pop fills it in place (no allocation).

import type { Broken } from './broken.ts';
import type { DeviceMemory } from './device-memory.ts';
import { SegmentList } from './segments.ts';

export class DescChain {
  readonly kind = 'chain' as const;
  /** Split: head descriptor index (what goes into used.id). Packed: Buffer ID. */
  id = -1;
  /** Ring slots this buffer occupies (split: direct descriptors walked; packed: slots to skip). */
  descCount = 0;
  /** Device-readable part, in NEXT order (§2.7.4: all readable before writable). */
  readonly readable: SegmentList;
  /** Device-writable part, in NEXT order. */
  readonly writable: SegmentList;
  /** Descriptors in the chain including zero-length ones and indirect entries (not the table pointer). */
  buffers = 0;
  /** Whether the buffers came from an indirect table. */
  indirect = false;

  constructor(mem: DeviceMemory, capacity = 8) {
    this.readable = new SegmentList(mem, capacity);
    this.writable = new SegmentList(mem, capacity);
  }

  reset(mem: DeviceMemory): void {
    this.id = -1;
    this.descCount = 0;
    this.buffers = 0;
    this.indirect = false;
    this.readable.reset(mem);
    this.writable.reset(mem);
  }
}

export interface Empty {
  readonly kind: 'empty';
}

/** Nothing available right now. */
export const EMPTY: Empty = Object.freeze({ kind: 'empty' as const });

/** What pop() gives back: the filled chain, nothing, or why the queue broke. */
export type PopResult = DescChain | Empty | Broken;
