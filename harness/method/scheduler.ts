// The measurement method for one cell, as a pure scheduler over an async `measureOnce`:
// an optional warm-up run (discarded), then N iterations, then, when a confidence target is set,
// more iterations until every confidence metric's interval is narrow enough or the cap is hit.
//
// Confidence follows netperf -I/-i: after each iteration past the minimum, the Student-t interval
// of the mean at `level` is computed for each confidence metric (netperf: throughput and CPU);
// the target is met when every half-width is within ±widthPct % of its mean. NOTE the width:
// netperf -I 99,5 means a total width of 5 %, i.e. ±2.5 %; config.confidence.widthPct is the
// half-width, so netperf -I L,W is { level: L/100, widthPct: W/2 }.
import type { MetricName, Metrics } from '../results/metrics.ts';
import type { MetricSummary } from '../results/types.ts';
import { ciHalfWidthPct, summarize } from '../stats/summary.ts';

export interface ConfidenceTarget {
  level: number;
  widthPct: number;
  maxIterations: number;
}

export interface MethodOptions {
  /** Seconds of a discarded warm-up run before the first iteration; 0 for none. */
  warmupS: number;
  /** Iterations always run (the minimum when a confidence target is set). */
  iterations: number;
  confidence?: ConfidenceTarget;
  /** Metrics the confidence target applies to; ones absent from the samples are ignored. */
  confidenceMetrics: readonly MetricName[];
  /** Interval level for the summaries when no confidence target is set (default 0.95). */
  level?: number;
}

export type MeasureRequest = { warmup: true; durationS: number } | { warmup: false; iteration: number };

export type MeasureOnce = (req: MeasureRequest) => Promise<Metrics>;

export interface CellConfidence {
  level: number;
  widthPct: number;
  reached: boolean;
  iterations: number;
  /** Achieved half-width per confidence metric, percent of its mean. */
  achievedPct: Partial<Record<MetricName, number>>;
}

export interface CellOutcome {
  iterations: Metrics[];
  summary: Partial<Record<MetricName, MetricSummary>>;
  confidence?: CellConfidence;
  warnings: string[];
}

/** Summaries of every metric seen, each over the iterations that have it. */
export function summarizeAll(samples: readonly Metrics[], level: number): Partial<Record<MetricName, MetricSummary>> {
  const names = new Set(samples.flatMap((m) => Object.keys(m) as MetricName[]));
  const out: Partial<Record<MetricName, MetricSummary>> = {};
  for (const name of names) {
    const xs = samples.flatMap((m) => (m[name] === undefined ? [] : [m[name]!]));
    if (xs.length) out[name] = summarize(xs, level);
  }
  return out;
}

/** Half-width per confidence metric and whether all are within target. */
export function confidenceState(
  samples: readonly Metrics[],
  target: Pick<ConfidenceTarget, 'level' | 'widthPct'>,
  metrics: readonly MetricName[],
): { reached: boolean; achievedPct: Partial<Record<MetricName, number>> } {
  const achievedPct: Partial<Record<MetricName, number>> = {};
  let any = false;
  let reached = true;
  for (const name of metrics) {
    const xs = samples.flatMap((m) => (m[name] === undefined ? [] : [m[name]!]));
    if (xs.length === 0) continue;
    any = true;
    // One sample says nothing about spread: never "reached".
    const w = xs.length < 2 ? Infinity : ciHalfWidthPct(summarize(xs, target.level));
    achievedPct[name] = w;
    if (!(w <= target.widthPct)) reached = false;
  }
  return { reached: any && reached, achievedPct };
}

const fmtPct = (x: number) => (Number.isFinite(x) ? `±${x.toFixed(1)} %` : 'unbounded');

export async function runMethod(
  measureOnce: MeasureOnce,
  opts: MethodOptions,
  onIteration?: (iteration: number, metrics: Metrics) => void | Promise<void>,
): Promise<CellOutcome> {
  if (!(opts.iterations >= 1)) throw new Error(`iterations must be at least 1 (got ${opts.iterations})`);
  if (opts.warmupS > 0) await measureOnce({ warmup: true, durationS: opts.warmupS });
  const target = opts.confidence;
  // An interval needs two samples; netperf's own minimum with -I is 3 (-i max,min).
  const min = target ? Math.max(opts.iterations, 2) : opts.iterations;
  const max = target ? Math.max(min, target.maxIterations) : min;
  const samples: Metrics[] = [];
  let state: ReturnType<typeof confidenceState> | undefined;
  for (let i = 1; i <= max; i++) {
    const m = await measureOnce({ warmup: false, iteration: i });
    samples.push(m);
    await onIteration?.(i, m);
    if (target && i >= min) {
      state = confidenceState(samples, target, opts.confidenceMetrics);
      if (state.reached) break;
    }
  }
  const level = target?.level ?? opts.level ?? 0.95;
  const warnings: string[] = [];
  let confidence: CellConfidence | undefined;
  if (target) {
    state ??= confidenceState(samples, target, opts.confidenceMetrics);
    confidence = { level: target.level, widthPct: target.widthPct, reached: state.reached, iterations: samples.length, achievedPct: state.achievedPct };
    if (!state.reached) {
      const got = Object.entries(state.achievedPct).map(([k, w]) => `${k} ${fmtPct(w)}`).join(', ') || 'no confidence metric measured';
      warnings.push(
        `confidence not reached: ${got} at ${(target.level * 100).toFixed(0)} % after ${samples.length} iterations (target ±${target.widthPct} %)`,
      );
    }
  } else if (samples.length < 2) {
    warnings.push('one iteration: no confidence interval (use --iterations 2 or more)');
  }
  return { iterations: samples, summary: summarizeAll(samples, level), confidence, warnings };
}
