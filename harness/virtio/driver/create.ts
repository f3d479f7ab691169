// One entry point for both formats: VIRTIO_F_RING_PACKED in the negotiated features picks packed.

import { F, has } from '../features.ts';
import type { GuestArena } from './arena.ts';
import { PackedQueue } from './packed.ts';
import { SplitQueue } from './split.ts';
import type { QueueConfig, QueueKind, Virtqueue } from './types.ts';

export function queueKind(features: bigint): QueueKind {
  return has(features, F.F_RING_PACKED) ? 'packed' : 'split';
}

/** Allocate and initialise a driver-side virtqueue in the arena's guest memory. */
export function createQueue<T = unknown>(arena: GuestArena, cfg: QueueConfig & { kind?: QueueKind }): Virtqueue<T> {
  const kind = cfg.kind ?? queueKind(cfg.features);
  return kind === 'packed' ? PackedQueue.create<T>(arena, cfg) : SplitQueue.create<T>(arena, cfg);
}
