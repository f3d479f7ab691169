// JUnit XML validated with xmllint (libxml2-utils) against fixtures/junit/junit.xsd, and its
// content checked with XPath, for SYNTHETIC runs and every real run under fixtures/runs/.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { exec } from '../../../harness/core/exec.ts';
import { readRun } from '../../../harness/results/rundir.ts';
import { compareRuns } from '../../../reports/compare.ts';
import { compareJUnit, reportJUnit } from '../../../reports/junit.ts';
import { buildReport } from '../../../reports/model.ts';
import { fixtureRuns, tempDir, writeIssueRun, writeSyntheticRun } from './synthetic.ts';

const XSD = path.resolve(import.meta.dirname, '..', '..', '..', 'fixtures', 'junit', 'junit.xsd');
const tmp = tempDir();
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function xmllint(args: string[]) {
  const r = await exec(['xmllint', ...args], { nothrow: true });
  if (r.code === 127 || /not found/.test(r.stderr)) assert.fail('xmllint is missing: apt-get install libxml2-utils (vnetbench setup --tests installs it)');
  return r;
}

async function validate(xml: string, name: string): Promise<string> {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, xml);
  const r = await xmllint(['--noout', '--schema', XSD, file]);
  assert.equal(r.code, 0, `${name} does not validate against junit.xsd:\n${r.stderr}`);
  assert.match(r.stderr, /validates/);
  return file;
}

async function count(file: string, xpath: string): Promise<number> {
  const r = await xmllint(['--xpath', `count(${xpath})`, file]);
  assert.equal(r.code, 0, r.stderr);
  return Number(r.stdout.trim());
}

const bench = writeSyntheticRun(path.join(tmp, 'bench'), { runId: 'synthetic-junit', seed: 5, workloads: ['TCP_STREAM', 'TCP_RR'], conformance: true });
fs.appendFileSync(
  path.join(bench.dir, 'results.jsonl'),
  [
    { type: 'error', backend: 'macvtap', workload: 'TCP_RR', message: 'netperf: receive_response: no response received\x07 <errno 110>' },
    { type: 'error', backend: 'aio-tap', message: 'aio-tap device exited before READY: "signal 11"' },
  ]
    .map((r) => JSON.stringify(r))
    .join('\n') + '\n',
);
const issue = writeIssueRun(path.join(tmp, 'issue')).dir;
const runs: [string, string][] = [
  ['synthetic benchmark+conformance', bench.dir],
  ['synthetic issue run', issue],
  ['synthetic conformance-only', writeSyntheticRun(path.join(tmp, 'conf'), { runId: 'synthetic-junit-conf', seed: 6, conformanceOnly: true }).dir],
  ...fixtureRuns().map((d): [string, string] => [`fixture ${path.basename(d)}`, d]),
];

for (const [name, dir] of runs) {
  test(`${name}: report JUnit validates and has a testcase per cell, skip, stray error and requirement`, async () => {
    const doc = buildReport(readRun(dir));
    const file = await validate(reportJUnit(doc), `${path.basename(dir)}.xml`);
    const stray = doc.errors.filter((e) => e.effect === 'unattributed');
    const conf = doc.conformance.results;
    const n = (o: string) => doc.outcomes.filter((c) => c.outcome === o).length;
    assert.equal(await count(file, '//testcase'), doc.cells.length + n('errored') + n('unfinished') + doc.skips.length + stray.length + conf.length);
    assert.equal(await count(file, '//testcase/failure'), n('errored') + stray.length + conf.filter((r) => r.outcome === 'fail').length);
    assert.equal(await count(file, '//testcase/skipped'), n('unfinished') + doc.skips.length + conf.filter((r) => r.outcome === 'skip').length);
    // A warn passes (no failure, no skipped) and says so in system-out.
    assert.equal(await count(file, '//testcase[not(failure) and not(skipped) and starts-with(system-out, "WARN")]'), conf.filter((r) => r.outcome === 'warn').length);
    // The totals on <testsuites> add up.
    assert.equal(await count(file, '/testsuites[@failures = count(//failure) and @skipped = count(//skipped) and @tests = count(//testcase)]'), 1);
  });
}

