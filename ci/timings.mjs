// Where CI's time went: reads the stamped log of `npm ci && npm run test:ci` (ci/stamp.mjs) and
// the test timing summary (ci/test-timing-reporter.mjs) and prints one line per phase, ending
// with the tests' plain "N passed, N failed, N skipped" line. Plain JavaScript, no dependencies.
import fs from 'node:fs';

const [logFile, timingsFile] = process.argv.slice(2);
const lines = fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => {
  const sp = l.indexOf(' ');
  return { t: Number(l.slice(0, sp)), text: l.slice(sp + 1) };
});
const first = lines[0].t;
const last = lines[lines.length - 1].t;
const at = (re) => lines.find((l) => re.test(l.text))?.t;
const s = (ms) => `${(ms / 1000).toFixed(1)} s`;

const rows = [];
const testCi = at(/^> .*setup --tests/);
rows.push(['npm ci', testCi ? testCi - first : undefined]);
const phases = { 'apt packages': 0, 'netperf fetch': 0, 'guest image build': 0 };
for (const l of lines) {
  const m = /^\[\d+\/\d+\] (.+?) - .* -> done: .*\((\d+(?:\.\d+)?) s\)$/.exec(l.text);
  if (!m) continue;
  const key = m[1].startsWith('package ') ? 'apt packages' : m[1].startsWith('netperf') ? 'netperf fetch' : m[1].startsWith('guest image') ? 'guest image build' : undefined;
  if (key) phases[key] += Number(m[2]) * 1000;
}
for (const [k, v] of Object.entries(phases)) rows.push([`setup: ${k}`, v]);
const testStart = at(/^> tsc --noEmit/);
const tapStart = at(/^TAP version/);
if (testCi && testStart) rows.push(['setup: checks and the rest', testStart - testCi - Object.values(phases).reduce((a, b) => a + b, 0)]);
if (testStart && tapStart) rows.push(['typecheck (tsc --noEmit)', tapStart - testStart]);
let counts;
try {
  const t = JSON.parse(fs.readFileSync(timingsFile, 'utf8'));
  counts = { passed: 0, failed: 0, skipped: 0 };
  for (const [g, v] of Object.entries(t)) {
    rows.push([`${g} tests (${v.passed} passed, ${v.failed} failed, ${v.skipped} skipped)`, v.seconds * 1000]);
    for (const k of Object.keys(counts)) counts[k] += v[k];
  }
} catch {
  rows.push(['tests', undefined]);
}
rows.push(['total', last - first]);
process.stdout.write('\nwhere the time went:\n');
for (const [name, ms] of rows) process.stdout.write(`  ${name.padEnd(58)} ${ms === undefined ? 'n/a' : s(ms)}\n`);
if (counts) process.stdout.write(`tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
