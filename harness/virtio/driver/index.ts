// Driver-side virtqueues: split (§2.7) and packed (§2.8) behind one interface.
export * from './types.ts';
export { GuestArena } from './arena.ts';
export { createQueue, queueKind } from './create.ts';
export { SplitQueue } from './split.ts';
export { PackedQueue } from './packed.ts';
export { allocateLayout } from './allocate.ts';
export { checkSize } from './config.ts';
export { takeMergeable, type MergedPacket } from './mergeable.ts';
