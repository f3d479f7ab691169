// Places a queue's areas in guest memory with the alignments the spec requires (§2.7 table,
// §2.8.10.1 table), plus an optional pool of indirect tables (one per head/Buffer ID).

import { DESC_SIZE, PACKED_ALIGN, SPLIT_ALIGN, packedSizes, splitSizes } from '../layout.ts';
import type { GuestArena } from './arena.ts';
import type { QueueKind, QueueLayout } from './types.ts';

export function allocateLayout(arena: GuestArena, kind: QueueKind, size: number, indirectMax: number, withIndirect: boolean): QueueLayout {
  let desc: number;
  let driver: number;
  let device: number;
  if (kind === 'split') {
    const s = splitSizes(size, true);
    desc = arena.alloc(s.desc, SPLIT_ALIGN.desc);
    driver = arena.alloc(s.avail, SPLIT_ALIGN.avail);
    device = arena.alloc(s.used, SPLIT_ALIGN.used);
  } else {
    const s = packedSizes(size);
    desc = arena.alloc(s.desc, PACKED_ALIGN.desc);
    driver = arena.alloc(s.driver, PACKED_ALIGN.driver);
    device = arena.alloc(s.device, PACKED_ALIGN.device);
  }
  const indirectPool = withIndirect ? arena.alloc(size * indirectMax * DESC_SIZE, 16) : -1;
  return { kind, size, desc, driver, device, indirectPool, indirectMax };
}
