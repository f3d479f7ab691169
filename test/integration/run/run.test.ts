// `vnetbench run` end to end with real TCG guests: copy and macvtap each run short TCP_STREAM,
// TCP_RR and UDP_STREAM; vhost is skipped with its reason; CPU accounting is consistent; and
// nothing is left on the host afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isRoot, settle } from '../topology/host-state.ts';
import { idsFromManifest, ledgerIds, readRecords, startCli } from './cli.ts';

const skip = !isRoot() && 'needs root';
let tmp: string;
before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-run-'))));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('copy and macvtap measure TCP_STREAM, TCP_RR and UDP_STREAM; vhost is skipped with its reason', { skip, timeout: 600_000 }, async () => {
  const out = path.join(tmp, 'matrix');
  const stateDir = path.join(tmp, 'state-matrix');
  const run = startCli(
    ['run', '--backends', 'copy,macvtap,vhost', '--workloads', 'TCP_STREAM,TCP_RR,UDP_STREAM', '--sizes', '1024',
      '--duration', '2', '--iterations', '2', '--warmup', '0', '--out', out],
    { VNETBENCH_STATE_DIR: stateDir },
  );
  const exit = await run.exit;
  assert.equal(exit.code, 0, `${run.stdout()}\n${run.stderr()}`);
  const records = readRecords(out);
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  assert.equal(manifest.status, 'complete');
  assert.equal(manifest.accel, 'tcg', 'KVM does not boot guests on this host');

  // vhost: skipped, never passed, with the reason in the results and in the terminal.
  const vhostSkip = records.find((r) => r.type === 'skip' && r.backend === 'vhost');
  assert.ok(vhostSkip, 'a skip record for vhost');
  assert.match(vhostSkip.reason, /\/dev\/vhost-net missing/);
  assert.match(run.stderr(), /skipped vhost: \/dev\/vhost-net missing/);
  assert.ok(!records.some((r) => r.backend === 'vhost' && (r.type === 'cell' || r.type === 'iteration')));
  const cap = manifest.capabilities.find((c: { name: string }) => c.name === 'vhost');
  assert.equal(cap.runnable, false);

  for (const backend of ['copy', 'macvtap']) {
    const boot = records.find((r) => r.type === 'boot' && r.backend === backend);
    assert.ok(boot && boot.bootToReadyS > 0, `${backend} booted`);
    const cells = records.filter((r) => r.type === 'cell' && r.cell.backend === backend);
    const byName = (w: string, dir?: string) => cells.find((c) => c.cell.workload === w && c.cell.direction === dir);
    assert.ok(byName('TCP_STREAM')?.summary.throughput_bps.mean > 0, `${backend} TCP_STREAM throughput`);
    assert.ok(byName('TCP_RR')?.summary.transactions_per_s.mean > 0, `${backend} TCP_RR transactions`);
    assert.ok(byName('UDP_STREAM', 'guest-to-peer')?.summary.throughput_bps.mean > 0, `${backend} UDP_STREAM guest-to-peer`);
    assert.ok(byName('UDP_STREAM', 'peer-to-guest')?.summary.throughput_bps.mean > 0, `${backend} UDP_STREAM peer-to-guest`);

    const iterations = records.filter((r) => r.type === 'iteration' && r.cell.backend === backend);
    assert.equal(iterations.length, 4 * 2, `${backend}: 4 cells x 2 iterations`);
    for (const it of iterations) {
      const m = it.metrics;
      const where = `${backend} ${it.cell.workload} #${it.iteration}`;
      assert.ok(m.qemu_process_pct > 0, `${where}: QEMU process CPU > 0`);
      assert.ok(m.host_cpu_total_pct > 0, `${where}: host CPU > 0`);
      assert.ok(typeof m.guest_cpu_pct === 'number' && m.guest_cpu_pct >= 0, `${where}: guest CPU present`);
      assert.ok(m.cpu_vcpu_pct > 0, `${where}: vCPU thread time`);
      // Thread classes sum to at most the process total (one tick of rounding per thread allowed).
      const classes = (m.cpu_vcpu_pct ?? 0) + (m.cpu_qemu_io_pct ?? 0) + (m.cpu_vhost_pct ?? 0);
      assert.ok(classes <= m.qemu_process_pct + 2 * 100 / it.durationS, `${where}: classes ${classes} <= process ${m.qemu_process_pct}`);
      assert.ok(m.harness_cpu_pct >= 0, `${where}: harness CPU stated`);
    }
  }
  // Nothing left: namespaces, links, processes, tap nodes and dirs of every backend's run id.
  const ids = idsFromManifest(out);
  assert.equal(ids.length, 2);
  for (const id of ids) assert.deepEqual(await settle(id), [], `leftovers of ${id}`);
  assert.deepEqual(ledgerIds(stateDir), [], 'every ledger closed');
});
