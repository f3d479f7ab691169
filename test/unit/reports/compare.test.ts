// compare on SYNTHETIC runs with known truth (seeded noise, so every outcome is reproducible):
// a 10 % throughput drop is flagged, same-distribution noise is not, a CPU increase is a
// regression, an improvement is not, too few samples are "insufficient data".
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readRun } from '../../../harness/results/rundir.ts';
import { compareRuns, judge, type CompareOptions, type Comparison } from '../../../reports/compare.ts';
import { compareTable, trendTable } from '../../../reports/compare-table.ts';
import { buildReport } from '../../../reports/model.ts';
import { prng } from '../../../harness/core/prng.ts';
import { gaussian, tempDir, writeSyntheticRun, type SyntheticSpec } from './synthetic.ts';

const tmp = tempDir();
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

function compare(specs: SyntheticSpec[], opts: CompareOptions = { thresholdPct: 5, confidence: 0.95 }): Comparison {
  const docs = specs.map((s) => buildReport(readRun(writeSyntheticRun(path.join(tmp, `r${n++}`), s).dir), opts.confidence));
  return compareRuns(docs, opts);
}

const regressedCells = (c: Comparison) => [...new Set(c.regressions.map((r) => r.cell))].sort();

test('a clear 10 % throughput regression is flagged, on exactly the cells that regressed', () => {
  const cmp = compare([
    { runId: 'synthetic-base', seed: 101 },
    { runId: 'synthetic-cur', seed: 202, change: (k) => (k.backend === 'copy' && k.workload === 'TCP_STREAM' ? { throughput_bps: 0.9 } : {}) },
  ]);
  assert.deepEqual(regressedCells(cmp), [
    'copy/TCP_STREAM/1024/offloads-on/s1/q1/netperf',
    'copy/TCP_STREAM/16384/offloads-on/s1/q1/netperf',
    'copy/TCP_STREAM/64/offloads-on/s1/q1/netperf',
  ]);
  for (const r of cmp.regressions) {
    assert.equal(r.metric, 'throughput_bps');
    assert.ok(r.deltaPct < -5 && r.deltaPct > -15, `Δ ${r.deltaPct}`);
    assert.ok(r.p < 0.05);
  }
  const m = cmp.cells.find((c) => c.id.startsWith('copy/TCP_STREAM/16384'))!.metrics.find((x) => x.metric === 'throughput_bps')!;
  // The interval of the difference brackets the true -10 % and excludes 0.
  assert.ok(m.diffCiPct![0] < -10 && m.diffCiPct![1] > -10 && m.diffCiPct![1] < 0, `CI ${m.diffCiPct}`);
  assert.equal(cmp.cells.find((c) => c.id.startsWith('copy/TCP_STREAM/16384'))!.verdict, 'regressed');
});

test('same-distribution noise (2 %, 5 iterations) is not flagged over 20 seeded pairs; the t-test is calibrated', () => {
  let significant = 0;
  let tests = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const cmp = compare([
      { runId: `synthetic-noise-a${seed}`, seed: seed * 1000 + 1, noise: 0.02 },
      { runId: `synthetic-noise-b${seed}`, seed: seed * 1000 + 2, noise: 0.02 },
    ]);
    assert.deepEqual(cmp.regressions, [], `seed ${seed}`);
    assert.equal(cmp.counts.improved, 0, `seed ${seed}`);
    for (const c of cmp.cells) for (const m of c.metrics) {
      tests++;
      if (m.p! < 0.05) significant++;
    }
  }
  // With no true difference about 5 % of tests come out significant at the 95 % level; the
  // threshold is what keeps them from gating. A rate far from 5 % would mean a broken test.
  const rate = significant / tests;
  assert.ok(rate > 0.03 && rate < 0.07, `false-significance rate ${rate} over ${tests} tests`);
});

