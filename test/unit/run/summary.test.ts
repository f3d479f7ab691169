// The terminal summary at the end of `vnetbench run`, over the SYNTHETIC run of the issue
// (test/unit/reports/synthetic.ts) and the real runs under fixtures/runs/: its counts and status
// are the report's, an errored cell shows no numbers, errors print once and short, and 100 %
// loss says so.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readRun } from '../../../harness/results/rundir.ts';
import { countsText } from '../../../harness/results/outcomes.ts';
import { fmtRate, runSummary, summaryTable } from '../../../harness/run/summary.ts';
import { reportHtml } from '../../../reports/html.ts';
import { reportJUnit } from '../../../reports/junit.ts';
import { buildReport } from '../../../reports/model.ts';
import { fixtureRuns, LONG_ERROR, tempDir, writeIssueRun } from '../reports/synthetic.ts';

const tmp = tempDir('vnb-summary-test-');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const issue = writeIssueRun(path.join(tmp, 'issue')).dir;

/** "complete-with-errors: 11 measured, ... of 24 cells" -> [status, counts text]. */
function countsLine(text: string): [string, string] {
  const line = text.split('\n').find((l) => / measured, \d+ errored, /.test(l));
  assert.ok(line, `no counts line in:\n${text}`);
  const [, status, counts] = /^([a-z-]+): (.*)$/.exec(line)!;
  return [status, counts];
}

for (const [name, dir] of [['synthetic issue run', issue], ...fixtureRuns().map((d) => [`fixture ${path.basename(d)}`, d])]) {
  test(`${name}: the terminal's counts and status are the report's (HTML, JSON, JUnit)`, () => {
    const run = readRun(dir);
    const doc = buildReport(run);
    if (!doc.counts.total) return assert.doesNotMatch(runSummary(run), / measured, /);
    const [status, counts] = countsLine(runSummary(run));
    assert.equal(counts, countsText(doc.counts));
    assert.equal(status, doc.status);
    const html = reportHtml(doc);
    assert.ok(html.includes(`Cells: ${counts}.`), 'the HTML states the same counts');
    assert.ok(html.includes(`class="pill ${status}"`), 'the HTML badge has the same status');
    assert.ok(reportJUnit(doc).includes(`<property name="status" value="${status}"/>`));
    // Measured means the same everywhere: every measured cell, and only those, has a JSON entry.
    assert.equal(doc.cells.length, doc.counts.measured);
  });
}

test('synthetic issue run: 11 measured, 7 errored, 6 skipped of 24; status complete-with-errors', () => {
  const [status, counts] = countsLine(runSummary(readRun(issue)));
  assert.equal(status, 'complete-with-errors');
  assert.equal(counts, '11 measured, 7 errored, 6 skipped of 24 cells');
});

test('synthetic issue run: the errored cell shows no numbers, whatever partial iterations it has', () => {
  const text = runSummary(readRun(issue));
  const row = text.split('\n').find((l) => /macvtap\s*│ TCP_STREAM\s*│ 1024 /.test(l));
  assert.ok(row, 'the errored cell has a row');
  assert.match(row, /ERROR/);
  assert.doesNotMatch(row, /bit\/s|\d+ ±/);
});

test('synthetic issue run: each error printed once, as its first line cut to 160 characters', () => {
  const text = runSummary(readRun(issue));
  const lines = text.split('\n').filter((l) => l.startsWith('error '));
  assert.equal(lines.length, 3);
  assert.equal(text.split('unknown output selector').length - 1, 1, 'the long error appears once');
  assert.ok(!text.includes('second line of the netperf output'));
  const long = lines.find((l) => l.includes('unknown output selector'))!;
  assert.ok(long.endsWith('…'));
  assert.ok(long.length < 'error macvtap/TCP_STREAM/1024/offloads-on/s1/q1/netperf: '.length + 161, `${long.length} characters`);
  assert.ok(LONG_ERROR.length > 400);
  // A backend that never booted: one line saying how many cells it stopped, not one per cell.
  assert.match(text, /^error aio-tap: aio-tap device exited before READY: "signal 11" \[6 cells\]$/m);
  assert.match(text, /^error \(retried, recovered\) macvtap\/UDP_STREAM:guest-to-peer\/64\//m);
  assert.match(text, /full error texts: .*results\.jsonl/);
});

test('synthetic issue run: 100 % loss reads as such, not as a measured "0.00 bit/s"', () => {
  const text = runSummary(readRun(issue));
  const row = text.split('\n').find((l) => /copy\s*│ UDP_STREAM peer-to-guest │ 64 /.test(l))!;
  assert.match(row, /0 bit\/s \(100 % loss\)/);
  assert.doesNotMatch(text, /0\.00 bit\/s/);
  assert.equal(fmtRate(0), '0 bit/s');
  assert.equal(fmtRate(2.39e9), '2.39 Gbit/s');
});

test('synthetic issue run: both UDP_STREAM directions are rows', () => {
  const text = summaryTable(readRun(issue).records);
  assert.match(text, /UDP_STREAM guest-to-peer/);
  assert.match(text, /UDP_STREAM peer-to-guest/);
});
