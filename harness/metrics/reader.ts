// The one impure part of sampling: read /proc on the host into a HostSnapshot. Synchronous reads
// of small procfs files, so a sample is one short burst (no child processes, no shell).
//
// Ordering, so QEMU's thread classes never exceed its process total: the opening sample reads the
// process total BEFORE its threads, the closing sample AFTER them. (P(t) = sum of live threads +
// exited threads, both growing; then P(b2) - P(a2) >= P(b1) - P(a1) >= sum of thread deltas.)
//
// Tree accounting for backend and peer processes: a tree's CPU is the sum over its live members of
// utime+stime+cutime+cstime. A member that exits during the window and is waited for moves its
// whole time into its parent's cutime, so the difference of the sums counts exactly its in-window
// share; a member born in the window counts whole. Only children nobody waits for (SIGCHLD
// ignored) lose their time when they exit, which is why netperf servers run non-forking.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseProcStat } from './procstat.ts';
import { parseTaskStat, type TaskStat } from './taskstat.ts';
import type { HostSnapshot, TaskTicks } from './snapshot.ts';

/** USER_HZ: the unit of /proc times; 100 on every architecture Linux exposes to user space here. */
export const USER_HZ = 100;

export interface HostTargets {
  qemuPid?: number;
  backendPids?: readonly number[];
  peerPids?: readonly number[];
}

export type Phase = 'open' | 'close';

function readStat(path: string): TaskStat | undefined {
  try {
    return parseTaskStat(fs.readFileSync(path, 'utf8'));
  } catch {
    return undefined; // exited between listing and reading
  }
}

const ticksOf = (s: TaskStat, key = `${s.pid}:${s.starttime}`): TaskTicks => ({ key, pid: s.pid, comm: s.comm, ticks: s.utime + s.stime });

function allProcesses(): TaskStat[] {
  const out: TaskStat[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(`/proc/${name}/stat`);
    if (s) out.push(s);
  }
  return out;
}

/** Sum of utime+stime+cutime+cstime over the roots and all their live descendants. */
export function treeTicks(procs: readonly TaskStat[], roots: readonly number[]): number {
  const children = new Map<number, TaskStat[]>();
  const byPid = new Map<number, TaskStat>();
  for (const p of procs) {
    byPid.set(p.pid, p);
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const seen = new Set<number>();
  const queue = roots.filter((r) => byPid.has(r));
  let ticks = 0;
  while (queue.length) {
    const pid = queue.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const p = byPid.get(pid)!;
    ticks += p.utime + p.stime + p.cutime + p.cstime;
    for (const c of children.get(pid) ?? []) queue.push(c.pid);
  }
  return ticks;
}

function qemuThreads(pid: number): TaskTicks[] {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tids.flatMap((tid) => {
    const s = readStat(`/proc/${pid}/task/${tid}/stat`);
    return s ? [ticksOf(s)] : [];
  });
}

function qemuProcessTicks(pid: number): number | undefined {
  const s = readStat(`/proc/${pid}/stat`);
  return s ? s.utime + s.stime : undefined;
}

export function readHostSnapshot(t: HostTargets, phase: Phase): HostSnapshot {
  const atMs = performance.now();
  const stat = parseProcStat(fs.readFileSync('/proc/stat', 'utf8'));
  const cpu = process.cpuUsage();
  const needAll = t.qemuPid !== undefined || (t.backendPids?.length ?? 0) > 0 || (t.peerPids?.length ?? 0) > 0;
  const procs = needAll ? allProcesses() : [];
  const snap: HostSnapshot = { atMs, hz: USER_HZ, stat, vhostKthreads: [], harnessUs: cpu.user + cpu.system };
  if (t.qemuPid !== undefined) {
    const pid = t.qemuPid;
    let processTicks: number | undefined;
    if (phase === 'open') processTicks = qemuProcessTicks(pid);
    const threads = qemuThreads(pid);
    if (phase === 'close') processTicks = qemuProcessTicks(pid);
    if (processTicks !== undefined) snap.qemu = { pid, processTicks, threads };
    snap.vhostKthreads = procs.filter((p) => p.comm === `vhost-${pid}`).map((p) => ticksOf(p));
  }
  if (t.backendPids?.length) snap.backendTicks = treeTicks(procs, t.backendPids);
  if (t.peerPids?.length) snap.peerTicks = treeTicks(procs, t.peerPids);
  return snap;
}
