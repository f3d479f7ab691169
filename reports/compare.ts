// Statistical comparison of runs for CI gating. Pure: run documents in, a Comparison out.
//
// Runs are given oldest first. The first is the baseline, the last is the current run; the gate
// compares the current run with the baseline (so a slow creep over many runs is still caught),
// and any runs in between only feed the trend.
//
// Per cell (matched by cell key) and metric: Welch's t-test of current against baseline
// (harness/stats/summary.ts, jstat's Student t). A change is significant when p < 1 - confidence.
// Verdict: "regressed"/"improved" when significant AND beyond the threshold, in the metric's bad
// or good direction (the catalogue's `better`); "insufficient data" when either side has fewer
// than two samples or the cell is missing from one run; else "no significant change".
// Optionally (correction: 'holm') the p-values of the gate are Holm-Bonferroni adjusted first.
import { METRICS, metricInfo, type MetricName } from '../harness/results/metrics.ts';
import type { CellKey, MetricSummary } from '../harness/results/types.ts';
import { welch } from '../harness/stats/summary.ts';
import type { CellReport, ReportDoc } from './model.ts';

export type Verdict = 'improved' | 'regressed' | 'no significant change' | 'insufficient data';
export const VERDICTS: readonly Verdict[] = ['regressed', 'improved', 'no significant change', 'insufficient data'];

export interface CompareOptions {
  /** Smallest relative change, in percent of the baseline mean, that can gate. */
  thresholdPct: number;
  /** Confidence level: significant when p < 1 - confidence; intervals at this level. */
  confidence: number;
  /** Restrict to these metrics (default: every metric either run has). */
  metrics?: readonly string[];
  /** Multiple-comparison correction over all tests of the gate (default none: per-test p). */
  correction?: 'none' | 'holm';
}

export interface MetricComparison {
  metric: MetricName;
  unit: string;
  better: 'higher' | 'lower';
  baseline?: MetricSummary;
  current?: MetricSummary;
  /** (current - baseline) / |baseline| in percent. */
  deltaPct?: number;
  /** Confidence interval of current - baseline, in the metric's unit and in percent of baseline. */
  diffCi?: [number, number];
  diffCiPct?: [number, number];
  p?: number;
  /** p after the multiple-comparison correction, when one was asked for (the verdict uses it). */
  pAdjusted?: number;
  verdict: Verdict;
  /** Why this verdict, in words: sample counts, significance, the threshold. */
  note: string;
}

export interface CellComparison {
  id: string;
  key: CellKey;
  presence: 'both' | 'baseline only' | 'current only';
  metrics: MetricComparison[];
  verdict: Verdict;
}

export interface RunRef {
  runId: string;
  dir: string;
  createdAt: string;
}

export interface TrendRow {
  cellId: string;
  key: CellKey;
  metric: MetricName;
  /** One entry per run, in run order; undefined where the run lacks the cell or metric. */
  points: (MetricSummary | undefined)[];
  /** Each run against the baseline (index 0 is the baseline itself). */
  verdicts: (Verdict | undefined)[];
  deltaPct: (number | undefined)[];
}

export interface Comparison {
  runs: RunRef[];
  baseline: RunRef;
  current: RunRef;
  options: { thresholdPct: number; confidence: number; metrics?: readonly string[]; correction: 'none' | 'holm' };
  cells: CellComparison[];
  counts: Record<Verdict, number>;
  regressions: { cell: string; metric: MetricName; deltaPct: number; p: number }[];
  trend: TrendRow[];
}

