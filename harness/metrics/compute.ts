// Pure arithmetic from a pair of snapshots (and the engine's own metrics) to the metric record.
//
// Units: every CPU figure is in percent of one CPU over the window (200 = two CPUs busy).
// Service demand follows netperf: CPU time per unit of work, all CPUs counted --
//   streams:  us/KB    = cpu_seconds * 1e6 / (bytes / 1024)      (KB = 1024 bytes)
//   RR, CRR:  us/trans = cpu_seconds * 1e6 / transactions
// computed from rates over the same window: cores_busy * 1e6 / (KB/s or trans/s).
import type { WorkloadName } from '../config/schema.ts';
import type { Metrics } from '../results/metrics.ts';
import { isStream } from '../workloads/types.ts';
import { parseNetDev, virtioNetInterrupts } from './guestcounters.ts';
import { cpuPercent, parseProcStat } from './procstat.ts';
import { classifyQemuThread, type QemuThreadClass } from './taskstat.ts';
import type { GuestSnapshot, HostSnapshot, Snapshot, TaskTicks } from './snapshot.ts';

export interface GuestCounterOptions {
  /** Guest NIC under test (eth0). */
  nic: string;
  /** Its virtio device ("virtio0"), to find INTx lines; MSI-X queue vectors are found without it. */
  virtioDev?: string;
}

/** Tick deltas per task: tasks in both samples count b - a; tasks born in the window count whole. */
export function taskDeltas(a: readonly TaskTicks[], b: readonly TaskTicks[]): Map<string, { comm: string; ticks: number }> {
  const before = new Map(a.map((t) => [t.key, t.ticks]));
  const out = new Map<string, { comm: string; ticks: number }>();
  for (const t of b) out.set(t.key, { comm: t.comm, ticks: Math.max(0, t.ticks - (before.get(t.key) ?? 0)) });
  return out;
}

const pct = (ticks: number, hz: number, seconds: number) => (seconds > 0 ? (ticks / hz / seconds) * 100 : 0);

/** QEMU's CPU over the window by thread class, percent of one CPU. */
export interface QemuBreakdown {
  processPct: number;
  vcpuPct: number;
  ioPct: number;
  /** vhost workers that are QEMU threads (Linux >= 6.4); inside processPct. */
  vhostThreadPct: number;
  /** vhost-<pid> kernel threads (Linux < 6.4); outside processPct. */
  vhostKthreadPct: number;
  /** Threads seen in the closing sample. */
  threads: number;
}

export function qemuBreakdown(a: HostSnapshot, b: HostSnapshot): QemuBreakdown | undefined {
  if (!a.qemu || !b.qemu || a.qemu.pid !== b.qemu.pid) return undefined;
  const seconds = (b.atMs - a.atMs) / 1000;
  const cls: Record<QemuThreadClass, number> = { vcpu: 0, io: 0, vhost: 0 };
  for (const t of taskDeltas(a.qemu.threads, b.qemu.threads).values()) cls[classifyQemuThread(t.comm)] += t.ticks;
  const kthreads = [...taskDeltas(a.vhostKthreads, b.vhostKthreads).values()].reduce((s, t) => s + t.ticks, 0);
  return {
    processPct: pct(Math.max(0, b.qemu.processTicks - a.qemu.processTicks), b.hz, seconds),
    vcpuPct: pct(cls.vcpu, b.hz, seconds),
    ioPct: pct(cls.io, b.hz, seconds),
    vhostThreadPct: pct(cls.vhost, b.hz, seconds),
    vhostKthreadPct: pct(kthreads, b.hz, seconds),
    threads: b.qemu.threads.length,
  };
}

/** Host CPU: /proc/stat totals, QEMU per thread class, vhost workers, backend, peer, harness. */
export function hostCpuMetrics(a: HostSnapshot, b: HostSnapshot): Metrics {
  const seconds = (b.atMs - a.atMs) / 1000;
  const stat = cpuPercent(a.stat, b.stat, b.hz);
  const m: Metrics = {
    host_cpu_total_pct: stat.busyPct,
    host_softirq_pct: stat.softirqPct,
    harness_cpu_pct: seconds > 0 ? Math.max(0, (b.harnessUs - a.harnessUs) / 1e4 / seconds) : 0,
  };
  const q = qemuBreakdown(a, b);
  if (q) {
    m.qemu_process_pct = q.processPct;
    m.cpu_vcpu_pct = q.vcpuPct;
    m.cpu_qemu_io_pct = q.ioPct;
    m.cpu_vhost_pct = q.vhostThreadPct + q.vhostKthreadPct;
  }
  if (a.backendTicks !== undefined && b.backendTicks !== undefined) {
    m.cpu_backend_pct = pct(Math.max(0, b.backendTicks - a.backendTicks), b.hz, seconds);
  }
  if (a.peerTicks !== undefined && b.peerTicks !== undefined) {
    m.cpu_peer_pct = pct(Math.max(0, b.peerTicks - a.peerTicks), b.hz, seconds);
  }
  return m;
}

