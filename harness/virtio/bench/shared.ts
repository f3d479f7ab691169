// What the benchmark's main thread hands its device Worker, and the doorbells between them.
// The doorbells stand in for the kick eventfd and the call eventfd: a counter in shared memory,
// bumped and Atomics.notify'd by the side that notifies, Atomics.wait'ed on by the side that sleeps.
import type { QueueLayout } from '../driver/types.ts';

export const CTRL_STATE = 0; // CTRL_RUN / CTRL_STOP
export const CTRL_KICK = 1; // driver → device (available-buffer notification)
export const CTRL_CALL = 2; // device → driver (used-buffer notification)
export const CTRL_WORDS = 4;
export const CTRL_RUN = 1;
export const CTRL_STOP = 2;

/**
 * Idle polls (~10 ns each) before a side enables notifications and sleeps. Short, because on a
 * 2-CPU host shared with other work a long spin only burns the time slice the other side needs:
 * split across threads here at load ≈ 6 gave 7.8 / 7.1 / 6.2 / 4.6 / 1.0 / 0.06 M/s for
 * 64 / 256 / 512 / 1024 / 4096 / 65536 polls.
 */
export const SPIN_POLLS = 256;
/** Sleep limit before re-checking for work. */
export const SLEEP_MS = 2;
/**
 * When a sleep times out with work waiting, the other side may simply be between publishing and
 * notifying; a notification that has not come LATE_MS later is counted as lost.
 */
export const LATE_MS = 200;

export type WorkerMemory = { kind: 'sab'; sab: SharedArrayBuffer } | { kind: 'memfd'; fd: number; size: number };

export interface WorkerInit {
  memory: WorkerMemory;
  /** GPA of the memory's first byte. */
  gpa: number;
  layout: QueueLayout;
  /** Int32Array control block of CTRL_WORDS words (SharedArrayBuffer). */
  ctrl: SharedArrayBuffer;
}

/** Per-side notification counts, reported next to the throughput. */
export interface NotifyStats {
  /** Notifications sent to the other side. */
  sent: number;
  /** Times this side went to sleep. */
  sleeps: number;
  /** Sleeps that timed out although work was waiting: a notification the protocol lost. */
  lost: number;
}

export function ring(ctrl: Int32Array, word: number): void {
  Atomics.add(ctrl, word, 1);
  Atomics.notify(ctrl, word);
}
