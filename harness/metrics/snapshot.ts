// What one sample holds. A measurement takes two, at the start and end of the window, and
// compute.ts turns the pair into metrics. Host numbers are raw /proc values; guest ones are the
// texts the agent fetched, parsed later, so a snapshot is cheap to take and easy to record.
import type { CpuTimes } from './procstat.ts';

/** A task's CPU in clock ticks, identified across pid reuse by pid and start time. */
export interface TaskTicks {
  key: string; // `${pid}:${starttime}`
  pid: number;
  comm: string;
  ticks: number;
}

export interface QemuSample {
  pid: number;
  /** utime+stime of the whole process (live and exited threads). */
  processTicks: number;
  threads: TaskTicks[];
}

export interface HostSnapshot {
  /** Monotonic milliseconds when the sample was taken. */
  atMs: number;
  /** Clock ticks per second of /proc times (USER_HZ). */
  hz: number;
  stat: CpuTimes;
  qemu?: QemuSample;
  /** Pre-6.4 vhost kernel threads "vhost-<qemu pid>" (separate tasks, not QEMU threads). */
  vhostKthreads: TaskTicks[];
  /** CPU of the backend processes and their descendants, ticks (see tree accounting in reader.ts). */
  backendTicks?: number;
  peerTicks?: number;
  /** This process's own user+system CPU, microseconds (process.cpuUsage). */
  harnessUs: number;
}

export interface GuestSnapshot {
  stat: string;
  interrupts: string;
  netdev: string;
}

export interface Snapshot {
  host: HostSnapshot;
  guest?: GuestSnapshot;
}
