// Chart specs and the side-by-side table over the SYNTHETIC run of the issue and every real run
// under fixtures/runs/: labels are unique, both UDP_STREAM directions are shown, intervals are
// drawn from 0 at the lowest, 100 % loss is said, and an errored cell is nowhere measured.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readRun } from '../../../harness/results/rundir.ts';
import { allCharts, CLAMP_NOTE, reportCharts } from '../../../reports/charts.ts';
import { iterationsCsv, summaryCsv } from '../../../reports/csv.ts';
import { reportHtml } from '../../../reports/html.ts';
import { buildReport } from '../../../reports/model.ts';
import { fixtureRuns, tempDir, writeIssueRun, writeSyntheticRun } from './synthetic.ts';

const tmp = tempDir();
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const issue = writeIssueRun(path.join(tmp, 'issue')).dir;
const ERRORED = 'macvtap/TCP_STREAM/1024/offloads-on/s1/q1/netperf';

const dupes = (xs: readonly string[]) => xs.filter((x, i) => xs.indexOf(x) !== i);

const runs: [string, string][] = [
  ['synthetic issue run', issue],
  ['synthetic all workloads', writeSyntheticRun(path.join(tmp, 'all'), { runId: 'synthetic-labels', seed: 31, backends: ['copy', 'macvtap', 'vhost-user'], workloads: ['TCP_STREAM', 'TCP_MAERTS', 'UDP_STREAM', 'TCP_RR', 'UDP_RR', 'TCP_CRR'] }).dir],
  ...fixtureRuns().map((d): [string, string] => [`fixture ${path.basename(d)}`, d]),
];

for (const [name, dir] of runs) {
  test(`${name}: no two bars, lines, table rows or charts share a label`, () => {
    const doc = buildReport(readRun(dir));
    const specs = allCharts(reportCharts(doc));
    assert.deepEqual(dupes(specs.map((s) => s.id)), [], 'chart ids');
    assert.deepEqual(dupes(specs.map((s) => s.title)), [], 'chart titles');
    for (const s of specs) {
      assert.deepEqual(dupes(s.labels), [], `${s.id}: category labels`);
      assert.deepEqual(dupes(s.datasets.map((d) => d.label)), [], `${s.id}: dataset labels`);
      assert.deepEqual(dupes(s.table.rows.map((r) => r.head)), [], `${s.id}: table rows`);
      assert.equal(s.labels.length, s.datasets[0].data.length, `${s.id}: one value per label`);
    }
    // The side-by-side table: one row head per workload (and direction), one row per size in it.
    const glance = /<section id="glance">[\s\S]*?<\/section>/.exec(reportHtml(doc))?.[0] ?? '';
    const heads = [...glance.matchAll(/<tr(?: class="group-start")?><th scope="row">([^<]+)<\/th>/g)].map((m) => m[1]);
    assert.deepEqual(dupes(heads), [], 'side-by-side workload rows');
    // Every measured cell's rate is in it, in exactly one place.
    const shown = [...glance.matchAll(/data-cell="([^"]+)" data-metric="(throughput_bps|transactions_per_s)"/g)].map((m) => m[1]);
    assert.deepEqual(dupes(shown), []);
    assert.deepEqual([...shown].sort(), doc.cells.filter((c) => c.summary.throughput_bps || c.summary.transactions_per_s).map((c) => c.id).sort());
  });

  test(`${name}: confidence bands and whiskers never go below zero`, () => {
    const doc = buildReport(readRun(dir));
    for (const s of allCharts(reportCharts(doc))) {
      for (const d of s.datasets) for (const ci of d.ci ?? []) if (ci) assert.ok(ci[0] >= 0, `${s.id} ${d.label}: band from ${ci[0]}`);
    }
  });
}

