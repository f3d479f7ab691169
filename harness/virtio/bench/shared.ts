// What the benchmark's main thread hands its device Worker.
import type { QueueLayout } from '../driver/types.ts';

export const CTRL_STATE = 0;
export const CTRL_RUN = 1;
export const CTRL_STOP = 2;

export type WorkerMemory = { kind: 'sab'; sab: SharedArrayBuffer } | { kind: 'memfd'; fd: number; size: number };

export interface WorkerInit {
  memory: WorkerMemory;
  /** GPA of the memory's first byte. */
  gpa: number;
  layout: QueueLayout;
  /** Int32Array control block (SharedArrayBuffer). */
  ctrl: SharedArrayBuffer;
}