test('noisier runs (3 %): per-test p lets some chance changes through; Holm correction stops them', () => {
  let plain = 0;
  let holm = 0;
  let caught = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const a: SyntheticSpec = { runId: `synthetic-noisy-a${seed}`, seed: seed * 7919 + 1, noise: 0.03 };
    const b: SyntheticSpec = { runId: `synthetic-noisy-b${seed}`, seed: seed * 7919 + 2, noise: 0.03 };
    plain += compare([a, b]).regressions.length;
    holm += compare([a, b], { thresholdPct: 5, confidence: 0.95, correction: 'holm' }).regressions.length;
    const worse: SyntheticSpec = { ...b, change: (k) => (k.workload === 'TCP_STREAM' ? { throughput_bps: 0.8 } : {}) };
    caught += compare([a, worse], { thresholdPct: 5, confidence: 0.95, correction: 'holm' }).regressions.filter((r) => r.metric === 'throughput_bps').length;
  }
  // What the README warns about: 252 tests a comparison, 3 % noise, 5 iterations.
  assert.ok(plain > 0, 'expected chance regressions without correction');
  assert.equal(holm, 0);
  // Holm still catches most 20 % drops (it trades power for no false alarms: 57 of 60 here).
  assert.ok(caught >= 0.9 * 60, `Holm caught ${caught} of 60 20 % drops`);
});

test('a host CPU increase counts as a regression (lower is better)', () => {
  const cpu = { host_cpu_total_pct: 1.15, cpu_vcpu_pct: 1.15, qemu_process_pct: 1.15 };
  const cmp = compare([
    { runId: 'synthetic-cpu-base', seed: 31, workloads: ['TCP_STREAM', 'TCP_RR'] },
    { runId: 'synthetic-cpu-cur', seed: 32, workloads: ['TCP_STREAM', 'TCP_RR'], change: (k) => (k.backend === 'macvtap' ? cpu : {}) },
  ]);
  const metrics = new Set(cmp.regressions.map((r) => r.metric));
  assert.deepEqual([...metrics].sort(), ['cpu_vcpu_pct', 'host_cpu_total_pct', 'qemu_process_pct']);
  assert.ok(cmp.regressions.every((r) => r.cell.startsWith('macvtap/') && r.deltaPct > 5));
  assert.equal(cmp.regressions.filter((r) => r.metric === 'host_cpu_total_pct').length, 6);
  // Throughput did not change: not flagged either way.
  assert.ok(cmp.cells.every((c) => c.metrics.filter((m) => m.metric === 'throughput_bps').every((m) => m.verdict === 'no significant change')));
});

test('a 10 % throughput gain and a latency drop are improvements, not regressions', () => {
  const cmp = compare([
    { runId: 'synthetic-imp-base', seed: 41, workloads: ['TCP_STREAM', 'TCP_RR'] },
    { runId: 'synthetic-imp-cur', seed: 42, workloads: ['TCP_STREAM', 'TCP_RR'], change: () => ({ throughput_bps: 1.1, latency_p99_us: 0.8 }) },
  ]);
  assert.deepEqual(cmp.regressions, []);
  const improved = cmp.cells.flatMap((c) => c.metrics.filter((m) => m.verdict === 'improved').map((m) => m.metric));
  assert.equal(improved.filter((m) => m === 'throughput_bps').length, 6);
  assert.equal(improved.filter((m) => m === 'latency_p99_us').length, 6);
});

test('a change within the threshold is significant but not a regression', () => {
  const cmp = compare([
    { runId: 'synthetic-small-base', seed: 51, noise: 0.005, iterations: 8, workloads: ['TCP_STREAM'] },
    { runId: 'synthetic-small-cur', seed: 52, noise: 0.005, iterations: 8, workloads: ['TCP_STREAM'], change: () => ({ throughput_bps: 0.97 }) },
  ]);
  assert.deepEqual(cmp.regressions, []);
  const tp = cmp.cells.flatMap((c) => c.metrics.filter((m) => m.metric === 'throughput_bps'));
  assert.ok(tp.every((m) => m.p! < 0.05 && m.verdict === 'no significant change' && /within the 5 % threshold/.test(m.note)));
  // The same data with a 2 % threshold gates.
  const strict = compare(
    [
      { runId: 'synthetic-small-base', seed: 51, noise: 0.005, iterations: 8, workloads: ['TCP_STREAM'] },
      { runId: 'synthetic-small-cur', seed: 52, noise: 0.005, iterations: 8, workloads: ['TCP_STREAM'], change: () => ({ throughput_bps: 0.97 }) },
    ],
    { thresholdPct: 2, confidence: 0.95 },
  );
  assert.equal(strict.regressions.filter((r) => r.metric === 'throughput_bps').length, 6);
});

