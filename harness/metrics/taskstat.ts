// /proc/PID/stat and /proc/PID/task/TID/stat, and the thread classes of a QEMU process.
// Pure: texts in, numbers out. comm sits in parentheses and may itself contain spaces and
// parentheses ("CPU 0/TCG"), so fields are counted from the LAST ')'.

export interface TaskStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  /** Clock ticks in user and kernel mode (all threads when read from /proc/PID/stat). */
  utime: number;
  stime: number;
  /** Ticks of children this task has waited for. */
  cutime: number;
  cstime: number;
  /** Ticks after boot when the task started: with pid, identifies it across pid reuse. */
  starttime: number;
}

export function parseTaskStat(text: string): TaskStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${JSON.stringify(text.slice(0, 120))}`);
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const field = (n: number) => {
    const v = Number(rest[n - 3]);
    if (!Number.isFinite(v)) throw new Error(`/proc stat field ${n} is not a number in: ${JSON.stringify(text.slice(0, 160))}`);
    return v;
  };
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0],
    ppid: field(4),
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
    starttime: field(22),
  };
}

export type QemuThreadClass = 'vcpu' | 'vhost' | 'io';

/**
 * vCPU threads are named "CPU n/KVM" or "CPU n/TCG" (with -name ...,debug-threads=on); since
 * Linux 6.4 vhost workers are threads of the QEMU process named "vhost-<qemu pid>"; everything
 * else (main loop, IO threads, call_rcu, worker pools) is QEMU's own main/IO work.
 */
export function classifyQemuThread(comm: string): QemuThreadClass {
  if (/^CPU \d+\/(KVM|TCG|HVF|WHPX)$/.test(comm)) return 'vcpu';
  if (/^vhost-\d+$/.test(comm)) return 'vhost';
  return 'io';
}
