// The normalized report document, over SYNTHETIC runs (known truth) and every run directory
// committed under fixtures/runs/ (real runs).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readRun } from '../../../harness/results/rundir.ts';
import { cellId } from '../../../harness/results/types.ts';
import { summarize } from '../../../harness/stats/summary.ts';
import { buildReport, requirementOrder, scopeLabel } from '../../../reports/model.ts';
import { fixtureRuns, tempDir, writeIssueRun, writeSyntheticRun } from './synthetic.ts';

const tmp = tempDir();
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('synthetic: every cell, iteration and summary is carried, summaries recomputed from the samples', () => {
  const run = writeSyntheticRun(path.join(tmp, 'a'), { runId: 'synthetic-model', seed: 7, iterations: 4 });
  const doc = buildReport(readRun(run.dir), 0.9);
  assert.equal(doc.cells.length, run.cells.length);
  for (const c of doc.cells) {
    assert.equal(c.iterations.length, 4);
    for (const [m, s] of Object.entries(c.summary)) {
      const xs = c.iterations.map((i) => i.metrics[m as keyof typeof i.metrics]!);
      assert.deepEqual(s, summarize(xs, 0.9), `${c.id} ${m}`);
      // The noise is 2 %: every mean lands near the known truth.
      const t = run.truth.get(c.id)![m as keyof typeof c.summary]!;
      assert.ok(Math.abs(s!.mean - t) <= Math.abs(t) * 0.05, `${c.id} ${m}: ${s!.mean} vs truth ${t}`);
    }
  }
  // Workloads in catalogue order, then backends in order of appearance, then size.
  assert.deepEqual([...new Set(doc.cells.map((c) => c.key.workload))], ['TCP_STREAM', 'TCP_MAERTS', 'TCP_RR']);
  assert.deepEqual(doc.cells.slice(0, 3).map((c) => c.key.size), [64, 1024, 16384]);
  assert.equal(doc.skips.length, 2);
  assert.equal(doc.boots.length, 2);
  assert.equal(doc.commands.length, 2);
  // Only metrics that occur are listed, each with its catalogue entry.
  assert.ok(doc.metrics.throughput_bps && !doc.metrics.retransmits);
  const notReached = doc.cells.filter((c) => c.confidence && !c.confidence.reached).map((c) => c.id);
  assert.deepEqual(notReached, ['macvtap/TCP_RR/64/offloads-on/s1/q1/netperf']);
});

test('synthetic: conformance matrix has natural requirement order and per-DUT counts', () => {
  const run = writeSyntheticRun(path.join(tmp, 'b'), { runId: 'synthetic-conf', seed: 1, conformanceOnly: true });
  const doc = buildReport(readRun(run.dir));
  assert.equal(doc.cells.length, 0);
  assert.deepEqual(doc.conformance.duts, ['testpmd (vhost-user)', 'vhost-net (kernel)']);
  assert.deepEqual(doc.conformance.requirements.map((r) => r.id), ['F1', 'F2', 'S1', 'S6', 'S7', 'S10', 'N2', 'P1', 'H4']);
  assert.deepEqual(doc.conformance.counts['testpmd (vhost-user)'], { pass: 6, fail: 1, warn: 1, skip: 1 });
  assert.deepEqual(doc.conformance.counts['vhost-net (kernel)'], { pass: 0, fail: 0, warn: 0, skip: 9 });
});

test('requirement order: catalogue groups, then numbers', () => {
  const ids = ['M1', 'H10', 'H2', 'S10', 'F1', 'S9', 'N1', 'O2', 'P7', 'I3'];
  assert.deepEqual([...ids].sort(requirementOrder), ['F1', 'S9', 'S10', 'I3', 'N1', 'P7', 'O2', 'H2', 'H10', 'M1']);
});

test('synthetic: an error after a cell was measured leaves it measured; a torn last line (crash) is ignored', () => {
  const run = writeSyntheticRun(path.join(tmp, 'c'), { runId: 'synthetic-err', seed: 3, workloads: ['TCP_STREAM'], sizes: [1024] });
  fs.appendFileSync(
    path.join(run.dir, 'results.jsonl'),
    JSON.stringify({ type: 'error', backend: 'macvtap', workload: 'TCP_STREAM', message: 'netperf exited 1: connection refused' }) + '\n{"type":"iter',
  );
  const doc = buildReport(readRun(run.dir));
  assert.equal(doc.cells.length, 2);
  assert.deepEqual(doc.cells.map((c) => c.recovered), [[], []]);
  // It stopped no cell: still an error of the run, which is therefore not plainly "complete".
  assert.deepEqual(doc.errors.map((e) => e.effect), ['unattributed']);
  assert.equal(doc.status, 'complete-with-errors');
  assert.equal(doc.manifest.status, 'complete');
});

