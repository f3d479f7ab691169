// The method scheduler over a scripted measureOnce: which runs happen, when it stops, what it
// records. The samples are inputs chosen to exercise the rules, not measurements.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confidenceState, runMethod, summarizeAll, type MeasureRequest } from '../../../harness/method/scheduler.ts';
import { defaultConfidenceMetrics, methodOptions } from '../../../harness/method/options.ts';
import type { Metrics } from '../../../harness/results/metrics.ts';
import { summarize, ciHalfWidthPct } from '../../../harness/stats/summary.ts';

function scripted(values: number[], extra: (i: number) => Metrics = () => ({})) {
  const calls: MeasureRequest[] = [];
  let i = 0;
  const measureOnce = async (req: MeasureRequest): Promise<Metrics> => {
    calls.push(req);
    if (req.warmup) return { throughput_bps: -1 }; // must never reach the summary
    const v = values[i++];
    if (v === undefined) throw new Error('asked for more iterations than scripted');
    return { throughput_bps: v, ...extra(i) };
  };
  return { calls, measureOnce };
}

test('warm-up first (discarded), then exactly N iterations without a confidence target', async () => {
  const s = scripted([100, 110, 90]);
  const seen: number[] = [];
  const out = await runMethod(s.measureOnce, { warmupS: 2, iterations: 3, confidenceMetrics: ['throughput_bps'] }, (i) => void seen.push(i));
  assert.deepEqual(s.calls[0], { warmup: true, durationS: 2 });
  assert.deepEqual(s.calls.slice(1), [1, 2, 3].map((iteration) => ({ warmup: false, iteration })));
  assert.deepEqual(seen, [1, 2, 3], 'each iteration is reported as it completes');
  assert.equal(out.iterations.length, 3);
  assert.deepEqual(out.summary.throughput_bps, summarize([100, 110, 90], 0.95));
  assert.equal(out.confidence, undefined);
  assert.deepEqual(out.warnings, []);
});

test('no warm-up run when warmupS is 0; one iteration warns that there is no interval', async () => {
  const s = scripted([5]);
  const out = await runMethod(s.measureOnce, { warmupS: 0, iterations: 1, confidenceMetrics: ['throughput_bps'] });
  assert.equal(s.calls.length, 1);
  assert.match(out.warnings[0], /one iteration: no confidence interval/);
});

test('confidence: stops at the first iteration past the minimum whose interval is narrow enough', async () => {
  // Tight values: after 3 iterations the 99 % half-width of [1000, 1001, 999] is ~0.29 %.
  const s = scripted([1000, 1001, 999, 1000, 1000]);
  const out = await runMethod(s.measureOnce, {
    warmupS: 0,
    iterations: 3,
    confidence: { level: 0.99, widthPct: 2.5, maxIterations: 10 },
    confidenceMetrics: ['throughput_bps'],
  });
  assert.equal(out.iterations.length, 3);
  assert.equal(out.confidence!.reached, true);
  assert.equal(out.confidence!.iterations, 3);
  assert.equal(out.confidence!.achievedPct.throughput_bps, ciHalfWidthPct(summarize([1000, 1001, 999], 0.99)));
  assert.equal(out.summary.throughput_bps!.level, 0.99, 'summaries use the confidence level');
  assert.deepEqual(out.warnings, []);
});

test('confidence: keeps going while the interval is wide, records "not reached" at the cap with a warning', async () => {
  const s = scripted([100, 200, 50, 180, 70, 160]);
  const out = await runMethod(s.measureOnce, {
    warmupS: 0,
    iterations: 2,
    confidence: { level: 0.99, widthPct: 5, maxIterations: 6 },
    confidenceMetrics: ['throughput_bps'],
  });
  assert.equal(out.iterations.length, 6);
  assert.equal(out.confidence!.reached, false);
  assert.ok(out.confidence!.achievedPct.throughput_bps! > 5);
  assert.match(out.warnings[0], /confidence not reached: throughput_bps ±\d+\.\d % at 99 % after 6 iterations \(target ±5 %\)/);
});

test('confidence: every confidence metric must be within target (netperf checks throughput and CPU)', async () => {
  // Throughput is tight, CPU is not until iteration 5.
  const cpu = [50, 90, 10, 50, 50, 50];
  const s = scripted([1000, 1000, 1000, 1000, 1000, 1000], (i) => ({ host_cpu_total_pct: cpu[i - 1] }));
  const out = await runMethod(s.measureOnce, {
    warmupS: 0,
    iterations: 2,
    confidence: { level: 0.9, widthPct: 50, maxIterations: 6 },
    confidenceMetrics: ['throughput_bps', 'host_cpu_total_pct', 'guest_cpu_pct'],
  });
  const expectedStop = [2, 3, 4, 5, 6].find((n) => ciHalfWidthPct(summarize(cpu.slice(0, n), 0.9)) <= 50)!;
  assert.equal(out.iterations.length, expectedStop);
  assert.ok(expectedStop > 2, 'the CPU interval held it back');
  assert.equal(out.confidence!.reached, true);
  assert.equal(out.confidence!.achievedPct.guest_cpu_pct, undefined, 'a metric never measured is ignored');
});

test('confidence with one configured iteration still takes two (an interval needs two samples)', async () => {
  const s = scripted([7, 7, 7]);
  const out = await runMethod(s.measureOnce, { warmupS: 0, iterations: 1, confidence: { level: 0.99, widthPct: 1, maxIterations: 5 }, confidenceMetrics: ['throughput_bps'] });
  assert.equal(out.iterations.length, 2);
  assert.equal(out.confidence!.reached, true);
});

test('confidenceState: no samples of any confidence metric is "not reached"', () => {
  assert.deepEqual(confidenceState([{ loss_pct: 1 }], { level: 0.99, widthPct: 5 }, ['throughput_bps']), { reached: false, achievedPct: {} });
  assert.equal(confidenceState([{ throughput_bps: 1 }], { level: 0.99, widthPct: 5 }, ['throughput_bps']).achievedPct.throughput_bps, Infinity);
});

test('summaries cover every metric, each over the iterations that have it', () => {
  const s = summarizeAll([{ throughput_bps: 1, retransmits: 3 }, { throughput_bps: 3 }], 0.95);
  assert.equal(s.throughput_bps!.n, 2);
  assert.equal(s.throughput_bps!.mean, 2);
  assert.equal(s.retransmits!.n, 1);
});

test('a failing measurement propagates (the caller records the error)', async () => {
  const boom = async () => {
    throw new Error('netperf failed (exit 255)');
  };
  await assert.rejects(runMethod(boom, { warmupS: 0, iterations: 3, confidenceMetrics: [] }), /netperf failed/);
});

test('options from the run config', () => {
  assert.deepEqual(defaultConfidenceMetrics('TCP_RR'), ['transactions_per_s', 'host_cpu_total_pct', 'guest_cpu_pct']);
  const o = methodOptions({ warmup: 2, iterations: 3, confidence: { level: 0.99, widthPct: 5, maxIterations: 10 } }, 'TCP_STREAM');
  assert.deepEqual(o, { warmupS: 2, iterations: 3, confidence: { level: 0.99, widthPct: 5, maxIterations: 10 }, confidenceMetrics: ['throughput_bps', 'host_cpu_total_pct', 'guest_cpu_pct'] });
});
