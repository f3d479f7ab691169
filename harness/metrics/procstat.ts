// /proc/stat: the aggregate "cpu" line, in clock ticks since boot. Pure; the same parser reads the
// host's file and the guest's text fetched by the agent.
//
//   cpu  user nice system idle iowait irq softirq steal guest guest_nice
// guest and guest_nice are already inside user and nice (the kernel adds them to both), so the
// total is the sum of the first eight. Busy = total - idle - iowait (netperf's /proc/stat method
// counts iowait as idle too).

export interface CpuTimes {
  /** Number of "cpuN" lines: the CPUs online when the file was read. */
  cpus: number;
  total: number;
  busy: number;
  softirq: number;
  irq: number;
  idle: number;
  iowait: number;
}

export class ProcStatError extends Error {
  override readonly name = 'ProcStatError';
}

export function parseProcStat(text: string, source = '/proc/stat'): CpuTimes {
  const lines = text.split('\n');
  const agg = lines.find((l) => /^cpu\s/.test(l));
  if (!agg) throw new ProcStatError(`${source}: no aggregate "cpu" line in: ${JSON.stringify(text.slice(0, 200))}`);
  const f = agg.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 8 || f.slice(0, 8).some((x) => !Number.isFinite(x) || x < 0)) {
    throw new ProcStatError(`${source}: malformed "cpu" line: ${JSON.stringify(agg)}`);
  }
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  const cpus = lines.filter((l) => /^cpu\d+\s/.test(l)).length;
  if (cpus === 0) throw new ProcStatError(`${source}: no per-CPU "cpuN" lines`);
  return { cpus, total, busy: total - idle - iowait, softirq, irq, idle, iowait };
}

export interface CpuPercent {
  /** Busy time in percent of one CPU (200 = two CPUs fully busy). */
  busyPct: number;
  softirqPct: number;
  /** Seconds the interval spans on this machine's own clock (ticks / cpus / hz). */
  seconds: number;
}

/**
 * Busy and softirq over an interval, in percent of one CPU. The interval length comes from the
 * ticks themselves (all CPUs' ticks / number of CPUs), so no wall clock is needed: a guest's
 * /proc/stat pair is judged by the guest's clock.
 */
export function cpuPercent(a: CpuTimes, b: CpuTimes, hz = 100): CpuPercent {
  const dTotal = b.total - a.total;
  if (dTotal <= 0) return { busyPct: 0, softirqPct: 0, seconds: 0 };
  const perCpu = dTotal / b.cpus;
  return {
    busyPct: Math.max(0, ((b.busy - a.busy) / perCpu) * 100),
    softirqPct: Math.max(0, ((b.softirq - a.softirq) / perCpu) * 100),
    seconds: perCpu / hz,
  };
}