function samples(cell: CellReport | undefined, metric: MetricName): number[] {
  if (!cell) return [];
  return cell.iterations.map((i) => i.metrics[metric]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}

function relative(diff: number, base: number): number {
  if (base !== 0) return (diff / Math.abs(base)) * 100;
  return diff === 0 ? 0 : diff > 0 ? Infinity : -Infinity;
}

/** The verdict for one metric from its baseline and current samples. */
export function judge(
  metric: MetricName,
  a: readonly number[],
  b: readonly number[],
  opts: CompareOptions,
  sa?: MetricSummary,
  sb?: MetricSummary,
): MetricComparison {
  const info = metricInfo(metric)!;
  const base = { metric, unit: info.unit, better: info.better, baseline: sa, current: sb };
  const w = welch(a, b, opts.confidence);
  if (!w) {
    const why = a.length === 0 ? 'no baseline samples' : b.length === 0 ? 'no current samples' : '';
    return {
      ...base,
      ...(a.length && b.length ? { deltaPct: relative(sb!.mean - sa!.mean, sa!.mean) } : {}),
      verdict: 'insufficient data',
      note: why || `n=${a.length} baseline, n=${b.length} current: the t-test needs at least 2 samples on each side`,
    };
  }
  const deltaPct = relative(w.diff, w.meanA);
  return {
    ...base,
    deltaPct,
    diffCi: [w.ciLow, w.ciHigh],
    diffCiPct: [relative(w.ciLow, w.meanA), relative(w.ciHigh, w.meanA)],
    p: w.p,
    ...decide(deltaPct, info.better, w.p, opts),
  };
}

/** Significant (p < 1 - confidence) and beyond the threshold: regressed or improved by direction. */
function decide(deltaPct: number, better: 'higher' | 'lower', p: number, opts: CompareOptions, pName = 'p'): { verdict: Verdict; note: string } {
  const alpha = 1 - opts.confidence;
  const significant = p < alpha;
  const beyond = Math.abs(deltaPct) > opts.thresholdPct;
  const worse = better === 'higher' ? deltaPct < 0 : deltaPct > 0;
  const verdict: Verdict = significant && beyond ? (worse ? 'regressed' : 'improved') : 'no significant change';
  const note = significant
    ? beyond
      ? `${pName} < ${alpha.toFixed(3)} and |Δ| > ${opts.thresholdPct} %`
      : `significant (${pName} < ${alpha.toFixed(3)}) but within the ${opts.thresholdPct} % threshold`
    : `${pName} ≥ ${alpha.toFixed(3)}`;
  return { verdict, note };
}

/**
 * Holm-Bonferroni over every test of the gate: with hundreds of cell × metric tests, some come
 * out "significant" by chance at any per-test level; Holm keeps the chance of even one false
 * alarm below 1 - confidence, at the cost of power against small changes.
 */
function applyHolm(ms: MetricComparison[], opts: CompareOptions): void {
  const tested = ms.filter((m) => m.p !== undefined && m.deltaPct !== undefined).sort((a, b) => a.p! - b.p!);
  let running = 0;
  tested.forEach((m, i) => {
    running = Math.max(running, Math.min(1, (tested.length - i) * m.p!));
    m.pAdjusted = running;
    Object.assign(m, decide(m.deltaPct!, m.better, running, opts, 'Holm-adjusted p'));
  });
}

function cellVerdict(ms: MetricComparison[]): Verdict {
  for (const v of ['regressed', 'improved'] as const) if (ms.some((m) => m.verdict === v)) return v;
  if (ms.length && ms.every((m) => m.verdict === 'insufficient data')) return 'insufficient data';
  return 'no significant change';
}

function metricsOf(cells: (CellReport | undefined)[], only?: readonly string[]): MetricName[] {
  const present = new Set(cells.flatMap((c) => (c ? Object.keys(c.summary) : [])));
  const order = (Object.keys(METRICS) as MetricName[]).filter((m) => present.has(m));
  return only ? order.filter((m) => only.includes(m)) : order;
}

function compareCell(id: string, a: CellReport | undefined, b: CellReport | undefined, opts: CompareOptions): CellComparison {
  const key = (b ?? a)!.key;
  const presence = a && b ? 'both' : a ? 'baseline only' : 'current only';
  const metrics = metricsOf([a, b], opts.metrics).map((m) => {
    const r = judge(m, samples(a, m), samples(b, m), opts, a?.summary[m], b?.summary[m]);
    if (presence !== 'both') r.note = presence === 'baseline only' ? 'cell missing from the current run' : 'new cell: not in the baseline';
    return r;
  });
  return { id, key, presence, metrics, verdict: cellVerdict(metrics) };
}

function trendRows(docs: ReportDoc[], opts: CompareOptions): TrendRow[] {
  const ids = [...new Set(docs.flatMap((d) => d.cells.map((c) => c.id)))];
  const rows: TrendRow[] = [];
  for (const id of ids) {
    const cells = docs.map((d) => d.cells.find((c) => c.id === id));
    const base = cells[0];
    for (const metric of metricsOf(cells, opts.metrics)) {
      const judged = cells.map((c, i) =>
        i === 0 || !c || !base ? undefined : judge(metric, samples(base, metric), samples(c, metric), opts, base.summary[metric], c.summary[metric]),
      );
      rows.push({
        cellId: id,
        key: cells.find(Boolean)!.key,
        metric,
        points: cells.map((c) => c?.summary[metric]),
        verdicts: judged.map((j) => j?.verdict),
        deltaPct: judged.map((j, i) => (i === 0 ? (base?.summary[metric] ? 0 : undefined) : j?.deltaPct)),
      });
    }
  }
  return rows;
}

/** Compare `docs[last]` with `docs[0]`; every doc contributes to the trend. */
export function compareRuns(docs: ReportDoc[], opts: CompareOptions): Comparison {
  if (docs.length < 2) throw new Error('compareRuns needs a baseline and a current run');
  const baseline = docs[0];
  const current = docs[docs.length - 1];
  const ids = [...new Set([...baseline.cells.map((c) => c.id), ...current.cells.map((c) => c.id)])];
  const cells = ids.map((id) =>
    compareCell(
      id,
      baseline.cells.find((c) => c.id === id),
      current.cells.find((c) => c.id === id),
      opts,
    ),
  );
  if (opts.correction === 'holm') {
    applyHolm(cells.filter((c) => c.presence === 'both').flatMap((c) => c.metrics), opts);
    for (const c of cells) c.verdict = cellVerdict(c.metrics);
  }
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const c of cells) for (const m of c.metrics) counts[m.verdict]++;
  const regressions = cells.flatMap((c) =>
    c.metrics.filter((m) => m.verdict === 'regressed').map((m) => ({ cell: c.id, metric: m.metric, deltaPct: m.deltaPct!, p: m.pAdjusted ?? m.p! })),
  );
  const ref = (d: ReportDoc): RunRef => ({ runId: d.manifest.runId, dir: d.runDir, createdAt: d.manifest.createdAt });
  return {
    runs: docs.map(ref),
    baseline: ref(baseline),
    current: ref(current),
    options: { thresholdPct: opts.thresholdPct, confidence: opts.confidence, correction: opts.correction ?? 'none', ...(opts.metrics ? { metrics: opts.metrics } : {}) },
    cells,
    counts,
    regressions,
    trend: docs.length > 2 ? trendRows(docs, opts) : [],
  };
}

/** The metrics a reader looks at first for a workload; tables show these unless asked for all. */
export function headlineMetrics(workload: string): MetricName[] {
  const rr = /_(RR|CRR)$/.test(workload);
  return rr
    ? ['transactions_per_s', 'latency_p99_us', 'latency_mean_us', 'host_cpu_total_pct', 'guest_cpu_pct']
    : ['throughput_bps', 'host_cpu_total_pct', 'service_demand_host_us_per_kb', 'guest_cpu_pct'];
}
