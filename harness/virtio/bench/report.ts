// Turns the benchmark's tinybench tasks into the printed table, notification counts and target lines.

import { availableParallelism, loadavg } from 'node:os';
import type { Task } from 'tinybench';
import type { QueueKind } from '../driver/types.ts';
import type { NotifyStats } from './shared.ts';

const TARGETS = { oneThread: 10e6, cross: 3e6 };

export interface Row {
  name: string;
  kind: QueueKind | '-';
  mode: string;
  memory: string;
  opsPerIter: number;
  task: Task;
  /** Cross-thread rows: notifications each side sent, sleeps, and lost notifications (must be 0). */
  driver?: NotifyStats;
  device?: NotifyStats;
}

/**
 * ops/s from the median iteration time (robust to the scheduler taking the CPU away mid-sample on
 * a busy host), and from the mean for comparison.
 */
function opsPerSec(row: Row, stat: 'median' | 'mean' = 'median'): number | string {
  const r = row.task.result;
  if (r.state === 'completed') return (row.opsPerIter * 1000) / (stat === 'median' ? r.latency.p50 : r.period);
  if (r.state === 'errored') return `error: ${r.error.message}`;
  return r.state;
}

function fmt(v: number | string): string {
  return typeof v === 'number' ? `${(v / 1e6).toFixed(2)} M/s` : v;
}

export function printResults(rows: Row[], noMemfd: string | null): void {
  console.log('\nvirtio driver ring micro-benchmark (op = add one buffer + kick check + reap its used entry)');
  const load = loadavg()[0];
  const cpus = availableParallelism();
  console.log(`host: ${cpus} CPUs, 1-min load ${load.toFixed(2)}, node ${process.versions.node}`);
  if (load > cpus - 1) console.log(`warning: load ${load.toFixed(1)} on ${cpus} CPUs — the driver and device threads wait for CPU time; expect lower, noisier figures (cross-thread most of all)`);
  if (noMemfd) console.log(`memfd memory not available (${noMemfd}); used SharedArrayBuffer`);
  console.table(
    rows.map((row) => {
      const r = row.task.result;
      return {
        task: row.name,
        'ops/s (median)': fmt(opsPerSec(row)),
        'ops/s (mean)': fmt(opsPerSec(row, 'mean')),
        'rme %': r.state === 'completed' ? r.latency.rme.toFixed(1) : '-',
        samples: r.state === 'completed' ? r.latency.samplesCount : 0,
      };
    }),
  );
  for (const row of rows.filter((r) => r.driver && r.device)) {
    const d = row.driver!;
    const v = row.device!;
    console.log(`${row.name}: kicks ${d.sent}, calls ${v.sent}, driver sleeps ${d.sleeps}, device sleeps ${v.sleeps}, lost notifications ${d.lost + v.lost}${d.lost + v.lost ? ' — ERROR: a suppressed-notification race lost a wakeup' : ''}`);
  }
  const verdict = (v: number, t: number) => (v >= t ? 'met' : 'NOT met');
  const target = (label: string, t: number, pred: (r: Row) => boolean) => {
    const got = rows.filter(pred).map((r) => opsPerSec(r)).filter((v): v is number => typeof v === 'number');
    if (got.length === 0) return;
    const best = Math.max(...got);
    console.log(`target ${label} ≥ ${t / 1e6} M/s: best median ${fmt(best)} — ${verdict(best, t)}`);
  };
  target('split one thread', TARGETS.oneThread, (r) => r.kind === 'split' && r.mode.startsWith('one thread'));
  target('split across threads', TARGETS.cross, (r) => r.kind === 'split' && r.mode === 'across a Worker');
}

