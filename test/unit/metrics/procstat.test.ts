import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuPercent, parseProcStat, ProcStatError } from '../../../harness/metrics/procstat.ts';
import { readFixture } from './fixtures.ts';

test('host /proc/stat: totals of the aggregate line, CPUs counted from cpuN lines', () => {
  const text = readFixture('host-proc-stat.txt');
  const t = parseProcStat(text);
  const f = text.split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  assert.equal(t.cpus, text.split('\n').filter((l) => /^cpu\d/.test(l)).length);
  assert.equal(t.total, f.slice(0, 8).reduce((a, b) => a + b, 0), 'guest/guest_nice are inside user/nice');
  assert.equal(t.busy, t.total - f[3] - f[4]);
  assert.equal(t.softirq, f[6]);
});

test('guest /proc/stat pair: busy percent of one CPU and the interval on the guest clock', () => {
  const a = parseProcStat(readFixture('guest-proc-stat.open.txt'));
  const b = parseProcStat(readFixture('guest-proc-stat.close.txt'));
  assert.equal(b.cpus, 1);
  const p = cpuPercent(a, b);
  assert.equal(p.busyPct, ((b.busy - a.busy) / (b.total - a.total)) * 100);
  assert.ok(p.busyPct > 0 && p.busyPct <= 100);
  assert.equal(p.seconds, (b.total - a.total) / 100);
});

test('percent is of one CPU: two fully busy CPUs are 200 %', () => {
  const mk = (busy: number, idle: number) => `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0\n`;
  const p = cpuPercent(parseProcStat(mk(100, 50)), parseProcStat(mk(300, 50)));
  assert.equal(p.busyPct, 200);
  assert.equal(p.seconds, 1);
});

test('no time passed gives zeros, not NaN', () => {
  const t = parseProcStat(readFixture('host-proc-stat.txt'));
  assert.deepEqual(cpuPercent(t, t), { busyPct: 0, softirqPct: 0, seconds: 0 });
});

test('malformed input is an error quoting it', () => {
  assert.throws(() => parseProcStat('intr 1 2 3\n', 'guest /proc/stat'), (e: unknown) => e instanceof ProcStatError && /guest \/proc\/stat: no aggregate "cpu" line in: "intr 1 2 3/.test(e.message));
  assert.throws(() => parseProcStat('cpu  1 2 x 4\ncpu0 1\n'), /malformed "cpu" line: "cpu  1 2 x 4"/);
  assert.throws(() => parseProcStat(readFixture('host-proc-stat.txt').replace(/^cpu\d.*\n/gm, '')), /no per-CPU "cpuN" lines/);
});