test('synthetic: errors that stopped no measured cell are their own failed testcases', async () => {
  const file = await validate(reportJUnit(buildReport(readRun(bench.dir))), 'errors.xml');
  // The macvtap TCP_RR cells have summaries: measured, and the later error fails a testcase of its own.
  assert.equal(await count(file, '//testcase[starts-with(@name, "macvtap/TCP_RR/")]/failure'), 0);
  assert.equal(await count(file, '//testcase[@name="macvtap/TCP_RR"]/failure[@type="error"]'), 1);
  assert.equal(await count(file, '//testcase[@name="aio-tap/*"]/failure[contains(@message, "signal 11")]'), 1);
  // The BEL control character is not legal XML 1.0: replaced, and the file still validates.
  assert.doesNotMatch(fs.readFileSync(file, 'utf8'), /\x07/);
  // Conformance: the failing requirement carries its level as type and the evidence as text.
  assert.equal(await count(file, '//testcase[starts-with(@name, "S6 ")]/failure[@type="MUST" and contains(., "observed id 3 twice")]'), 1);
  assert.equal(await count(file, '//testcase[starts-with(@name, "P1 ")]/skipped[contains(@message, "RING_PACKED")]'), 1);
});

test('synthetic (the issue\'s run): an errored cell fails even with partial iterations; a retried one passes with a note', async () => {
  const file = await validate(reportJUnit(buildReport(readRun(issue))), 'issue.xml');
  assert.equal(await count(file, '//testcase[starts-with(@name, "macvtap/TCP_STREAM/1024/")]/failure[@type="error" and contains(@message, "unknown output selector")]'), 1);
  assert.equal(await count(file, '//testcase[starts-with(@name, "aio-tap/")]/failure[contains(@message, "signal 11")]'), 6);
  const retried = '//testcase[starts-with(@name, "macvtap/UDP_STREAM:guest-to-peer/64/")]';
  assert.equal(await count(file, `${retried}[not(failure) and not(skipped) and contains(system-out, "RETRIED (recovered")]`), 1);
  assert.equal(await count(file, '//property[@name="status" and @value="complete-with-errors"]'), 1);
});

test('synthetic: with a baseline, regressed cells fail with type "regression"', async () => {
  const base = writeSyntheticRun(path.join(tmp, 'base'), { runId: 'synthetic-junit-base', seed: 21, workloads: ['TCP_STREAM'] });
  const cur = writeSyntheticRun(path.join(tmp, 'cur'), {
    runId: 'synthetic-junit-cur',
    seed: 22,
    workloads: ['TCP_STREAM'],
    change: (k) => (k.backend === 'copy' ? { throughput_bps: 0.9 } : {}),
  });
  const docs = [buildReport(readRun(base.dir)), buildReport(readRun(cur.dir))];
  const cmp = compareRuns(docs, { thresholdPct: 5, confidence: 0.95 });
  const file = await validate(reportJUnit(docs[1], cmp), 'gated.xml');
  assert.equal(await count(file, '//failure[@type="regression"]'), 3);
  assert.equal(await count(file, '//testcase[starts-with(@name, "copy/")]/failure[contains(@message, "throughput_bps")]'), 3);
  assert.equal(await count(file, '//testcase[starts-with(@name, "macvtap/")]/failure'), 0);
  const cfile = await validate(compareJUnit(cmp), 'compare.xml');
  assert.equal(await count(cfile, '//testcase'), 6);
  assert.equal(await count(cfile, '//testcase/failure[@type="regression"]'), 3);
});

test('the schema is not vacuous: it rejects malformed JUnit', async () => {
  const bad = {
    'no-name': '<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase classname="c" time="0"/></testsuite></testsuites>',
    'negative-count': '<testsuites><testsuite name="s" tests="1" failures="-1" errors="0"><testcase name="t" classname="c" time="0"/></testsuite></testsuites>',
    'two-outcomes': '<testsuites><testsuite name="s" tests="1" failures="1" errors="0"><testcase name="t" classname="c" time="0"><skipped/><failure message="m"/></testcase></testsuite></testsuites>',
    'time-not-number': '<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="t" classname="c" time="fast"/></testsuite></testsuites>',
    'unknown-element': '<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="t" classname="c" time="0"><passed/></testcase></testsuite></testsuites>',
  };
  for (const [name, xml] of Object.entries(bad)) {
    const file = path.join(tmp, `bad-${name}.xml`);
    fs.writeFileSync(file, `<?xml version="1.0"?>\n${xml}\n`);
    const r = await xmllint(['--noout', '--schema', XSD, file]);
    assert.notEqual(r.code, 0, `${name} should fail validation`);
    assert.match(r.stderr, /fails to validate/, name);
  }
});
