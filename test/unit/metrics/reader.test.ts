// The impure reader against real processes of this machine (no root needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { readHostSnapshot, treeTicks, USER_HZ } from '../../../harness/metrics/reader.ts';
import { parseTaskStat } from '../../../harness/metrics/taskstat.ts';

/** Spin until this process has used `ms` more of CPU time (not wall time: the machine may be busy). */
const burnCpu = (ms: number) => {
  const start = process.cpuUsage();
  let x = 0;
  while (process.cpuUsage(start).user < ms * 1000) for (let i = 0; i < 1e5; i++) x += Math.sqrt(x + i);
  return x;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a process read as "QEMU": its threads, its total, the open/close read order', () => {
  const a = readHostSnapshot({ qemuPid: process.pid }, 'open');
  burnCpu(300);
  const b = readHostSnapshot({ qemuPid: process.pid }, 'close');
  assert.equal(a.hz, USER_HZ);
  assert.ok(b.atMs > a.atMs);
  assert.ok(b.qemu!.threads.some((t) => t.pid === process.pid), 'the main thread is listed');
  assert.ok(b.qemu!.threads.length >= 2, 'node has worker threads');
  const threadsDelta = b.qemu!.threads.reduce((s, t) => s + t.ticks, 0) - a.qemu!.threads.reduce((s, t) => s + t.ticks, 0);
  const processDelta = b.qemu!.processTicks - a.qemu!.processTicks;
  assert.ok(processDelta >= 0.3 * USER_HZ - 2, `the burn shows in ticks (${processDelta})`);
  assert.ok(threadsDelta <= processDelta + 2 * b.qemu!.threads.length, `threads ${threadsDelta} vs process ${processDelta}`);
  assert.ok(b.harnessUs - a.harnessUs >= 300_000, 'process.cpuUsage saw the burn');
  assert.ok(b.stat.total > a.stat.total);
});

test('process trees include descendants, and a waited-for child that exited stays counted', async () => {
  // sh runs a CPU-bound subshell (a forked child it waits for), then sleeps: by the closing
  // sample the subshell is gone and its time lives in sh's cutime.
  const child = spawn('sh', ['-c', 'i=0; ( while [ $i -lt 400000 ]; do i=$((i+1)); done ); sleep 30'], { stdio: 'ignore' });
  try {
    const pid = child.pid!;
    const a = readHostSnapshot({ peerPids: [pid] }, 'open');
    let sub: number | undefined;
    // Wait until the subshell has come and gone (sh is then the only member, sleeping in a child).
    for (let i = 0; i < 600; i++) {
      const stat = parseTaskStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
      if (stat.cutime + stat.cstime > 0) {
        sub = stat.cutime + stat.cstime;
        break;
      }
      await sleep(50);
    }
    assert.ok(sub !== undefined && sub > 0, 'the subshell burned CPU and was reaped by sh');
    const b = readHostSnapshot({ peerPids: [pid] }, 'close');
    // The subshell no longer exists, yet the tree's total still holds its time (sh's cutime).
    assert.ok(b.peerTicks! >= sub!, `tree total ${b.peerTicks} includes the reaped subshell's ${sub}`);
    assert.ok(b.peerTicks! > a.peerTicks!, 'so the window shows its in-window share');
  } finally {
    child.kill('SIGKILL');
  }
});

test('treeTicks follows ppid links from the roots only', () => {
  const p = (pid: number, ppid: number, t: number) => ({ pid, ppid, comm: `p${pid}`, state: 'S', utime: t, stime: 0, cutime: 0, cstime: 1, starttime: pid });
  const procs = [p(1, 0, 100), p(10, 1, 5), p(11, 10, 7), p(12, 11, 3), p(20, 1, 1000)];
  assert.equal(treeTicks(procs, [10]), 5 + 1 + 7 + 1 + 3 + 1);
  assert.equal(treeTicks(procs, [11, 12]), 7 + 1 + 3 + 1, 'a root inside another root counts once');
  assert.equal(treeTicks(procs, [999]), 0, 'a vanished root');
});
