// Shared pieces for the engines' output parsers. A parser that cannot find what it needs throws
// WorkloadParseError quoting the text it was given, so a tool's surprise output (an error banner,
// a changed format, a truncated run) is visible in the run's error record instead of a NaN.
import type { Metrics } from '../results/metrics.ts';

const MAX_QUOTE = 600;

/** The offending text, trimmed to something a terminal can show (head and tail kept). */
export function quote(text: string): string {
  const t = text.trim();
  if (t.length === 0) return '(empty output)';
  if (t.length <= MAX_QUOTE) return t;
  return `${t.slice(0, MAX_QUOTE / 2)}\n  [... ${t.length - MAX_QUOTE} characters ...]\n${t.slice(-MAX_QUOTE / 2)}`;
}

export class WorkloadParseError extends Error {
  override readonly name = 'WorkloadParseError';
  constructor(readonly engine: string, readonly problem: string, readonly text: string) {
    super(`${engine}: ${problem}; output was:\n${quote(text)}`);
  }
}

/** A finite, non-negative number parsed from `raw`, or a WorkloadParseError naming `what`. */
export function toNumber(engine: string, what: string, raw: string | undefined, text: string): number {
  if (raw === undefined) throw new WorkloadParseError(engine, `missing ${what}`, text);
  const v = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(v)) {
    throw new WorkloadParseError(engine, `${what} is not a number: "${raw}"`, text);
  }
  if (v < 0) throw new WorkloadParseError(engine, `${what} is negative: "${raw}"`, text);
  return v;
}

const SUMMED = ['throughput_bps', 'transactions_per_s', 'retransmits', 'packets_per_s'] as const;
const PERCENTILES = ['latency_p50_us', 'latency_p90_us', 'latency_p99_us'] as const;

/**
 * Combine concurrent clients: rates and counts add; the mean latency is weighted by each client's
 * transactions (exact: total time / total transactions); a percentile of the union is at most the
 * largest per-client percentile, so the maximum is reported (an upper bound, exact for one client);
 * loss is weighted by each client's sent volume (received / (1 - loss)), exact for equal datagrams.
 */
export function combineMetrics(perClient: readonly Metrics[]): Metrics {
  if (perClient.length === 0) throw new Error('combineMetrics: no client results');
  if (perClient.length === 1) return { ...perClient[0] };
  const out: Metrics = {};
  for (const k of SUMMED) {
    if (perClient.some((m) => m[k] !== undefined)) out[k] = perClient.reduce((a, m) => a + (m[k] ?? 0), 0);
  }
  const withMean = perClient.filter((m) => m.latency_mean_us !== undefined);
  if (withMean.length) {
    const w = withMean.reduce((a, m) => a + (m.transactions_per_s ?? 1), 0);
    out.latency_mean_us = withMean.reduce((a, m) => a + m.latency_mean_us! * (m.transactions_per_s ?? 1), 0) / w;
  }
  for (const k of PERCENTILES) {
    const vs = perClient.flatMap((m) => (m[k] === undefined ? [] : [m[k]!]));
    if (vs.length) out[k] = Math.max(...vs);
  }
  const withLoss = perClient.filter((m) => m.loss_pct !== undefined);
  if (withLoss.length) {
    // Sent volume of client i is received / (1 - loss): weight each loss by what was sent.
    const sent = withLoss.map((m) => (m.loss_pct! >= 100 ? NaN : (m.throughput_bps ?? 0) / (1 - m.loss_pct! / 100)));
    const total = sent.reduce((a, s) => a + s, 0);
    out.loss_pct =
      Number.isFinite(total) && total > 0
        ? withLoss.reduce((a, m, i) => a + m.loss_pct! * sent[i], 0) / total
        : withLoss.reduce((a, m) => a + m.loss_pct!, 0) / withLoss.length;
  }
  return out;
}
