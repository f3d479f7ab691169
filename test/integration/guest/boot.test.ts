// A real TCG guest from the real image, with a NIC on an empty QEMU hub (no host network at all):
// boot to READY, drive the agent, shut down through QMP, and check nothing is left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ledger, processAlive } from '../../../harness/core/ledger.ts';
import { shortId } from '../../../harness/core/names.ts';
import { launchGuest } from '../../../harness/guest/qemu.ts';
import { spawnOutput } from '../../../harness/guest/agent.ts';
import { baseSpec, isolateState, leftoverSockDirs, missing, testImage, threadNames } from './helpers.ts';

test('boot a TCG guest, use the agent, shut down via QMP, leave nothing', { timeout: 600_000 }, async (t) => {
  const why = await missing();
  if (why) return t.skip(why);
  const stateDir = isolateState();
  const img = await testImage();
  const id = shortId();
  const name = `vnb${id}boot`;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `vnb-${id}-work-`));
  const ledger = Ledger.create(`guest-test-${id}`);
  t.after(async () => {
    await ledger.teardown();
    fs.rmSync(workDir, { recursive: true, force: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const g = await launchGuest(baseSpec(img, name, workDir), ledger);
  t.diagnostic(`boot-to-ready ${g.bootToReadyS.toFixed(2)} s (guest uptime ${g.ready.uptimeS.toFixed(2)} s), QEMU ${g.qemuVersion}`);
  assert.ok(g.bootToReadyS > 0);
  assert.equal(g.nic, 'eth0');
  assert.equal(g.ready.cidr, '198.18.0.2/24');

  // QEMU is recorded, leads its own process group, and its threads are named.
  assert.ok(ledger.live().some((o) => o.kind === 'process' && o.pid === g.pid), 'QEMU in the ledger');
  const stat = fs.readFileSync(`/proc/${g.pid}/stat`, 'utf8');
  assert.equal(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]), g.pid, 'process group leader');
  assert.ok(threadNames(g.pid).includes('CPU 0/TCG'), `thread names: ${threadNames(g.pid).join(', ')}`);
  assert.ok(g.commandLine.includes(`${name},debug-threads=on`));

  // The agent: argv, exit codes, stdout and stderr, and files under /proc.
  const uname = await g.agent.exec(['uname', '-r']);
  assert.deepEqual(uname, { code: 0, stdout: `${img.kernelRelease}\n`, stderr: '' });
  const stat0 = await g.agent.readFile('/proc/stat');
  assert.match(stat0, /^cpu +\d+ \d+ \d+ \d+/);
  assert.match(stat0, /^cpu0 /m);
  assert.match(await g.agent.readFile('/proc/net/dev'), /^\s*eth0:/m);
  assert.match(await g.agent.readFile('/proc/interrupts'), /virtio/);
  await assert.rejects(g.agent.readFile('/proc/nonexistent'), /exit 1/);

  const mixed = await g.agent.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.deepEqual(mixed, { code: 3, stdout: 'out\n', stderr: 'err\n' });
  const odd = await g.agent.exec(['printf', '[%s]', 'a b', 'line\n', '', '*', '$HOME']);
  assert.equal(odd.stdout, '[a b][line\n][][*][$HOME]', 'arguments reach the program verbatim');
  const notFound = await g.agent.exec(['/no/such/program']);
  assert.equal(notFound.code, 127);

  // Concurrent requests each get their own reply.
  const many = await Promise.all(Array.from({ length: 8 }, (_, i) => g.agent.exec(['echo', `reply-${i}`])));
  assert.deepEqual(many.map((r) => r.stdout), Array.from({ length: 8 }, (_, i) => `reply-${i}\n`));

  // Large replies written concurrently arrive whole (each is one line under the agent's lock).
  const big = await Promise.all(
    [1, 2, 3].map((i) =>
      g.agent.exec(['sh', '-c', `head -c 150000 /dev/urandom | base64 >/tmp/big${i}; sha256sum </tmp/big${i} >&2; cat /tmp/big${i}`], { timeoutMs: 120_000 }),
    ),
  );
  for (const r of big) {
    assert.equal(r.code, 0);
    assert.ok(r.stdout.length > 200_000, `reply of ${r.stdout.length} bytes`);
    assert.equal(crypto.createHash('sha256').update(r.stdout).digest('hex'), r.stderr.split(' ')[0], 'stdout intact');
  }

  // Finished handlers are reaped: zombies do not pile up in the guest.
  const zombies = await g.agent.exec([
    'sh', '-c', 'n=0; for f in /proc/[0-9]*/stat; do read -r l <"$f" 2>/dev/null; case "$l" in *") Z "*) n=$((n+1));; esac; done; echo $n',
  ]);
  assert.ok(Number(zombies.stdout) <= 2, `zombies in the guest after 20 requests: ${zombies.stdout}`);

  // A long command does not block a /proc read.
  const slow = g.agent.exec(['sleep', '3']);
  assert.match(await g.agent.readFile('/proc/uptime'), /^\d+\.\d+ /);
  assert.equal((await slow).code, 0);

  // Background processes: pid, alive, output in its file, killable.
  const pid = await g.agent.spawn(['sh', '-c', 'echo started; exec sleep 600']);
  assert.equal((await g.agent.exec(['kill', '-0', String(pid)])).code, 0, 'spawned process alive');
  assert.equal((await g.agent.readFile(spawnOutput(pid).stdout)), 'started\n');
  assert.equal((await g.agent.exec(['kill', String(pid)])).code, 0);

  // Offloads through ethtool (GRO is a software feature, so it can change on any NIC).
  assert.equal((await g.agent.exec(['ethtool', '-K', 'eth0', 'gro', 'off'])).code, 0);
  assert.match((await g.agent.exec(['ethtool', '-k', 'eth0'])).stdout, /generic-receive-offload: off/);

  // Every workload tool runs in the guest.
  for (const [tool, flag, pattern] of [
    ['netperf', '-V', /Netperf version 2\.7/],
    ['netserver', '-V', /Netperf version 2\.7/],
    ['iperf3', '--version', /iperf 3\./],
    ['sockperf', '--version', /sockperf/],
  ] as const) {
    const r = await g.agent.exec([tool, flag]);
    assert.match(r.stdout + r.stderr, pattern, `${tool} ${flag}: ${JSON.stringify(r)}`);
  }

  await g.shutdown();
  assert.equal(await g.exited, 'exited with code 0', 'QEMU left through QMP quit');
  assert.equal(processAlive(g.pid), false);
  assert.deepEqual(leftoverSockDirs(name), [], 'socket dir removed');
  assert.deepEqual(ledger.live(), [], 'ledger empty after shutdown');
  await assert.rejects(g.agent.exec(['true']), /was shut down/);
});