test('one iteration per side is insufficient data, never a pass or a regression', () => {
  const cmp = compare([
    { runId: 'synthetic-one-a', seed: 61, iterations: 1, workloads: ['TCP_STREAM'] },
    { runId: 'synthetic-one-b', seed: 62, iterations: 1, workloads: ['TCP_STREAM'], change: () => ({ throughput_bps: 0.5 }) },
  ]);
  assert.deepEqual(cmp.regressions, []);
  assert.ok(cmp.cells.every((c) => c.verdict === 'insufficient data'));
  const m = cmp.cells[0].metrics.find((x) => x.metric === 'throughput_bps')!;
  assert.ok(m.deltaPct! < -40, 'the delta is still reported');
  assert.match(m.note, /at least 2 samples/);
});

test('a backend missing from the current run shows as "baseline only"', () => {
  const cmp = compare([
    { runId: 'synthetic-miss-a', seed: 71, workloads: ['TCP_STREAM'] },
    { runId: 'synthetic-miss-b', seed: 72, workloads: ['TCP_STREAM'], omitBackends: ['macvtap'] },
  ]);
  const missing = cmp.cells.filter((c) => c.presence === 'baseline only');
  assert.equal(missing.length, 3);
  assert.ok(missing.every((c) => c.verdict === 'insufficient data' && c.metrics.every((m) => m.note === 'cell missing from the current run')));
});

test('several runs give a trend: every run judged against the first', () => {
  const specs: SyntheticSpec[] = [0, 1, 2, 3].map((i) => ({
    runId: `synthetic-trend-${i}`,
    seed: 80 + i,
    workloads: ['TCP_STREAM'],
    backends: ['copy'],
    change: () => ({ throughput_bps: 1 - 0.04 * i }),
  }));
  const cmp = compare(specs);
  assert.deepEqual(cmp.runs.map((r) => r.runId), specs.map((s) => s.runId));
  assert.equal(cmp.current.runId, 'synthetic-trend-3');
  const row = cmp.trend.find((r) => r.metric === 'throughput_bps' && r.key.size === 16384)!;
  assert.equal(row.points.length, 4);
  assert.deepEqual(row.verdicts.map((v) => v ?? 'baseline'), ['baseline', 'no significant change', 'regressed', 'regressed']);
  // Means fall by about 4 % a run.
  for (let i = 1; i < 4; i++) assert.ok(Math.abs(row.deltaPct[i]! + 4 * i) < 3, `run ${i}: ${row.deltaPct[i]}`);
  // The gate compares the last run with the first (a slow creep is caught).
  assert.equal(cmp.regressions.filter((r) => r.metric === 'throughput_bps').length, 3);
  const text = trendTable(cmp, { color: false, all: false });
  for (const s of specs) assert.ok(text.includes(s.runId));
});

test('judge: direction comes from the metric catalogue', () => {
  const g = gaussian(prng(9));
  const a = Array.from({ length: 6 }, () => 100 + g());
  const up = a.map((x) => x * 1.2);
  const opts = { thresholdPct: 5, confidence: 0.95 };
  assert.equal(judge('throughput_bps', a, up, opts).verdict, 'improved');
  assert.equal(judge('latency_p99_us', a, up, opts).verdict, 'regressed');
  assert.equal(judge('service_demand_host_us_per_kb', a, up, opts).verdict, 'regressed');
  assert.equal(judge('transactions_per_s', up, a, opts).verdict, 'regressed');
  // A baseline of zero (no retransmits) against some: an infinite relative change, still judged by p.
  const r = judge('retransmits', [0, 0, 0], [5, 6, 7], opts);
  assert.equal(r.deltaPct, Infinity);
  assert.equal(r.verdict, 'regressed');
});

test('terminal table: headline metrics by default, colour only when asked', () => {
  const cmp = compare([
    { runId: 'synthetic-tt-a', seed: 91, workloads: ['TCP_STREAM'], backends: ['copy'], sizes: [1024] },
    { runId: 'synthetic-tt-b', seed: 92, workloads: ['TCP_STREAM'], backends: ['copy'], sizes: [1024], change: () => ({ throughput_bps: 0.8 }) },
  ]);
  const plain = compareTable(cmp, { color: false, all: false });
  assert.doesNotMatch(plain, /\x1b\[/);
  assert.match(plain, /Throughput .*regressed/);
  assert.doesNotMatch(plain, /Harness CPU/);
  assert.match(compareTable(cmp, { color: false, all: true }), /Harness CPU/);
  assert.match(compareTable(cmp, { color: true, all: false }), /\x1b\[31mregressed/);
});
