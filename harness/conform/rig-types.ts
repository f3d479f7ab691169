// A rig: one device session brought up with rings in guest memory, kick and call eventfds, and the
// driver-side lanes a check drives them through. Kept apart from rig.ts so checks can name the
// types without pulling in the transports.
import type { EventFd } from '../sys/eventfd.ts';
import type { GuestArena, QueueKind, QueueLayout } from '../virtio/driver/index.ts';
import type { RawPackedRing, RawSplitRing } from '../virtio/driver/raw.ts';
import type { GuestMemory } from '../virtio/memory.ts';
import type { PackedLane } from './packed-lane.ts';
import type { ReturnedListener, RingFinding } from './ring-watch.ts';
import type { SplitLane } from './split-lane.ts';
import type { ConformTransport, ControlSession } from './types.ts';
import type { Wire } from './wire.ts';

export interface RigSpec {
  /** Virtio features the driver wants; intersected with what the device offers. RING_PACKED picks the format. */
  features: bigint;
  /** Queue size (default 256; split sizes must be powers of 2). */
  size?: number;
  /** Split only: the free-running index both avail.idx and used.idx start at (SET_VRING_BASE). */
  base?: number;
  /** Queue pairs to set up (default 1): rings 2k (RX) and 2k+1 (TX). */
  pairs?: number;
  /** vhost-user rings to enable (default: all set up). */
  enable?: number[];
  /** Send DRIVER_OK at the end (default true). */
  driverOk?: boolean;
  /** false: withhold SET_VRING_KICK, so vhost-user rings stay stopped until startRings() (F4). */
  startRings?: boolean;
  /** Guest memory (default 4 MiB). */
  memBytes?: number;
  /** Install call eventfds (default true). */
  callFds?: boolean;
}

export interface RigQueue {
  readonly index: number;
  readonly kind: QueueKind;
  readonly size: number;
  readonly layout: QueueLayout;
  readonly split: RawSplitRing | undefined;
  readonly packed: RawPackedRing | undefined;
  readonly kickFd: EventFd;
  readonly callFd: EventFd | undefined;
  /** Available-buffer notification. */
  kick(): void;
  /** Used-buffer notifications since the last take (the call eventfd's counter). */
  takeCalls(): number;
  /** Wait up to ms for a notification; resolves with the count (0 on timeout). */
  waitCall(ms: number): Promise<number>;
}

export interface RigBringUp {
  offered: bigint;
  /** What SET_FEATURES carried (vhost bit 30 included when offered). */
  acked: bigint;
  statusAfterFeaturesOk?: number;
  protocolAcked?: bigint;
  durationMs: number;
}

export interface Rig {
  readonly session: ControlSession;
  readonly transport: ConformTransport;
  readonly offered: bigint;
  /** Negotiated virtio features (vhost-only bits removed). */
  readonly features: bigint;
  readonly kind: QueueKind;
  readonly size: number;
  readonly mem: GuestMemory;
  readonly arena: GuestArena;
  readonly queues: readonly RigQueue[];
  readonly up: RigBringUp;
  readonly wire: Wire | undefined;
  /** RX ring of a pair (index 2*pair). */
  rx(pair?: number): RigQueue;
  /** TX ring of a pair (index 2*pair + 1). */
  tx(pair?: number): RigQueue;
  splitLane(index: number): SplitLane;
  packedLane(index: number): PackedLane;
  /** GPA of `len` fresh bytes filled with `fill`, with untouched guard space on both sides. */
  buffer(len: number, fill?: number): number;
  /** Send the SET_VRING_KICK messages withheld by `startRings: false`: the rings start now. */
  startRings(): Promise<void>;
  /** A live view of guest memory. */
  bytes(gpa: number, len: number): Uint8Array;
  /** Everything the rig's ring watches saw that breaks a requirement (ring-watch.ts), in order. */
  findings(): readonly RingFinding[];
  /** Be told of every used entry ring `index` returns, the check's and the wire's. */
  observe(index: number, fn: ReturnedListener): void;
  readonly isClosed: boolean;
  close(): Promise<void>;
}