/** Guest CPU from its /proc/stat pair; packets/s and interrupts per packet on the NIC under test. */
export function guestMetrics(a: GuestSnapshot, b: GuestSnapshot, opts: GuestCounterOptions, hostSeconds: number): Metrics {
  const sa = parseProcStat(a.stat, 'guest /proc/stat');
  const sb = parseProcStat(b.stat, 'guest /proc/stat');
  const cpu = cpuPercent(sa, sb);
  const m: Metrics = { guest_cpu_pct: cpu.busyPct };
  const na = parseNetDev(a.netdev).get(opts.nic);
  const nb = parseNetDev(b.netdev).get(opts.nic);
  if (!na || !nb) throw new Error(`guest /proc/net/dev has no interface "${opts.nic}"`);
  const packets = Math.max(0, nb.rxPackets + nb.txPackets - na.rxPackets - na.txPackets);
  // The guest's own tick count times the interval between its two readings; the host window is
  // the fallback when the guest's clock did not advance.
  const seconds = cpu.seconds > 0 ? cpu.seconds : hostSeconds;
  if (seconds > 0) m.packets_per_s = packets / seconds;
  const ia = virtioNetInterrupts(a.interrupts, opts.virtioDev);
  const ib = virtioNetInterrupts(b.interrupts, opts.virtioDev);
  if (ia !== undefined && ib !== undefined && packets > 0) m.guest_interrupts_per_packet = Math.max(0, ib - ia) / packets;
  return m;
}

/** netperf service demand from a CPU percentage (of one CPU) and the engine's rate. */
export function serviceDemand(cpuPct: number, workload: WorkloadName, engine: Metrics): { perKb?: number; perTrans?: number } {
  const cores = cpuPct / 100;
  if (isStream(workload)) {
    const kbPerS = (engine.throughput_bps ?? 0) / 8 / 1024;
    return kbPerS > 0 ? { perKb: (cores * 1e6) / kbPerS } : {};
  }
  const tps = engine.transactions_per_s ?? 0;
  return tps > 0 ? { perTrans: (cores * 1e6) / tps } : {};
}

/** Everything a window yields: CPU breakdown, guest counters, service demand, throughput per core. */
export function computeMetrics(
  a: Snapshot,
  b: Snapshot,
  workload: WorkloadName,
  engine: Metrics,
  guest?: GuestCounterOptions,
): Metrics {
  const m = hostCpuMetrics(a.host, b.host);
  if (a.guest && b.guest && guest) Object.assign(m, guestMetrics(a.guest, b.guest, guest, (b.host.atMs - a.host.atMs) / 1000));
  const host = serviceDemand(m.host_cpu_total_pct ?? 0, workload, engine);
  if (host.perKb !== undefined) m.service_demand_host_us_per_kb = host.perKb;
  if (host.perTrans !== undefined) m.service_demand_host_us_per_trans = host.perTrans;
  if (m.guest_cpu_pct !== undefined) {
    const g = serviceDemand(m.guest_cpu_pct, workload, engine);
    if (g.perKb !== undefined) m.service_demand_guest_us_per_kb = g.perKb;
    if (g.perTrans !== undefined) m.service_demand_guest_us_per_trans = g.perTrans;
  }
  const cores = (m.host_cpu_total_pct ?? 0) / 100;
  if (engine.throughput_bps !== undefined && cores > 0) m.throughput_per_core_bps = engine.throughput_bps / cores;
  return m;
}

/**
 * Consistency of a window's numbers: nothing negative or non-finite, and QEMU's in-process thread
 * classes (vCPU + main/IO + vhost threads) add up to at most the process total. The snapshots are
 * read in an order that guarantees this for exact times (reader.ts); but each thread's time is
 * rounded down to ticks on its own, so the sum may exceed the total by up to ~1 tick per thread
 * per sample: `slackTicksPerThread` sizes that allowance.
 */
export function accountingProblems(m: Metrics, q?: QemuBreakdown, window?: { seconds: number; hz: number; slackTicksPerThread?: number }): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(m)) {
    if (v === undefined) continue;
    if (!Number.isFinite(v)) problems.push(`${k} is not finite (${v})`);
    else if (v < 0) problems.push(`${k} is negative (${v})`);
  }
  if (q) {
    const classes = q.vcpuPct + q.ioPct + q.vhostThreadPct;
    const slack = window && window.seconds > 0 ? pct((window.slackTicksPerThread ?? 2) * q.threads, window.hz, window.seconds) : 0;
    if (classes > q.processPct + slack) {
      problems.push(
        `QEMU thread classes (${classes.toFixed(2)} %) exceed the process total (${q.processPct.toFixed(2)} %) by more than rounding (${slack.toFixed(2)} %)`,
      );
    }
  }
  return problems;
}
