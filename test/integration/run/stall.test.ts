// A guest that stops answering mid-measurement, for real: the run's QEMU is frozen with SIGSTOP
// while a client runs. The harness must declare the cell stalled within its margin (not after a
// minute), keep what it saw, reboot the guest and measure the cell on a second try; a second
// stall abandons the backend: its remaining cells are errors with that reason, the run exits 1,
// the manifest says complete-with-errors, and nothing of the run is left on the host.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isRoot, settle } from '../topology/host-state.ts';
import { idsFromManifest, ledgerIds, readRecords, startCli, waitFor } from './cli.ts';

const skip = !isRoot() && 'needs root';
let tmp: string;
before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-stall-'))));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The pid of the QEMU whose -name is exactly `name` (each boot of a backend has its own). */
function qemuPid(name: string): number | undefined {
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (/qemu-system/.test(argv[0] ?? '') && argv[argv.indexOf('-name') + 1] === `${name},debug-threads=on`) return Number(p);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Freeze the guest while a client runs: half a second into the iteration after `n` are recorded. */
async function freezeDuring(out: string, workload: string, n: number, name: string): Promise<number> {
  await waitFor(`${workload} iteration ${n}`, () => readRecords(out).filter((r) => r.type === 'iteration' && r.cell.workload === workload).length >= n || undefined, 240_000);
  await sleep(500);
  const pid = await waitFor(`QEMU ${name}`, () => qemuPid(name), 10_000);
  process.kill(pid, 'SIGSTOP');
  return pid;
}

test('a frozen guest is declared stalled, rebooted and retried once; a second stall abandons the backend', { skip, timeout: 400_000 }, async () => {
  const out = path.join(tmp, 'run');
  const stateDir = path.join(tmp, 'state');
  const matrix = ['--backends', 'copy', '--workloads', 'TCP_RR,TCP_STREAM,UDP_RR', '--sizes', '64', '--duration', '2', '--iterations', '2', '--warmup', '0'];
  const run = startCli(['run', ...matrix, '--out', out], { VNETBENCH_STATE_DIR: stateDir });
  await waitFor('the guest boot', () => readRecords(out).find((r) => r.type === 'boot'), 180_000);
  const id = await waitFor('the guest id in the manifest', () => idsFromManifest(out)[0], 10_000);
  assert.ok(id, 'the guest name carries the run id');

  // First stall: TCP_RR's second iteration.
  await freezeDuring(out, 'TCP_RR', 1, `vnb-${id}-copy`);
  const t0 = Date.now();
  const first = await waitFor('the first stall record', () => readRecords(out).find((r) => r.type === 'error' && r.next === 'retried'), 120_000);
  const detectS = (Date.now() - t0) / 1000;
  assert.ok(detectS < 45, `declared stalled in ${detectS.toFixed(1)} s, well before the old 60 s client timeout`);
  assert.equal(first.cell.workload, 'TCP_RR');
  assert.equal(first.attempt, 1);
  assert.match(first.message, /^stalled: netperf on the guest side ran \d+\.\d s, expected \d+\.\d s/);
  const ev = first.stall;
  assert.equal(ev.awaited.side, 'guest');
  assert.equal(ev.awaited.argv[0], 'netperf');
  assert.match(ev.awaited.margin, /^margin \d+\.\d s/);
  // A frozen QEMU answers nothing: the evidence says so instead of inventing ring state.
  assert.match(ev.verdict, /virtio queue state unavailable: timed out/);
  assert.match(ev.guest.netDev, /skipped: QEMU does not answer QMP/);
  assert.match(ev.host.links, /tap|vnb/, 'host links of the guest namespace');
  assert.ok(typeof ev.peer.sockets === 'string' && ev.peer.sockets.length > 0);

  // The reboot and the retry: TCP_RR is measured on try 2.
  await waitFor('the second boot', () => readRecords(out).filter((r) => r.type === 'boot').length >= 2 || undefined, 120_000);
  const retried = await waitFor('TCP_RR measured', () => readRecords(out).find((r) => r.type === 'cell' && r.cell.workload === 'TCP_RR'), 120_000);
  assert.ok(retried.warnings.some((w: string) => /measured on try 2/.test(w)), JSON.stringify(retried.warnings));
  assert.ok(readRecords(out).filter((r) => r.type === 'iteration' && r.cell.workload === 'TCP_RR' && r.attempt === 2).length >= 2);

  // Second stall: the rebooted guest freezes in TCP_STREAM; the backend is abandoned.
  await freezeDuring(out, 'TCP_STREAM', 1, `vnb-${id}-copy-2`);
  const exit = await run.exit;
  assert.equal(exit.code, 1, `${run.stdout()}\n${run.stderr()}`);
  const recs = readRecords(out);
  const errors = recs.filter((r) => r.type === 'error');
  assert.deepEqual(
    errors.map((e) => [e.cell.workload, e.next]),
    [
      ['TCP_RR', 'retried'],
      ['TCP_STREAM', 'abandoned'],
      ['UDP_RR', 'abandoned'],
    ],
  );
  assert.match(errors[2]!.message, /^not measured: backend abandoned \(guest stalled 2 times on copy/);
  assert.deepEqual(recs.filter((r) => r.type === 'cell').map((r) => r.cell.workload), ['TCP_RR']);
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  assert.equal(manifest.status, 'complete-with-errors');
  assert.match(run.stdout(), /1 measured, 2 errored/);
  assert.deepEqual(await settle(id), [], 'nothing of the run left (the frozen QEMUs were killed)');
  assert.deepEqual(ledgerIds(stateDir), []);
});
