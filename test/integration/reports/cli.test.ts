// `vnetbench report` and `vnetbench compare` as a user runs them (the real CLI in a child
// process): files written, PDF/PNG through Chromium, exit codes 0/1/2, clear usage errors.
// Inputs are SYNTHETIC runs with known truth in a temp dir, plus real runs under fixtures/runs/.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../harness/core/paths.ts';
import { fixtureRuns, tempDir, writeSyntheticRun } from '../../unit/reports/synthetic.ts';
import { runCli } from '../../helpers/cli.ts';

const tmp = tempDir();
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const ARTIFACTS = path.join(PROJECT_ROOT, 'test-artifacts', 'reports');

const cli = (...args: string[]) => runCli(args, { env: { NO_COLOR: '1', FORCE_COLOR: '0' } });

const base = writeSyntheticRun(path.join(tmp, 'base'), { runId: 'synthetic-cli-base', seed: 1001, workloads: ['TCP_STREAM', 'TCP_RR'], conformance: true }).dir;
const noise = writeSyntheticRun(path.join(tmp, 'noise'), { runId: 'synthetic-cli-noise', seed: 1002, workloads: ['TCP_STREAM', 'TCP_RR'] }).dir;
const worse = writeSyntheticRun(path.join(tmp, 'worse'), {
  runId: 'synthetic-cli-worse',
  seed: 1003,
  workloads: ['TCP_STREAM', 'TCP_RR'],
  change: (k) => (k.backend === 'copy' && k.workload === 'TCP_STREAM' ? { throughput_bps: 0.9 } : {}),
}).dir;
const hotter = writeSyntheticRun(path.join(tmp, 'hotter'), {
  runId: 'synthetic-cli-hotter',
  seed: 1004,
  workloads: ['TCP_STREAM', 'TCP_RR'],
  change: (k) => (k.backend === 'macvtap' && k.workload === 'TCP_RR' && k.size === 1024 ? { host_cpu_total_pct: 1.2 } : {}),
}).dir;
const partial = writeSyntheticRun(path.join(tmp, 'partial'), { runId: 'synthetic-cli-partial', seed: 1005, workloads: ['TCP_STREAM', 'TCP_RR'], omitBackends: ['macvtap'] }).dir;

test('report: every format written, PDF and PNG through Chromium', () => {
  const out = path.join(tmp, 'report-all');
  const r = cli('report', base, '--format', 'html,csv,junit,json,pdf,png', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /synthetic-cli-base: 12 cell\(s\), 60 iteration\(s\), conformance 6 pass \/ 1 fail \/ 1 warn \/ 10 skip/);
  const files = fs.readdirSync(out).sort();
  assert.deepEqual(files, ['junit.xml', 'report.html', 'report.json', 'report.pdf', 'report.png', 'results.csv', 'summary.csv']);
  const pdf = fs.readFileSync(path.join(out, 'report.pdf'));
  assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
  assert.match(pdf.subarray(-1024).toString('latin1'), /%%EOF\s*$/);
  // A4 pages (595 x 842 points), more than one of them, all A4.
  const boxes = pdf.toString('latin1').match(/\/MediaBox\s*\[[^\]]*\]/g) ?? [];
  assert.ok(boxes.length > 1, 'more than one page');
  for (const b of boxes) {
    const [, , w, h] = b.replace(/[^\d. ]/g, ' ').trim().split(/\s+/).map(Number);
    assert.ok(Math.abs(w - 595.3) < 1 && Math.abs(h - 841.9) < 1, `page is not A4: ${b}`);
  }
  const png = fs.readFileSync(path.join(out, 'report.png'));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(png.readUInt32BE(16), 1200, 'PNG width');
  assert.ok(png.readUInt32BE(20) > 2000, 'a full-page PNG is taller than one screen');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.copyFileSync(path.join(out, 'report.pdf'), path.join(ARTIFACTS, 'synthetic-cli-report.pdf'));
});

test('report: pdf alone leaves no stray HTML; default --out is RUN_DIR/report', () => {
  const out = path.join(tmp, 'report-pdf');
  assert.equal(cli('report', base, '--format', 'pdf', '--out', out).code, 0);
  assert.deepEqual(fs.readdirSync(out), ['report.pdf']);
  const copy = path.join(tmp, 'copy-of-base');
  fs.cpSync(base, copy, { recursive: true });
  const r = cli('report', copy);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(fs.readdirSync(path.join(copy, 'report')).sort(), ['junit.xml', 'report.html', 'report.json', 'results.csv', 'summary.csv']);
});

