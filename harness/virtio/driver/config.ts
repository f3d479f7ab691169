// Queue configuration checked once at construction; the queues read plain booleans afterwards.

import { UsageError } from '../../core/errors.ts';
import { F, has } from '../features.ts';
import { MAX_QUEUE_SIZE } from '../layout.ts';
import type { IndirectPolicy, QueueConfig, QueueKind } from './types.ts';

export interface ResolvedConfig {
  size: number;
  eventIdx: boolean;
  inOrder: boolean;
  /** INDIRECT_DESC negotiated. */
  indirect: boolean;
  policy: IndirectPolicy;
  indirectMax: number;
  base: number;
  wrap: 0 | 1;
}

export function checkSize(kind: QueueKind, size: number): void {
  const where = `${kind} queue size ${size}`;
  if (!Number.isInteger(size) || size < 1 || size > MAX_QUEUE_SIZE) {
    throw new UsageError(`${where} is out of range`, `use 1..${MAX_QUEUE_SIZE} (virtio §2.7 / §2.8)`);
  }
  if (kind === 'split' && (size & (size - 1)) !== 0) {
    throw new UsageError(`${where} is not a power of 2`, 'split virtqueue sizes must be powers of 2 (virtio §2.7); packed rings allow any size');
  }
}

export function resolveConfig(kind: QueueKind, cfg: QueueConfig): ResolvedConfig {
  checkSize(kind, cfg.size);
  const indirect = has(cfg.features, F.F_INDIRECT_DESC);
  const indirectMax = cfg.indirectMax ?? 16;
  if (!Number.isInteger(indirectMax) || indirectMax < 1 || indirectMax > MAX_QUEUE_SIZE) {
    throw new UsageError(`indirectMax ${indirectMax} is out of range`, `use 1..${MAX_QUEUE_SIZE}`);
  }
  const base = cfg.base ?? 0;
  const baseLimit = kind === 'split' ? 0x10000 : cfg.size;
  if (!Number.isInteger(base) || base < 0 || base >= baseLimit) {
    throw new UsageError(`${kind} queue base ${base} is out of range`, kind === 'split' ? 'a split base is a u16 index (0..65535)' : `a packed base is a ring position (0..${cfg.size - 1})`);
  }
  if (kind === 'split' && cfg.wrap !== undefined) {
    throw new UsageError('wrap applies to packed queues only', 'drop the wrap option for a split queue');
  }
  return {
    size: cfg.size,
    eventIdx: has(cfg.features, F.F_EVENT_IDX),
    inOrder: has(cfg.features, F.F_IN_ORDER),
    indirect,
    policy: indirect ? (cfg.indirect ?? 'multi') : 'never',
    indirectMax,
    base,
    wrap: cfg.wrap ?? 1,
  };
}

/** Whether a buffer of n elements goes through an indirect table (§2.7.5.3 / §2.8.7). */
export function useIndirect(cfg: ResolvedConfig, n: number, explicit: boolean | undefined): boolean {
  if (explicit === undefined) {
    return cfg.policy === 'always' ? n <= cfg.indirectMax : cfg.policy === 'multi' && n > 1 && n <= cfg.indirectMax;
  }
  if (!explicit) return false;
  if (!cfg.indirect) throw new RangeError('indirect descriptors need VIRTIO_F_INDIRECT_DESC (virtio §2.7.5.3.1); use driver/raw.ts to build one anyway');
  if (n > cfg.indirectMax) throw new RangeError(`${n} elements do not fit an indirect table of ${cfg.indirectMax}; raise indirectMax`);
  return true;
}
