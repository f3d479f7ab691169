// CSV re-parsed with csv-parse and checked, value by value, against the JSON document, for
// SYNTHETIC runs and every real run under fixtures/runs/.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { readRun } from '../../../harness/results/rundir.ts';
import { METRICS, type MetricName } from '../../../harness/results/metrics.ts';
import { iterationsCsv, KEY_COLUMNS, metricHeader, summaryCsv, SUMMARY_COLUMNS } from '../../../reports/csv.ts';
import { reportJson } from '../../../reports/json.ts';
import { buildReport, type ReportDoc } from '../../../reports/model.ts';
import { fixtureRuns, tempDir, writeSyntheticRun } from './synthetic.ts';

const tmp = tempDir();
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const runs: [string, string][] = [
  ['synthetic benchmark', writeSyntheticRun(path.join(tmp, 'bench'), { runId: 'synthetic-csv', seed: 11, workloads: ['TCP_STREAM', 'UDP_STREAM', 'TCP_RR'], conformance: true }).dir],
  ['synthetic conformance-only', writeSyntheticRun(path.join(tmp, 'conf'), { runId: 'synthetic-csv-conf', seed: 12, conformanceOnly: true }).dir],
  ...fixtureRuns().map((d): [string, string] => [`fixture ${path.basename(d)}`, d]),
];

type Row = Record<string, string>;
const csvRows = (text: string): Row[] => parse(text, { columns: true, skip_empty_lines: true }) as Row[];

function checkKey(row: Row, doc: ReportDoc, cellId: string): void {
  const cell = doc.cells.find((c) => c.id === cellId);
  assert.ok(cell, `CSV names cell ${cellId}, which the JSON lacks`);
  assert.equal(row.run_id, doc.manifest.runId);
  for (const k of ['backend', 'workload', 'offloads', 'engine'] as const) assert.equal(row[k], cell.key[k]);
  for (const k of ['size', 'streams', 'queues'] as const) assert.equal(Number(row[k]), cell.key[k]);
}

for (const [name, dir] of runs) {
  test(`${name}: results.csv has one row per cell and iteration, every metric equal to the JSON`, () => {
    const doc = JSON.parse(reportJson(buildReport(readRun(dir)))) as ReportDoc;
    const text = iterationsCsv(doc);
    const rows = csvRows(text);
    const header = (parse(text, { to_line: 1 }) as string[][])[0];
    const metricCols = Object.entries(doc.metrics).map(([n, i]) => metricHeader(n, i!));
    assert.deepEqual(header, [...KEY_COLUMNS, 'iteration', 'started_at', 'duration_s', ...metricCols]);
    // Every unit in a header is the catalogue's.
    for (const col of metricCols) {
      const [, m, unit] = /^(\w+) \[(.+)\]$/.exec(col)!;
      assert.equal(unit, METRICS[m as keyof typeof METRICS].unit);
    }
    assert.equal(rows.length, doc.cells.reduce((a, c) => a + c.iterations.length, 0));
    for (const row of rows) {
      checkKey(row, doc, row.cell_id);
      const it = doc.cells.find((c) => c.id === row.cell_id)!.iterations.find((i) => i.iteration === Number(row.iteration));
      assert.ok(it, `${row.cell_id} iteration ${row.iteration} missing from JSON`);
      assert.equal(row.started_at, it.startedAt);
      assert.equal(Number(row.duration_s), it.durationS);
      for (const [m, info] of Object.entries(doc.metrics)) {
        const v: number | undefined = it.metrics[m as MetricName];
        const cell = row[metricHeader(m, info!)];
        if (v === undefined) assert.equal(cell, '');
        else assert.equal(Number(cell), v, `${row.cell_id} #${row.iteration} ${m}`);
      }
    }
  });

  test(`${name}: summary.csv has n, mean, stddev and CI per cell and metric equal to the JSON`, () => {
    const doc = JSON.parse(reportJson(buildReport(readRun(dir)))) as ReportDoc;
    const text = summaryCsv(doc);
    const rows = csvRows(text);
    assert.deepEqual((parse(text, { to_line: 1 }) as string[][])[0], [...SUMMARY_COLUMNS]);
    assert.equal(rows.length, doc.cells.reduce((a, c) => a + Object.keys(c.summary).length, 0));
    for (const row of rows) {
      checkKey(row, doc, row.cell_id);
      const s = doc.cells.find((c) => c.id === row.cell_id)!.summary[row.metric as keyof typeof METRICS];
      assert.ok(s, `${row.cell_id} ${row.metric}`);
      const info = METRICS[row.metric as keyof typeof METRICS];
      assert.equal(row.unit, info.unit);
      assert.equal(row.better, info.better);
      assert.deepEqual(
        [Number(row.n), Number(row.mean), Number(row.stddev), Number(row.ci_low), Number(row.ci_high), Number(row.level)],
        [s.n, s.mean, s.stddev, s.ciLow, s.ciHigh, s.level],
      );
    }
  });
}

test('CSV quotes fields that hold commas, quotes and newlines', () => {
  const dir = writeSyntheticRun(path.join(tmp, 'quote'), { runId: 'synthetic-"quoted", run\nid', seed: 2, backends: ['copy'], workloads: ['TCP_STREAM'], sizes: [64], iterations: 2 }).dir;
  const rows = csvRows(iterationsCsv(buildReport(readRun(dir))));
  assert.equal(rows.length, 2);
  assert.equal(rows[0].run_id, 'synthetic-"quoted", run\nid');
});
