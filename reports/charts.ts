// Chart specifications: pure data computed from the report document. The browser script
// (assets/report-charts.js) turns each spec into a Chart.js chart, and html.ts prints the same
// numbers as a table under it, so the chart, its table and the JSON cannot disagree.
import { totalLoss } from '../harness/results/display.ts';
import { METRICS, type MetricName } from '../harness/results/metrics.ts';
import type { CellKey } from '../harness/results/types.ts';
import { cellLabel, metricScale, seriesLabel, sizeLabel, workloadLabel, type Scale } from './format.ts';
import type { CellReport, ReportDoc } from './model.ts';

/** Where a number came from, so tests (and readers of the JSON) can trace it. */
export interface ValueRef {
  cell: string;
  metric: string;
  /** Raw value in the catalogue's unit (what the JSON says). */
  value: number;
  ciLow?: number;
  ciHigh?: number;
  n?: number;
}

export interface TableColumn {
  label: string;
  scale: Scale;
}

export interface NumberTable {
  corner: string;
  columns: TableColumn[];
  rows: { head: string; cells: (ValueRef | null)[] }[];
}

export interface Dataset {
  label: string;
  /** Values divided by the chart's scale; null where the cell or metric is missing. */
  data: (number | null)[] | ([number, number] | null)[];
  refs: (ValueRef | null)[];
  color: string;
  stack?: string;
  /** A line drawn over a bar chart (e.g. the host CPU total over the stacked classes). */
  type?: 'line' | 'bar';
  ci?: ([number, number] | null)[];
}

export interface ChartSpec {
  id: string;
  title: string;
  kind: 'line' | 'bar';
  stacked?: boolean;
  horizontal?: boolean;
  /** Datasets share each category's slot instead of sitting side by side (one value per label). */
  overlap?: boolean;
  labels: string[];
  xTitle: string;
  yTitle: string;
  unit: string;
  datasets: Dataset[];
  table: NumberTable;
  /** What the chart leaves out and why (metrics not measured in this run). */
  note?: string;
  /** A low chart (few categories on a horizontal axis). */
  short?: boolean;
  /** Horizontal charts grow with their categories: height per category, in px on screen. */
  rowHeight?: number;
  /** Reference lines, in chart units (compare: 0 and ±threshold). */
  marks?: { value: number; label: string; color: string }[];
}

// Tableau 10: distinguishable, print well, colour-blind tolerable.
export const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export const CPU_CLASSES: { metric: MetricName; label: string; color: string }[] = [
  { metric: 'cpu_vcpu_pct', label: 'vCPU threads', color: '#4e79a7' },
  { metric: 'cpu_qemu_io_pct', label: 'QEMU main/IO', color: '#a0cbe8' },
  { metric: 'cpu_vhost_pct', label: 'vhost workers', color: '#f28e2b' },
  { metric: 'cpu_backend_pct', label: 'Backend processes', color: '#59a14f' },
  { metric: 'host_softirq_pct', label: 'Host softirq', color: '#e15759' },
];

const isRR = (workload: string) => /_(RR|CRR)$/.test(workload);

export function workloadsOf(doc: ReportDoc): string[] {
  return [...new Set(doc.cells.map((c) => c.key.workload))];
}

/** A workload and, for UDP_STREAM, one direction: what one line chart plots against size. */
export type WorkloadGroup = Pick<CellKey, 'workload' | 'direction'>;

export function groupsOf(doc: ReportDoc): WorkloadGroup[] {
  const seen = new Map<string, WorkloadGroup>();
  for (const c of doc.cells) {
    const g = { workload: c.key.workload, ...(c.key.direction ? { direction: c.key.direction } : {}) };
    if (!seen.has(workloadLabel(g))) seen.set(workloadLabel(g), g);
  }
  return [...seen.values()];
}

const inGroup = (c: CellReport, g: WorkloadGroup) => c.key.workload === g.workload && c.key.direction === g.direction;

/** One colour per series (backend + variant), the same in every chart of a report. */
export function seriesColors(doc: ReportDoc): Map<string, string> {
  const m = new Map<string, string>();
  for (const c of doc.cells) {
    const s = seriesLabel(c.key);
    if (!m.has(s)) m.set(s, PALETTE[m.size % PALETTE.length]);
  }
  return m;
}

