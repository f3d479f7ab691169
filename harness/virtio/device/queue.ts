// The device-side contract over split and packed virtqueues. Both halves of the ring protocol
// that the device owns: taking available buffers (pop) and returning used ones (push + flush),
// plus the notification decisions in both directions. A queue that meets a driver error returns
// a Broken, keeps it, and refuses all further work (no reads, no writes) until it is recreated.

import { F, has } from '../features.ts';
import type { Broken } from './broken.ts';
import type { DescChain, PopResult } from './chain.ts';

/** Where the rings are (guest-physical, as in SET_VRING_ADDR after UVA→GPA) and where to start. */
export interface DeviceQueueConfig {
  size: number;
  /** Split: descriptor table. Packed: descriptor ring. */
  desc: number;
  /** Split: available ring. Packed: driver event suppression structure. */
  driver: number;
  /** Split: used ring. Packed: device event suppression structure. */
  device: number;
  /**
   * vhost-user SET_VRING_BASE. Split: next avail idx (u16; used idx is read from the ring).
   * Packed: position | wrap << 15 for the avail side in the low 16 bits; the used side in the
   * high 16 bits, or the same as the avail side when they are zero (QEMU's encoding).
   */
  base?: number;
}

/** The negotiated features a queue acts on. */
export interface QueueFeatures {
  eventIdx: boolean;
  indirect: boolean;
  inOrder: boolean;
}

export function queueFeatures(features: bigint): QueueFeatures {
  return {
    eventIdx: has(features, F.F_EVENT_IDX),
    indirect: has(features, F.F_INDIRECT_DESC),
    inOrder: has(features, F.F_IN_ORDER),
  };
}

export interface DeviceQueue {
  readonly kind: 'split' | 'packed';
  readonly size: number;
  /** Set once the driver broke a ring rule; every later call is refused. */
  readonly broken: Broken | undefined;
  /** Called once, when the queue breaks (the device sets DEVICE_NEEDS_RESET). */
  onBroken: ((b: Broken) => void) | undefined;
  /** Chains taken and not yet returned. */
  readonly inFlight: number;

  /** A chain object sized for this queue, to be reused across pop() calls. */
  newChain(): DescChain;
  /** Whether a buffer is available (no side effects except noticing a broken avail.idx). */
  hasAvailable(): boolean;
  /** Take the next available buffer into `chain`. */
  pop(chain: DescChain): PopResult;
  /** Give back the most recently popped chain unconsumed (LIFO), e.g. when RX buffers ran short. */
  unpop(chain: DescChain): void;

  /** Return a buffer: `len` bytes written into its writable part. Visible after flush(). */
  push(chain: DescChain, len: number): void;
  /** push() without a chain object: the id and ring slots (descCount) the buffer took. */
  pushUsed(id: number, len: number, descCount: number): void;
  /**
   * IN_ORDER (§2.7.9, §2.8.8): return the `count` oldest in-flight buffers with one used entry,
   * carrying the last one's id and `lastLen`; the others count as fully used.
   */
  pushBatch(count: number, lastLen: number): void;
  /** Publish what push() wrote (split: used.idx; packed: the batch's first descriptor flags). */
  flush(): void;
  /** After flush(): whether the driver asked for a used-buffer notification (§2.7.7.2, §2.8.10). */
  needsNotify(): boolean;

  /** Ask the driver not to send available-buffer notifications (a hint, §2.7.10, §2.8.10). */
  disableKicks(): void;
  /** Ask for a notification on the next available buffer; true if one is already there (re-poll). */
  enableKicks(): boolean;

  /** vhost-user GET_VRING_BASE value (same encoding as DeviceQueueConfig.base). */
  base(): number;
}
