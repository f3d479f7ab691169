// Pure arithmetic of `npm run bench:aio`: iteration records of several runs -> one row per
// (variant, workload): median throughput, host CPU and throughput per host core, and the same
// against the copy backend. Two CPU figures, because this machine may be shared:
//   host  = all host CPU from /proc/stat (what the goal names; includes any other load),
//   path  = the CPU of the processes that move this guest's packets: QEMU (vCPU + main loop),
//           the aio-tap process, vhost workers. The peer's netserver is the same for every backend
//           and is left out of both ratios' "path" figure.
import type { Metrics } from '../results/metrics.ts';

export interface BenchSample {
  variant: string;
  workload: string;
  metrics: Metrics;
}

export interface BenchRow {
  variant: string;
  workload: string;
  samples: number;
  gbps: number;
  transPerS: number;
  hostPct: number;
  pathPct: number;
  vcpuPct: number;
  qemuIoPct: number;
  backendPct: number;
  /** Host CPU % per Gbit/s (streams) or per 1000 trans/s (RR). */
  hostPerUnit: number;
  pathPerUnit: number;
  /** Throughput per host core, Gbit/s per core (streams) or trans/s per core. */
  perHostCore: number;
  perPathCore: number;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const isRR = (workload: string) => /_RR$|_CRR$/.test(workload.split(':')[0]!);

export function summarize(samples: readonly BenchSample[]): BenchRow[] {
  const groups = new Map<string, BenchSample[]>();
  for (const s of samples) {
    const k = `${s.variant}\u0000${s.workload}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  return [...groups.values()].map((g) => {
    const med = (f: (m: Metrics) => number | undefined) => median(g.map((s) => f(s.metrics) ?? 0));
    const gbps = med((m) => (m.throughput_bps ?? 0) / 1e9);
    const trans = med((m) => m.transactions_per_s);
    const host = med((m) => m.host_cpu_total_pct);
    const path = med((m) => (m.qemu_process_pct ?? 0) + (m.cpu_backend_pct ?? 0) + (m.cpu_vhost_pct ?? 0));
    const rr = isRR(g[0]!.workload);
    const unit = rr ? trans / 1000 : gbps;
    const rate = rr ? trans : gbps;
    return {
      variant: g[0]!.variant,
      workload: g[0]!.workload,
      samples: g.length,
      gbps,
      transPerS: trans,
      hostPct: host,
      pathPct: path,
      vcpuPct: med((m) => m.cpu_vcpu_pct),
      qemuIoPct: med((m) => m.cpu_qemu_io_pct),
      backendPct: med((m) => m.cpu_backend_pct),
      hostPerUnit: unit > 0 ? host / unit : NaN,
      pathPerUnit: unit > 0 ? path / unit : NaN,
      perHostCore: host > 0 ? rate / (host / 100) : NaN,
      perPathCore: path > 0 ? rate / (path / 100) : NaN,
    };
  });
}

export interface GoalCheck {
  variant: string;
  workload: string;
  /** variant throughput / copy throughput (>= 1 meets the goal's first half). */
  throughputRatio: number;
  /** variant host CPU per unit / copy's (<= 0.8 meets the second half). */
  hostCpuRatio: number;
  pathCpuRatio: number;
  met: boolean;
}

/** The goal per workload: at least copy's throughput at most 0.8x its host CPU per Gbit/s. */
export function goalChecks(rows: readonly BenchRow[], baseline = 'copy'): GoalCheck[] {
  const base = new Map(rows.filter((r) => r.variant === baseline).map((r) => [r.workload, r]));
  return rows
    .filter((r) => r.variant !== baseline && base.has(r.workload))
    .map((r) => {
      const b = base.get(r.workload)!;
      const rr = isRR(r.workload);
      const throughputRatio = rr ? r.transPerS / b.transPerS : r.gbps / b.gbps;
      const hostCpuRatio = r.hostPerUnit / b.hostPerUnit;
      return { variant: r.variant, workload: r.workload, throughputRatio, hostCpuRatio, pathCpuRatio: r.pathPerUnit / b.pathPerUnit, met: throughputRatio >= 1 && hostCpuRatio <= 0.8 };
    });
}
