// The contract between a driver-side virtqueue (split or packed) and its users: the conformance
// suite, transports and benchmarks. Guest-physical addresses are plain numbers (< 2^53) on this
// side so the hot path never touches BigInt; transports convert once with BigInt(gpa).

export type QueueKind = 'split' | 'packed';

/** One physically contiguous element of a buffer: guest-physical address and length in bytes. */
export interface Buf {
  addr: number;
  len: number;
}

/** A buffer the device has finished with. `id` is the split chain head or the packed Buffer ID. */
export interface Used<T> {
  id: number;
  /** Bytes written by the device (0 for a packed used descriptor without WRITE, §2.8.4). */
  len: number;
  token: T;
  /** True when an IN_ORDER device skipped this buffer's used entry (§2.7.9, §2.8.8); len is then the whole writable length. */
  batched: boolean;
}

/**
 * Where the three areas live (GPAs). Split: descriptor table, available ring, used ring.
 * Packed: descriptor ring, driver event suppression, device event suppression (§2.7, §2.8).
 * These are the values a transport passes in SET_VRING_ADDR (after GPA→UVA for vhost-user).
 */
export interface QueueLayout {
  kind: QueueKind;
  size: number;
  desc: number;
  driver: number;
  device: number;
  /** Pool of per-buffer indirect tables (`size` tables of `indirectMax` descriptors), or -1. */
  indirectPool: number;
  indirectMax: number;
}

export type IndirectPolicy = 'never' | 'multi' | 'always';

export interface QueueConfig {
  size: number;
  /** Negotiated features; the queue uses EVENT_IDX, INDIRECT_DESC, IN_ORDER (and RING_PACKED via createQueue). */
  features: bigint;
  /** With INDIRECT_DESC: 'multi' (default) puts chains of ≥2 elements in a table, 'always' every buffer. */
  indirect?: IndirectPolicy;
  /** Descriptors per indirect table (default 16). */
  indirectMax?: number;
  /**
   * Starting point, for wrap-around tests. Split: the free-running avail/used idx (u16, e.g. 0xFFF0),
   * written into avail.idx and used.idx. Packed: the ring position (< size).
   */
  base?: number;
  /** Packed only: the initial driver/device ring wrap counter (spec default 1, §2.8.1). */
  wrap?: 0 | 1;
}

/** What the device must be told before it starts (SET_VRING_BASE num). */
export interface DeviceStart {
  /** Split: next avail idx. Packed: position | wrap << 15 (vhost-user encoding). */
  base: number;
}

/** The device broke a ring rule; the queue refuses further work and keeps the reason. */
export class RingViolation extends Error {
  override readonly name = 'RingViolation';
  constructor(
    message: string,
    /** Spec clause (v1.2-cs01 numbering) the device violated. */
    readonly clause: string,
  ) {
    super(`${message} (virtio §${clause})`);
  }
}

/** Common driver-side operations over split and packed queues. */
export interface Virtqueue<T = unknown> {
  readonly kind: QueueKind;
  readonly size: number;
  readonly layout: QueueLayout;
  /** Free descriptors (ring slots) right now. */
  readonly numFree: number;
  /** Buffers made available and not yet returned. */
  readonly inFlight: number;
  /** Set once the device violated the ring protocol; every later call throws it. */
  readonly broken: RingViolation | undefined;

  /**
   * Make one buffer available: device-readable `out` elements then device-writable `in` elements.
   * Returns the head (split) or Buffer ID (packed), or -1 when there are not enough free descriptors.
   * `indirect` overrides the queue's policy for this buffer. Publishes immediately.
   */
  add(out: readonly Buf[], ins: readonly Buf[], token: T, indirect?: boolean): number;
  /** Whether the device wants an available-buffer notification for what was added since the last call. */
  kickNeeded(): boolean;

  /** Hot path: next used buffer's id, or -1. Details in lastLen/lastToken/lastBatched. No allocation. */
  pollUsed(): number;
  readonly lastLen: number;
  readonly lastToken: T | undefined;
  readonly lastBatched: boolean;
  /** Convenience: the next used buffer as an object, or null. */
  getUsed(): Used<T> | null;
  /** A used buffer is waiting (does not consume it). */
  hasUsed(): boolean;

  /** Ask the device not to send used-buffer notifications (a hint, §2.7.7, §2.8.10). */
  disableInterrupts(): void;
  /** Ask for a notification on the next used buffer; returns true if one is already waiting (re-poll). */
  enableInterrupts(): boolean;

  deviceStart(): DeviceStart;
}