for (const dir of fixtureRuns()) {
  test(`fixture ${path.basename(dir)}: report writes every text format`, () => {
    const out = path.join(tmp, `fixture-${path.basename(dir)}`);
    const r = cli('report', dir, '--format', 'html,csv,junit,json', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    for (const f of ['report.html', 'results.csv', 'summary.csv', 'junit.xml', 'report.json']) assert.ok(fs.statSync(path.join(out, f)).size > 0, f);
  });
}

test('report: bad arguments are usage errors (exit 2) and write nothing', () => {
  const out = path.join(tmp, 'never');
  const cases: [string[], RegExp][] = [
    [['report', base, '--format', 'html,docx', '--out', out], /--format: unknown format "docx"[\s\S]*hint: use one or more of html, csv, junit, json, pdf, png/],
    [['report', path.join(tmp, 'no-such-run'), '--out', out], /RUN_DIR .*no-such-run does not exist/],
    [['report', tmp, '--out', out], /is not a run directory \(no manifest.json\)/],
    [['report', base, '--baseline', path.join(tmp, 'nope'), '--out', out], /--baseline .*nope does not exist/],
  ];
  for (const [args, msg] of cases) {
    const r = cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
    assert.ok(!fs.existsSync(out), `${args.join(' ')} wrote ${out}`);
  }
});

test('report --baseline: the JUnit fails the regressed cells', () => {
  const out = path.join(tmp, 'gated');
  const r = cli('report', worse, '--baseline', base, '--format', 'junit', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /3 regression\(s\) against synthetic-cli-base/);
  const xml = fs.readFileSync(path.join(out, 'junit.xml'), 'utf8');
  assert.equal((xml.match(/<failure [^>]*type="regression"/g) ?? []).length, 3);
});

test('compare: a 10 % throughput regression exits 1 and names the cells', () => {
  const out = path.join(tmp, 'cmp-worse');
  const r = cli('compare', base, worse, '--format', 'table,html,junit,json', '--out', out);
  assert.equal(r.code, 1, r.stderr);
  const flagged = r.stdout.match(/^REGRESSION .*$/gm) ?? [];
  assert.deepEqual(flagged.map((l) => l.split(' ')[1]).sort(), [
    'copy/TCP_STREAM/1024/offloads-on/s1/q1/netperf',
    'copy/TCP_STREAM/16384/offloads-on/s1/q1/netperf',
    'copy/TCP_STREAM/64/offloads-on/s1/q1/netperf',
  ]);
  assert.ok(flagged.every((l) => / throughput_bps -\d/.test(l)));
  assert.match(r.stderr, /compare: FAIL: 3 significant regression\(s\) beyond 5 %/);
  assert.deepEqual(fs.readdirSync(out).sort(), ['compare-junit.xml', 'compare.html', 'compare.json']);
  const json = JSON.parse(fs.readFileSync(path.join(out, 'compare.json'), 'utf8'));
  assert.equal(json.regressions.length, 3);
});

test('compare: same-distribution noise passes (exit 0)', () => {
  const r = cli('compare', base, noise);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /0 regressed/);
  assert.match(r.stdout, /compare: PASS/);
});

test('compare: a host CPU increase is a regression (exit 1); --fail-on none reports it and exits 0', () => {
  const r = cli('compare', base, hotter);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /REGRESSION macvtap\/TCP_RR\/1024\/offloads-on\/s1\/q1\/netperf host_cpu_total_pct \+\d/);
  const none = cli('compare', base, hotter, '--fail-on', 'none');
  assert.equal(none.code, 0);
  assert.match(none.stdout, /REGRESSION macvtap\/TCP_RR\/1024/);
});

test('compare: --threshold 25% lets a 10 % drop through; --metrics restricts the gate', () => {
  assert.equal(cli('compare', base, worse, '--threshold', '25%').code, 0);
  assert.equal(cli('compare', base, worse, '--metrics', 'host_cpu_total_pct,latency_p99_us').code, 0);
  assert.equal(cli('compare', base, worse, '--metrics', 'throughput_bps').code, 1);
});

test('compare: a missing backend fails only with --fail-on regression,missing', () => {
  const lax = cli('compare', base, partial);
  assert.equal(lax.code, 0);
  assert.match(lax.stdout, /6 cell\(s\) of the baseline are missing from the current run/);
  const strict = cli('compare', base, partial, '--fail-on', 'regression,missing', '--format', 'junit', '--out', path.join(tmp, 'cmp-missing'));
  assert.equal(strict.code, 1);
  assert.match(strict.stderr, /6 cell\(s\) missing from the current run/);
  const xml = fs.readFileSync(path.join(tmp, 'cmp-missing', 'compare-junit.xml'), 'utf8');
  assert.equal((xml.match(/<failure [^>]*type="missing"/g) ?? []).length, 6);
});

test('compare: several runs print a trend; the last one is gated against the first', () => {
  const r = cli('compare', base, noise, worse);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /Trend across 3 runs/);
  for (const id of ['synthetic-cli-base', 'synthetic-cli-noise', 'synthetic-cli-worse']) assert.ok(r.stdout.includes(id));
});

// Each case costs a process start; the parsers' other cases are unit tests (options.test.ts).
test('compare: bad arguments are usage errors (exit 2) with a hint', () => {
  const cases: [string[], RegExp][] = [
    [['compare', base, worse, '--threshold', '5 percent'], /--threshold "5 percent" is not a percentage[\s\S]*hint: .*--threshold 5%/],
    [['compare', base, path.join(tmp, 'gone')], /CURRENT .*gone does not exist/],
    [['compare', base, worse, '--confidence', '0.3'], /--confidence "0.3" is not a confidence level/],
    [['compare', base, worse, '--fail-on', 'regresion'], /--fail-on: unknown format "regresion"/],
    [['compare', base, worse, '--metrics', 'throughput'], /--metrics: unknown metric "throughput"/],
    [['compare', base], /missing required argument 'current'/],
  ];
  for (const [args, msg] of cases) {
    const r = cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, msg, args.join(' '));
  }
});
