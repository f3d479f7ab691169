// Why a device-side queue stopped: the driver broke a ring rule. The queue keeps the first reason,
// marks itself broken (the device then sets DEVICE_NEEDS_RESET, §2.1.1) and refuses further work.
// Like libvhost-user's vu_panic, but the reason is data (a conformance tool must keep it), and it
// is returned, never thrown: a bad guest must not unwind the caller's data path.

export type BrokenReason =
  /** Ring areas not inside the memory table, misaligned, or an invalid queue size. */
  | 'ring-layout'
  /** avail.idx moved more than queue size entries past the last one consumed. */
  | 'avail-idx-jump'
  /** An available-ring entry or a `next` field names a descriptor beyond the table. */
  | 'index-out-of-range'
  /** A descriptor was reached twice while walking one chain. */
  | 'descriptor-loop'
  /** More descriptors in one chain (or list) than the queue size allows. */
  | 'chain-too-long'
  /** More than 2^32 bytes in one chain. */
  | 'chain-too-large'
  /** A buffer (or indirect table) is not inside the memory table. */
  | 'address-outside-memory'
  /** addr + len wraps past 2^64. */
  | 'length-overflow'
  /** INDIRECT without VIRTIO_F_INDIRECT_DESC negotiated. */
  | 'indirect-not-negotiated'
  /** INDIRECT together with NEXT (split), or inside a NEXT list (packed). */
  | 'indirect-with-next'
  /** INDIRECT inside an indirect table (split). */
  | 'nested-indirect'
  /** Indirect table length zero or not a multiple of 16. */
  | 'indirect-length'
  /** A device-readable descriptor after a device-writable one. */
  | 'readable-after-writable'
  /** IN_ORDER negotiated but the driver skipped ahead in the descriptor table. */
  | 'in-order-violation'
  /** Packed: the head of a list is available but a later descriptor of the list is not. */
  | 'partial-list'
  /** A chain head (split) or Buffer ID (packed) made available again before the device returned it. */
  | 'buffer-id-in-use'
  /** Packed: more descriptors available than the ring holds (slots the device still owns). */
  | 'ring-overrun'
  /** Device-type level (virtio-net): a buffer cannot hold what the device type requires. */
  | 'device-buffer';

export interface Broken {
  readonly kind: 'broken';
  readonly reason: BrokenReason;
  /** Spec clause (virtio v1.2-cs01 numbering) the driver violated. */
  readonly clause: string;
  /** Precise, data-carrying text, e.g. "descriptor loop at index 3". */
  readonly message: string;
}

export function broken(reason: BrokenReason, clause: string, message: string): Broken {
  return { kind: 'broken', reason, clause, message };
}

/** What a queue keeps of its breakage: the first reason, and whom to tell. */
export interface Breakable {
  broken: Broken | undefined;
  onBroken: ((b: Broken) => void) | undefined;
}

/** Keep the first breakage and tell the owner once; returns the reason the queue keeps. */
export function latchBroken(q: Breakable, b: Broken): Broken {
  if (!q.broken) {
    q.broken = b;
    q.onBroken?.(b);
  }
  return q.broken;
}

/** One line for logs and reports: "descriptor loop at index 3 (virtio §2.7.5.2)". */
export function describeBroken(b: Broken): string {
  return `${b.message} (virtio §${b.clause})`;
}

export function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}