test('synthetic issue run: both UDP_STREAM directions in the throughput charts and the side-by-side table', () => {
  const doc = buildReport(readRun(issue));
  const ch = reportCharts(doc);
  const titles = ch.throughput.map((s) => s.title);
  assert.ok(titles.includes('UDP_STREAM guest→peer: throughput vs message size'), titles.join('; '));
  assert.ok(titles.includes('UDP_STREAM peer→guest: throughput vs message size'), titles.join('; '));
  const html = reportHtml(doc);
  assert.match(html, /<th scope="row">UDP_STREAM guest→peer<\/th>/);
  assert.match(html, /<th scope="row">UDP_STREAM peer→guest<\/th>/);
  assert.ok(html.includes('data-cell="macvtap/UDP_STREAM:peer-to-guest/1024/offloads-on/s1/q1/netperf" data-metric="throughput_bps"'));
  // Bar charts hold both directions side by side, labelled apart.
  const cpu = ch.cpu.find((s) => s.id === 'chart-udp-stream-cpu')!;
  assert.ok(cpu.labels.includes('copy · 64 B · guest→peer') && cpu.labels.includes('copy · 64 B · peer→guest'), cpu.labels.join('; '));
});

test('synthetic issue run: an interval reaching below 0 is drawn from 0 with a note; its table keeps it', () => {
  const doc = buildReport(readRun(issue));
  const wide = 'copy/UDP_STREAM:guest-to-peer/1024/offloads-on/s1/q1/netperf';
  assert.ok(doc.cells.find((c) => c.id === wide)!.summary.throughput_bps!.ciLow < 0, 'the test needs an interval below 0');
  const spec = reportCharts(doc).throughput.find((s) => s.id === 'chart-udp-stream-guest-to-peer-throughput-bps')!;
  assert.ok(spec.note?.includes(CLAMP_NOTE));
  const i = spec.datasets.findIndex((d) => d.label === 'copy');
  assert.equal(spec.datasets[i].ci![1]![0], 0);
  assert.ok(spec.table.rows[i].cells[1]!.ciLow! < 0, 'the table keeps the interval as computed');
});

test('synthetic issue run: 100 % loss is said in the chart and the table, not shown as a plain 0', () => {
  const doc = buildReport(readRun(issue));
  const spec = reportCharts(doc).throughput.find((s) => s.id === 'chart-udp-stream-peer-to-guest-throughput-bps')!;
  assert.match(spec.note ?? '', /100 % loss \(nothing arrived\), drawn as 0: copy · 64 B · peer→guest/);
  const html = reportHtml(doc);
  assert.match(html, /data-cell="copy\/UDP_STREAM:peer-to-guest\/64\/offloads-on\/s1\/q1\/netperf" data-metric="throughput_bps" data-value="0" data-scale="\d+">0 (<span class="ci">[^<]*<\/span> )?<span class="loss total">\(100 % loss\)<\/span>/);
});

test('synthetic issue run: the errored cell is in no chart, table or CSV, and is marked errored side by side', () => {
  const doc = buildReport(readRun(issue));
  for (const s of allCharts(reportCharts(doc))) {
    for (const d of s.datasets) assert.ok(!d.refs.some((r) => r?.cell === ERRORED), `${s.id} plots the errored cell`);
    assert.ok(!s.table.rows.some((r) => r.cells.some((c) => c?.cell === ERRORED)), `${s.id} tabulates the errored cell`);
  }
  assert.ok(!iterationsCsv(doc).includes(ERRORED));
  assert.ok(!summaryCsv(doc).includes(ERRORED));
  const html = reportHtml(doc);
  assert.ok(!html.includes(`data-cell="${ERRORED}"`));
  const glance = /<section id="glance">[\s\S]*?<\/section>/.exec(html)![0];
  assert.equal([...glance.matchAll(/data-outcome="errored"/g)].length, 7 - 6 + 6, 'the errored cell, and the six of the backend that never booted');
  assert.match(html, /class="pill complete-with-errors">complete, with errors</);
  assert.match(html, /Cells: 11 measured, 7 errored, 6 skipped of 24 cells\./);
});
