import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { classifyQemuThread, parseTaskStat } from '../../../harness/metrics/taskstat.ts';
import { readFixture } from './fixtures.ts';

test("real QEMU thread stats: comm with spaces and '/', fields counted from the last ')'", () => {
  const lines = readFixture('qemu-task-stats.txt').trim().split('\n');
  const tasks = lines.map(parseTaskStat);
  const comms = tasks.map((t) => t.comm);
  assert.ok(comms.includes('CPU 0/TCG'), `vCPU thread named by debug-threads=on: ${comms.join(', ')}`);
  const proc = parseTaskStat(readFixture('qemu-process-stat.txt'));
  for (const t of tasks) {
    assert.ok(t.utime >= 0 && t.stime >= 0);
    assert.ok(t.starttime >= proc.starttime, 'threads start after their process');
  }
  assert.equal(tasks[0].pid, proc.pid, 'the main thread has the process id');
  // The process total includes every thread's time (read just before the threads).
  const sum = tasks.reduce((a, t) => a + t.utime + t.stime, 0);
  assert.ok(sum <= proc.utime + proc.stime + 2 * tasks.length, `threads ${sum} vs process ${proc.utime + proc.stime}`);
});

test('a comm containing ") (" parses (a real process renamed through /proc/self/comm)', () => {
  // node:test runs each file in its own process; renaming it affects nothing else.
  fs.writeFileSync('/proc/self/comm', 'a) (b c');
  const s = parseTaskStat(fs.readFileSync('/proc/self/stat', 'utf8'));
  assert.equal(s.comm, 'a) (b c');
  assert.equal(s.pid, process.pid);
  assert.equal(s.ppid, process.ppid);
  assert.equal(s.state, 'R');
});

test('thread classes', () => {
  assert.equal(classifyQemuThread('CPU 0/TCG'), 'vcpu');
  assert.equal(classifyQemuThread('CPU 12/KVM'), 'vcpu');
  assert.equal(classifyQemuThread('vhost-4242'), 'vhost');
  for (const c of ['qemu-system-x86', 'IO mon_iothread', 'call_rcu', 'worker', 'CPU 0/TCGX', 'vhost-abc']) assert.equal(classifyQemuThread(c), 'io', c);
});

test('not a stat line is an error quoting it', () => {
  assert.throws(() => parseTaskStat('garbage'), /not a \/proc stat line: "garbage"/);
  assert.throws(() => parseTaskStat('1 (x) S 0 1'), /field 14 is not a number/);
});
