// A TCG guest on aio-tap (and aio-macvtap) through `vnetbench run`: short TCP_STREAM, TCP_RR and
// UDP_STREAM (both directions) all carry traffic, the device's CPU is accounted as 'backend', and
// nothing of the runs is left on the host.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isRoot, settle } from '../topology/host-state.ts';
import { idsFromManifest, ledgerIds, readRecords, startCli } from '../run/cli.ts';

const skip = !isRoot() && 'needs root';
let tmp: string;
before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-aio-run-'))));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('aio-tap and aio-macvtap carry TCP_STREAM, TCP_RR and UDP_STREAM for a TCG guest', { skip, timeout: 600_000 }, async () => {
  const out = path.join(tmp, 'run');
  const stateDir = path.join(tmp, 'state');
  const run = startCli(
    ['run', '--backends', 'aio-tap,aio-macvtap', '--workloads', 'TCP_STREAM,TCP_RR,UDP_STREAM', '--sizes', '1024', '--duration', '3', '--iterations', '1', '--warmup', '0', '--out', out],
    { VNETBENCH_STATE_DIR: stateDir },
  );
  const exit = await run.exit;
  assert.equal(exit.code, 0, `${run.stdout()}\n${run.stderr()}`);
  const records = readRecords(out);
  assert.deepEqual(records.filter((r) => r.type === 'error' || r.type === 'skip'), [], 'no errors, nothing skipped');
  for (const backend of ['aio-tap', 'aio-macvtap']) {
    const cells = records.filter((r) => r.type === 'cell' && r.cell.backend === backend);
    const cell = (w: string, dir?: string) => cells.find((c) => c.cell.workload === w && c.cell.direction === dir);
    assert.ok(cell('TCP_STREAM')?.summary.throughput_bps.mean > 0, `${backend} TCP_STREAM`);
    assert.ok(cell('TCP_RR')?.summary.transactions_per_s.mean > 0, `${backend} TCP_RR`);
    assert.ok(cell('UDP_STREAM', 'guest-to-peer')?.summary.throughput_bps.mean > 0, `${backend} UDP_STREAM guest-to-peer`);
    assert.ok(cell('UDP_STREAM', 'peer-to-guest')?.summary.throughput_bps.mean > 0, `${backend} UDP_STREAM peer-to-guest`);
    for (const it of records.filter((r) => r.type === 'iteration' && r.cell.backend === backend)) {
      assert.ok(it.metrics.cpu_backend_pct > 0, `${backend} ${it.cell.workload}: the device process's CPU is accounted`);
      assert.ok(it.metrics.qemu_process_pct > 0);
    }
    const log = fs.readFileSync(path.join(out, 'logs', backend, 'aio-tap.log'), 'utf8');
    assert.doesNotMatch(log, /broken|refused|failed/, `${backend}: the device logged no ring error or refusal`);
  }
  const ids = idsFromManifest(out);
  assert.equal(ids.length, 2);
  for (const id of ids) assert.deepEqual(await settle(id), [], `leftovers of ${id}`);
  assert.deepEqual(ledgerIds(stateDir), [], 'every ledger closed');
});
