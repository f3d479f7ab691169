// What a queue pair's two rings share inside the Worker: the engine, the tap queue fd, the
// counters, the current memory table and header rules, and how to report a broken ring.
import type { Broken } from '../../virtio/device/broken.ts';
import type { Engine } from '../engines/types.ts';
import type { WorkerMemory } from './memory.ts';
import type { HdrFeatures } from './net-hdr.ts';

export interface PairEnv {
  readonly engine: Engine;
  readonly tapFd: number;
  readonly stats: Float64Array;
  mem: WorkerMemory | null;
  hdr: HdrFeatures;
  /** A ring met a driver error: the Worker tells the control plane (which sets NEEDS_RESET). */
  onBroken(ring: 0 | 1, b: Broken): void;
  log(message: string): void;
}

/** Errno values the data plane tells apart (x86-64 Linux). */
export const ERRNO = { EAGAIN: 11, EBADFD: 77, ECANCELED: 125, EIO: 5, EINVAL: 22 } as const;