test('synthetic (the issue\'s run): an errored cell with partial iterations is nowhere measured; a retried one is', () => {
  writeIssueRun(path.join(tmp, 'issue'));
  const doc = buildReport(readRun(path.join(tmp, 'issue')));
  const errored = 'macvtap/TCP_STREAM/1024/offloads-on/s1/q1/netperf';
  const retried = 'macvtap/UDP_STREAM:guest-to-peer/64/offloads-on/s1/q1/netperf';
  assert.ok(!doc.cells.some((c) => c.id === errored), 'the errored cell is not among the measured cells');
  const o = doc.outcomes.find((c) => c.id === errored)!;
  assert.equal(o.outcome, 'errored');
  assert.equal(o.iterations, 2);
  assert.match(o.errors[0], /^netperf exited 1: unknown output selector/);
  // The planned cells of a backend that never booted are errored; a skipped backend's are skipped.
  assert.deepEqual(doc.counts, { total: 24, measured: 11, errored: 7, skipped: 6, unfinished: 0 });
  assert.equal(doc.outcomes.filter((c) => c.key.backend === 'aio-tap' && c.outcome === 'errored').length, 6);
  assert.equal(doc.outcomes.filter((c) => c.key.backend === 'vhost' && c.outcome === 'skipped').length, 6);
  // The retry's iterations only, and the first attempt's error as a note, not a failure.
  const r = doc.cells.find((c) => c.id === retried)!;
  assert.deepEqual(r.recovered, ['guest stalled: no virtio-net interrupt for 30 s']);
  assert.equal(r.iterations.length, 3);
  assert.deepEqual(doc.errors.map((e) => e.effect), ['errored', 'recovered', 'errored']);
  assert.equal(doc.status, 'complete-with-errors');
  // Both UDP_STREAM directions are measured cells.
  assert.deepEqual(
    [...new Set(doc.cells.filter((c) => c.key.workload === 'UDP_STREAM').map((c) => c.key.direction))],
    ['guest-to-peer', 'peer-to-guest'],
  );
});

test('synthetic: a resumed run that repeats an iteration keeps the later record', () => {
  const run = writeSyntheticRun(path.join(tmp, 'd'), { runId: 'synthetic-resume', seed: 4, backends: ['copy'], workloads: ['TCP_STREAM'], sizes: [64], iterations: 3 });
  const lines = fs.readFileSync(path.join(run.dir, 'results.jsonl'), 'utf8').trim().split('\n');
  const it = JSON.parse(lines.find((l) => l.includes('"iteration"'))!);
  it.metrics.throughput_bps = 123456;
  fs.appendFileSync(path.join(run.dir, 'results.jsonl'), JSON.stringify(it) + '\n');
  const doc = buildReport(readRun(run.dir));
  const cell = doc.cells[0];
  assert.equal(cell.iterations.length, 3);
  assert.equal(cell.iterations.find((i) => i.iteration === it.iteration)!.metrics.throughput_bps, 123456);
});

for (const dir of fixtureRuns()) {
  test(`fixture ${path.basename(dir)}: every iteration and conformance record is in the document`, () => {
    const run = readRun(dir);
    const doc = buildReport(run);
    // One entry per (cell, iteration): a resumed run's repeated iteration counts once.
    const unique = new Set(run.records.flatMap((r) => (r.type === 'iteration' ? [`${cellId(r.cell)}#${r.iteration}`] : [])));
    assert.equal(doc.cells.reduce((a, c) => a + c.iterations.length, 0), unique.size);
    for (const c of doc.cells) for (const s of Object.values(c.summary)) assert.ok(s!.n >= 1 && s!.ciLow <= s!.mean && s!.mean <= s!.ciHigh);
    assert.equal(doc.conformance.results.length, run.records.filter((r) => r.type === 'conformance').length);
    assert.equal(doc.manifest.runId, run.manifest.runId);
  });
}

test('synthetic: an error naming a whole cell id (as older runs wrote it) concerns that cell only', () => {
  const run = writeSyntheticRun(path.join(tmp, 'e'), { runId: 'synthetic-cellid', seed: 5, workloads: ['TCP_STREAM'], sizes: [64, 1024] });
  const target = 'copy/TCP_STREAM/1024/offloads-on/s1/q1/netperf';
  fs.appendFileSync(path.join(run.dir, 'results.jsonl'), JSON.stringify({ type: 'error', backend: 'copy', workload: target, message: 'netserver died' }) + '\n');
  const doc = buildReport(readRun(run.dir));
  // The cell has its summary: it was measured, and the error is a note on it alone.
  assert.deepEqual(
    doc.cells.filter((c) => c.recovered.length).map((c) => c.id),
    [target],
  );
  assert.equal(doc.cells.length, 4);
  assert.equal(scopeLabel(doc.errors[0]), target);
  assert.equal(scopeLabel({ backend: 'vhost' }), 'vhost/*');
});
