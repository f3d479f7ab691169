// Pure statistics over samples. Distributions come from jstat; the formulas are the textbook
// ones, written out so each field's meaning is plain.
import jstatPkg from 'jstat';
import type { MetricSummary } from '../results/types.ts';

const { jStat } = jstatPkg as unknown as typeof import('jstat');

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n-1). 0 for fewer than two samples. */
export function stddev(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Student-t critical value for a two-sided interval at `level` with `dof` degrees of freedom. */
export function tCritical(level: number, dof: number): number {
  return jStat.studentt.inv(1 - (1 - level) / 2, dof);
}

/** Mean with its two-sided Student-t confidence interval. With one sample the interval is the point. */
export function summarize(xs: readonly number[], level = 0.95): MetricSummary {
  const n = xs.length;
  const m = mean(xs);
  const s = stddev(xs);
  const half = n >= 2 ? tCritical(level, n - 1) * (s / Math.sqrt(n)) : 0;
  return { n, mean: m, stddev: s, ciLow: m - half, ciHigh: m + half, level };
}

/** Half-width of the interval as a percent of the mean (netperf -I's "width"). */
export function ciHalfWidthPct(s: MetricSummary): number {
  if (s.mean === 0) return s.ciHigh === s.ciLow ? 0 : Infinity;
  return (((s.ciHigh - s.ciLow) / 2) / Math.abs(s.mean)) * 100;
}

export interface WelchResult {
  meanA: number;
  meanB: number;
  /** meanB - meanA */
  diff: number;
  /** Confidence interval of meanB - meanA at `level` (Welch-Satterthwaite dof). */
  ciLow: number;
  ciHigh: number;
  t: number;
  dof: number;
  /** Two-sided p-value. */
  p: number;
}

/** Welch's unequal-variance t-test of B against A. Needs at least two samples on each side. */
export function welch(a: readonly number[], b: readonly number[], level = 0.95): WelchResult | undefined {
  if (a.length < 2 || b.length < 2) return undefined;
  const ma = mean(a);
  const mb = mean(b);
  const va = stddev(a) ** 2 / a.length;
  const vb = stddev(b) ** 2 / b.length;
  const se = Math.sqrt(va + vb);
  const diff = mb - ma;
  if (se === 0) {
    // Identical constant samples: no evidence either way unless the means differ exactly.
    const p = diff === 0 ? 1 : 0;
    return { meanA: ma, meanB: mb, diff, ciLow: diff, ciHigh: diff, t: diff === 0 ? 0 : Infinity, dof: a.length + b.length - 2, p };
  }
  const dof = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const t = diff / se;
  const p = 2 * (1 - jStat.studentt.cdf(Math.abs(t), dof));
  const half = tCritical(level, dof) * se;
  return { meanA: ma, meanB: mb, diff, ciLow: diff - half, ciHigh: diff + half, t, dof, p };
}
