// The terminal summary at the end of a run: backends side by side per workload and size, with the
// figures performance engineers compare first (throughput or transaction rate, host CPU, service
// demand), cells that errored, the counts of what became of every planned cell (the same
// classifier as the report's, results/outcomes.ts), each error once, and skipped backends.
import Table from 'cli-table3';
import { errorHeadline, lossText } from '../results/display.ts';
import { classifyCells, countsText, effectiveStatus, namedCell } from '../results/outcomes.ts';
import type { RunData } from '../results/rundir.ts';
import type { ResultRecord, CellKey, MetricSummary, RunManifest } from '../results/types.ts';
import { cellId } from '../results/types.ts';
import { plannedCells } from './planned.ts';

type CellRecord = Extract<ResultRecord, { type: 'cell' }>;

export function fmtRate(bps: number | undefined): string {
  if (bps === undefined || !Number.isFinite(bps)) return '-';
  // Exactly nothing: "0.00 bit/s" would pretend a precision nobody measured.
  if (bps === 0) return '0 bit/s';
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
  if (s.n < 2 || s.mean === 0) return fmt(s.mean);
  const half = (s.ciHigh - s.ciLow) / 2;
  const pct = (half / Math.abs(s.mean)) * 100;
  return `${fmt(s.mean)} ±${pct.toFixed(1)}%`;
}

const num = (d: number) => (v: number) => v.toFixed(d);

function primary(cell: CellKey, r: CellRecord): string {
  const s = r.summary;
  if (/_RR$|_CRR$/.test(cell.workload)) return fmtCi(s.transactions_per_s, (v) => `${v.toFixed(0)} trans/s`);
  const loss = lossText(s.loss_pct);
  return `${fmtCi(s.throughput_bps, fmtRate)}${loss ? ` (${loss})` : ''}`;
}

const workloadText = (k: CellKey) => (k.direction ? `${k.workload} ${k.direction}` : k.workload);

export interface SummaryOptions {
  /** The run's planned cells, so a backend that never booted counts each of them. */
  planned?: readonly CellKey[];
  /** The manifest's status; shown as complete-with-errors when errors exist. */
  status?: RunManifest['status'];
  /** The run directory, to say where the full error texts are. */
  dir?: string;
}

export function summaryTable(records: readonly ResultRecord[], o: SummaryOptions = {}): string {
  const cls = classifyCells(records, o.planned);
  const last = new Map<string, CellRecord>();
  for (const r of records) if (r.type === 'cell') last.set(cellId(r.cell), r);
  // Cells an error named get an ERROR row; a backend that never booted is one error line below.
  const named = new Set(records.flatMap((r) => (r.type === 'error' && namedCell(r) ? [namedCell(r)!] : [])));
  const rows = cls.cells.filter((c) => c.outcome === 'measured' || (c.outcome === 'errored' && named.has(c.id)));
  const out: string[] = [];
  if (rows.length) {
    const t = new Table({
      head: ['backend', 'workload', 'size', 'offloads', 'throughput / rate', 'host CPU %', 'guest CPU %', 'host SD us/KB', 'conf.'],
      style: { head: [], border: [] },
    });
    const sorted = [...rows].sort(
      (a, b) =>
        a.key.workload.localeCompare(b.key.workload) ||
        (a.key.direction ?? '').localeCompare(b.key.direction ?? '') ||
        a.key.size - b.key.size ||
        a.key.offloads.localeCompare(b.key.offloads) ||
        a.key.backend.localeCompare(b.key.backend),
    );
    for (const c of sorted) {
      const head = [c.key.backend, workloadText(c.key), String(c.key.size), c.key.offloads];
      const r = last.get(c.id);
      if (c.outcome === 'errored' || !r) {
        // Partial iterations of an errored cell are no measurement: no numbers at all.
        t.push([...head, 'ERROR (below)', '-', '-', '-', '']);
        continue;
      }
      t.push([
        ...head,
        primary(c.key, r),
        fmtCi(r.summary.host_cpu_total_pct, num(0)),
        fmtCi(r.summary.guest_cpu_pct, num(0)),
        fmtCi(r.summary.service_demand_host_us_per_kb, num(3)),
        r.confidence ? (r.confidence.reached ? 'reached' : 'NOT reached') : '',
      ]);
    }
    out.push(t.toString());
  }
  if (cls.counts.total) {
    const status = o.status ? `${effectiveStatus(o.status, cls)}: ` : '';
    out.push(`${status}${countsText(cls.counts)}`);
  }
  const errors = errorLines(records, cls.cells);
  out.push(...errors);
  if (errors.length && o.dir) out.push(`full error texts: ${o.dir}/results.jsonl`);
  for (const r of records) {
    if (r.type === 'skip') out.push(`skipped ${r.backend}${r.workload ? ` ${r.workload}` : ''}: ${errorHeadline(r.reason)}`);
    if (r.type === 'boot') out.push(`${r.backend}: guest boot-to-ready ${r.bootToReadyS.toFixed(2)} s (${r.accel})`);
  }
  return out.join('\n');
}

/**
 * Each distinct error once, as its first line with a length cap (the full text is in
 * results.jsonl), with how many cells it stopped; errors a retry recovered from say so.
 */
function errorLines(records: readonly ResultRecord[], cells: ReturnType<typeof classifyCells>['cells']): string[] {
  const lines = new Map<string, number>();
  for (const r of records) {
    if (r.type !== 'error') continue;
    const named = namedCell(r);
    const scope = named ?? `${r.backend}${r.workload ? `/${r.workload}` : ''}`;
    const recovered = named !== undefined && cells.some((c) => c.id === named && c.outcome === 'measured');
    const stopped = cells.filter((c) => c.outcome === 'errored' && c.errors.includes(r.message) && (named ? c.id === named : c.key.backend === r.backend)).length;
    const what = recovered ? 'error (retried, recovered)' : 'error';
    const line = `${what} ${scope}: ${errorHeadline(r.message)}${!named && stopped ? ` [${stopped} cell${stopped === 1 ? '' : 's'}]` : ''}`;
    lines.set(line, (lines.get(line) ?? 0) + 1);
  }
  return [...lines].map(([l, n]) => (n > 1 ? `${l} (${n} times)` : l));
}

/** The summary of a finished run directory: counted against the cells its configuration planned. */
export function runSummary(run: RunData): string {
  return summaryTable(run.records, { planned: plannedCells(run.manifest), status: run.manifest.status, dir: run.dir });
}