function ref(c: CellReport, metric: MetricName): ValueRef | null {
  const s = c.summary[metric];
  if (!s) return null;
  return { cell: c.id, metric, value: s.mean, ciLow: s.ciLow, ciHigh: s.ciHigh, n: s.n };
}

const scaled = (r: ValueRef | null, s: Scale) => (r ? r.value / s.factor : null);
// Every catalogue metric is non-negative, so an interval reaching below zero is drawn from 0 (the
// tables keep it as computed; CLAMP_NOTE says so under the chart).
const scaledCi = (r: ValueRef | null, s: Scale): [number, number] | null =>
  r && r.ciLow !== undefined && r.ciHigh !== undefined && r.n !== undefined && r.n > 1 ? [Math.max(0, r.ciLow) / s.factor, r.ciHigh / s.factor] : null;
const clamped = (refs: readonly (ValueRef | null)[]) => refs.some((r) => r && r.n !== undefined && r.n > 1 && (r.ciLow ?? 0) < 0);

export const CLAMP_NOTE = 'Intervals that would reach below zero are drawn from 0; the tables give them as computed.';

function withNotes(spec: ChartSpec, notes: (string | false | undefined)[]): ChartSpec {
  const all = [spec.note, ...notes].filter(Boolean);
  return all.length ? { ...spec, note: all.join(' ') } : spec;
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** Metric vs message size for one workload (and direction), one line per series: throughput, transactions/s, per core. */
export function sizeChart(doc: ReportDoc, group: WorkloadGroup, metric: MetricName, colors: Map<string, string>): ChartSpec | undefined {
  const cells = doc.cells.filter((c) => inGroup(c, group) && c.summary[metric]);
  if (!cells.length) return undefined;
  const sizes = [...new Set(cells.map((c) => c.key.size))].sort((a, b) => a - b);
  const series = [...new Set(cells.map((c) => seriesLabel(c.key)))];
  const scale = metricScale(metric, cells.map((c) => c.summary[metric]!.mean));
  const grid = series.map((s) => sizes.map((z) => cells.find((c) => seriesLabel(c.key) === s && c.key.size === z)));
  const info = METRICS[metric];
  const label = workloadLabel(group);
  const lost = metric === 'throughput_bps' ? cells.filter((c) => totalLoss(c.summary.loss_pct)) : [];
  const allRefs: (ValueRef | null)[] = [];
  const spec: ChartSpec = {
    id: `chart-${slug(group.workload)}${group.direction ? `-${group.direction}` : ''}-${slug(metric)}`,
    title: `${label}: ${info.label.toLowerCase()} vs message size`,
    kind: sizes.length > 1 ? 'line' : 'bar',
    labels: sizes.map(sizeLabel),
    xTitle: 'message size',
    // A long label and unit would not fit along a 300 px axis: the unit alone says enough there.
    yTitle: info.label.length + scale.unit.length > 30 ? scale.unit : `${info.label} (${scale.unit})`,
    unit: scale.unit,
    datasets: series.map((s, i) => {
      const refs = grid[i].map((c) => (c ? ref(c, metric) : null));
      allRefs.push(...refs);
      return { label: s, data: refs.map((r) => scaled(r, scale)), refs, ci: refs.map((r) => scaledCi(r, scale)), color: colors.get(s)! };
    }),
    table: {
      corner: `${info.label} (${scale.unit})`,
      columns: sizes.map((z) => ({ label: sizeLabel(z), scale })),
      rows: series.map((s, i) => ({ head: s, cells: grid[i].map((c) => (c ? ref(c, metric) : null)) })),
    },
  };
  return withNotes(spec, [
    lost.length > 0 && `100 % loss (nothing arrived), drawn as 0: ${lost.map((c) => cellLabel(c.key)).join('; ')}.`,
    clamped(allRefs) && CLAMP_NOTE,
  ]);
}

interface BarMetric {
  metric: MetricName;
  label: string;
  color: string;
  stack?: string;
  type?: 'line';
}

/** One bar (or stacked bar) per cell of a workload; the table has a row per cell. */
function cellBarChart(
  doc: ReportDoc,
  workload: string,
  id: string,
  title: string,
  yTitle: string,
  wanted: BarMetric[],
  stacked: boolean,
): ChartSpec | undefined {
  const cells = doc.cells.filter((c) => c.key.workload === workload);
  const present = wanted.filter((w) => cells.some((c) => c.summary[w.metric]));
  if (!present.length || !cells.length) return undefined;
  const missing = wanted.filter((w) => !present.includes(w));
  const scale = metricScale(present[0].metric, cells.flatMap((c) => present.map((w) => c.summary[w.metric]?.mean ?? 0)));
  const spec: ChartSpec = {
    id: `chart-${slug(workload)}-${id}`,
    title: `${workload}: ${title}`,
    kind: 'bar',
    stacked,
    labels: cells.map((c) => cellLabel(c.key)),
    xTitle: cells.some((c) => c.key.direction) ? 'backend · message size · direction' : 'backend · message size',
    yTitle: `${yTitle} (${scale.unit})`,
    unit: scale.unit,
    datasets: present.map((w) => {
      const refs = cells.map((c) => ref(c, w.metric));
      return {
        label: w.label,
        data: refs.map((r) => scaled(r, scale)),
        refs,
        color: w.color,
        ...(w.stack ? { stack: w.stack } : {}),
        ...(w.type ? { type: w.type } : {}),
        ...(stacked ? {} : { ci: refs.map((r) => scaledCi(r, scale)) }),
      };
    }),
    table: {
      corner: `${yTitle} (${scale.unit})`,
      columns: present.map((w) => ({ label: w.label, scale })),
      rows: cells.map((c) => ({ head: cellLabel(c.key), cells: present.map((w) => ref(c, w.metric)) })),
    },
  };
  return withNotes(spec, [
    missing.length > 0 && `Not measured in this run: ${missing.map((m) => m.label).join(', ')}.`,
    // Stacked bars draw no whiskers.
    !stacked && clamped(spec.table.rows.flatMap((r) => r.cells)) && CLAMP_NOTE,
  ]);
}

/**
 * Host CPU by thread class, stacked, topped by "other host" (the /proc/stat total less the
 * classes: peer workload, harness, everything else), so each stack is as tall as the host total;
 * the guest CPU stands beside it.
 */
export function cpuChart(doc: ReportDoc, workload: string): ChartSpec | undefined {
  const spec = cellBarChart(
    doc,
    workload,
    'cpu',
    'where the CPU went',
    'CPU',
    [
      ...CPU_CLASSES.map((c) => ({ ...c, stack: 'host' })),
      { metric: 'guest_cpu_pct' as const, label: 'Guest CPU', color: '#b07aa1', stack: 'guest' },
    ],
    true,
  );
  const cells = doc.cells.filter((c) => c.key.workload === workload);
  if (!spec || !cells.some((c) => c.summary.host_cpu_total_pct)) return spec;
  let over = 0;
  const other = cells.map((c): ValueRef | null => {
    const total = c.summary.host_cpu_total_pct;
    if (!total) return null;
    const classes = CPU_CLASSES.reduce((a, k) => a + (c.summary[k.metric]?.mean ?? 0), 0);
    if (classes > total.mean) over++;
    return { cell: c.id, metric: DERIVED_OTHER, value: Math.max(0, total.mean - classes) };
  });
  const scale = spec.table.columns[0].scale;
  const guestAt = spec.datasets.findIndex((d) => d.stack === 'guest');
  const at = guestAt < 0 ? spec.datasets.length : guestAt;
  spec.datasets.splice(at, 0, { label: 'Other host (peer, harness, system)', data: other.map((r) => scaled(r, scale)), refs: other, color: '#c9c3bd', stack: 'host' });
  spec.table.columns.splice(at, 0, { label: 'Other host', scale }, { label: 'Host total', scale });
  spec.table.rows.forEach((row, i) => row.cells.splice(at, 0, other[i], ref(cells[i], 'host_cpu_total_pct')));
  const notes = [spec.note, 'Other host = host total (from /proc/stat) less the thread classes.'];
  if (over) notes.push(`In ${over} cell(s) the classes add up to more than the host total (softirq time can also be charged to the thread it interrupted); other host is shown as 0 there.`);
  spec.note = notes.filter(Boolean).join(' ');
  return spec;
}

/** The metric name of the derived "other host CPU" value in tables and chart references. */
export const DERIVED_OTHER = 'derived:host_other_pct';

export function serviceDemandChart(doc: ReportDoc, workload: string): ChartSpec | undefined {
  return cellBarChart(
    doc,
    workload,
    'service-demand',
    'service demand (CPU time per KB transferred)',
    'Service demand',
    [
      { metric: 'service_demand_host_us_per_kb', label: 'Host', color: '#4e79a7' },
      { metric: 'service_demand_guest_us_per_kb', label: 'Guest', color: '#b07aa1' },
    ],
    false,
  );
}

export function latencyChart(doc: ReportDoc, workload: string): ChartSpec | undefined {
  return cellBarChart(
    doc,
    workload,
    'latency',
    'round-trip latency percentiles',
    'Latency',
    [
      { metric: 'latency_p50_us', label: 'p50', color: '#a0cbe8' },
      { metric: 'latency_mean_us', label: 'mean', color: '#4e79a7' },
      { metric: 'latency_p90_us', label: 'p90', color: '#f28e2b' },
      { metric: 'latency_p99_us', label: 'p99', color: '#e15759' },
    ],
    false,
  );
}

export const OUTCOME_COLORS = { pass: '#59a14f', warn: '#edc948', fail: '#e15759', skip: '#bab0ac' } as const;

export function conformanceChart(doc: ReportDoc): ChartSpec | undefined {
  const { duts, counts } = doc.conformance;
  if (!duts.length) return undefined;
  const scale = { factor: 1, unit: 'requirements' };
  const outcomes = ['pass', 'warn', 'fail', 'skip'] as const;
  return {
    id: 'chart-conformance',
    title: 'Conformance outcomes per device under test',
    kind: 'bar',
    stacked: true,
    horizontal: true,
    rowHeight: 40,
    labels: duts,
    xTitle: 'requirements',
    yTitle: '',
    unit: 'requirements',
    datasets: outcomes.map((o) => ({
      label: o,
      data: duts.map((d) => counts[d][o]),
      refs: duts.map((d) => ({ cell: d, metric: `conformance.${o}`, value: counts[d][o] })),
      color: OUTCOME_COLORS[o],
      stack: 'outcome',
    })),
    table: {
      corner: 'device (transport)',
      columns: outcomes.map((o) => ({ label: o, scale })),
      rows: duts.map((d) => ({ head: d, cells: outcomes.map((o) => ({ cell: d, metric: `conformance.${o}`, value: counts[d][o] })) })),
    },
  };
}

export interface ReportCharts {
  throughput: ChartSpec[];
  cpu: ChartSpec[];
  serviceDemand: ChartSpec[];
  latency: ChartSpec[];
  perCore: ChartSpec[];
  conformance: ChartSpec[];
}

export function reportCharts(doc: ReportDoc): ReportCharts {
  const colors = seriesColors(doc);
  const ws = workloadsOf(doc);
  const gs = groupsOf(doc);
  const some = (xs: (ChartSpec | undefined)[]) => xs.filter((x): x is ChartSpec => Boolean(x));
  return {
    throughput: some(gs.map((g) => sizeChart(doc, g, isRR(g.workload) ? 'transactions_per_s' : 'throughput_bps', colors))),
    cpu: some(ws.map((w) => cpuChart(doc, w))),
    serviceDemand: some(ws.map((w) => serviceDemandChart(doc, w))),
    latency: some(ws.filter(isRR).map((w) => latencyChart(doc, w))),
    perCore: some(gs.map((g) => sizeChart(doc, g, 'throughput_per_core_bps', colors))),
    conformance: some([conformanceChart(doc)]),
  };
}

export function allCharts(c: ReportCharts): ChartSpec[] {
  return [...c.throughput, ...c.cpu, ...c.serviceDemand, ...c.latency, ...c.perCore, ...c.conformance];
}

