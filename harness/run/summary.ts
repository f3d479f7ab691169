// The terminal summary at the end of a run: backends side by side per workload and size, with the
// figures performance engineers compare first (throughput or transaction rate, host CPU, service
// demand), plus skipped backends and the reason.
import Table from 'cli-table3';
import type { ResultRecord, CellKey, MetricSummary } from '../results/types.ts';

type CellRecord = Extract<ResultRecord, { type: 'cell' }>;

export function fmtRate(bps: number | undefined): string {
  if (bps === undefined || !Number.isFinite(bps)) return '-';
  const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'];
  let i = 0;
  while (Math.abs(bps) >= 1000 && i < units.length - 1) {
    bps /= 1000;
    i++;
  }
  return `${bps.toFixed(bps >= 100 ? 0 : bps >= 10 ? 1 : 2)} ${units[i]}`;
}

function fmtCi(s: MetricSummary | undefined, fmt: (v: number) => string): string {
  if (!s) return '-';
  if (s.n < 2) return fmt(s.mean);
  const half = (s.ciHigh - s.ciLow) / 2;
  const pct = s.mean ? (half / Math.abs(s.mean)) * 100 : 0;
  return `${fmt(s.mean)} ±${pct.toFixed(1)}%`;
}

const num = (d: number) => (v: number) => v.toFixed(d);

function primary(cell: CellKey, r: CellRecord): string {
  const s = r.summary;
  if (/_RR$|_CRR$/.test(cell.workload)) return fmtCi(s.transactions_per_s, (v) => `${v.toFixed(0)} trans/s`);
  return fmtCi(s.throughput_bps, fmtRate);
}

export function summaryTable(records: readonly ResultRecord[]): string {
  const cells = records.filter((r): r is CellRecord => r.type === 'cell');
  const out: string[] = [];
  if (cells.length) {
    const t = new Table({
      head: ['backend', 'workload', 'size', 'offloads', 'throughput / rate', 'host CPU %', 'guest CPU %', 'host SD us/KB', 'conf.'],
      style: { head: [], border: [] },
    });
    const sorted = [...cells].sort(
      (a, b) =>
        a.cell.workload.localeCompare(b.cell.workload) ||
        a.cell.size - b.cell.size ||
        a.cell.offloads.localeCompare(b.cell.offloads) ||
        a.cell.backend.localeCompare(b.cell.backend),
    );
    for (const r of sorted) {
      t.push([
        r.cell.backend,
        r.cell.direction ? `${r.cell.workload} ${r.cell.direction}` : r.cell.workload,
        String(r.cell.size),
        r.cell.offloads,
        primary(r.cell, r),
        fmtCi(r.summary.host_cpu_total_pct, num(0)),
        fmtCi(r.summary.guest_cpu_pct, num(0)),
        fmtCi(r.summary.service_demand_host_us_per_kb, num(3)),
        r.confidence ? (r.confidence.reached ? 'reached' : 'NOT reached') : '',
      ]);
    }
    out.push(t.toString());
  }
  for (const r of records) {
    if (r.type === 'skip') out.push(`skipped ${r.backend}${r.workload ? ` ${r.workload}` : ''}: ${r.reason}`);
    if (r.type === 'error') out.push(`error ${r.backend}${r.workload ? ` ${r.workload}` : ''}: ${r.message}`);
    if (r.type === 'boot') out.push(`${r.backend}: guest boot-to-ready ${r.bootToReadyS.toFixed(2)} s (${r.accel})`);
  }
  return out.join('\n');
}
