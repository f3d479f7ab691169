// A run interrupted mid-measurement: SIGTERM tears down at once (exit 143), keeps the finished
// cells and marks the run interrupted, and --resume measures only what is missing; SIGKILL
// leaves its ledger behind and `vnetbench cleanup` removes everything from it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isRoot, leftovers, settle } from '../topology/host-state.ts';
import { idsFromManifest, ledgerIds, readRecords, startCli, waitFor } from './cli.ts';

const skip = !isRoot() && 'needs root';
let tmp: string;
before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-intr-'))));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Each cell lasts about 7 s, so a signal sent right after the first cell's record lands mid-cell.
const matrix = ['--backends', 'copy', '--workloads', 'TCP_RR,TCP_STREAM', '--sizes', '1024', '--duration', '3', '--iterations', '2', '--warmup', '0'];

test('SIGTERM mid-run: nothing left, finished cells kept, --resume completes the rest', { skip, timeout: 300_000 }, async () => {
  const out = path.join(tmp, 'term');
  const stateDir = path.join(tmp, 'state-term');
  const env = { VNETBENCH_STATE_DIR: stateDir };
  const run = startCli(['run', ...matrix, '--out', out], env);
  await waitFor('the guest boot', () => readRecords(out).find((r) => r.type === 'boot'), 180_000);
  const id = await waitFor('the guest id in the manifest', () => idsFromManifest(out)[0], 10_000);
  // Strike while the second cell is being measured: the first one is recorded by then.
  await waitFor('the first cell', () => readRecords(out).find((r) => r.type === 'cell'), 180_000);
  assert.ok((await leftovers(id)).length > 0, 'the run has live objects');
  run.child.kill('SIGTERM');
  const exit = await run.exit;
  assert.equal(exit.code, 143, run.stderr());
  assert.deepEqual(await settle(id), [], run.stderr());
  assert.deepEqual(ledgerIds(stateDir), []);
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  assert.equal(manifest.status, 'interrupted');
  const before = readRecords(out).filter((r) => r.type === 'cell');
  assert.equal(before.length, 1, 'exactly the finished cell is kept');

  const resumed = startCli(['run', '--resume', '--out', out], env);
  const rexit = await resumed.exit;
  assert.equal(rexit.code, 0, `${resumed.stdout()}\n${resumed.stderr()}`);
  assert.match(resumed.stderr(), /resuming .*1 cell\(s\) already done/);
  const cells = readRecords(out).filter((r) => r.type === 'cell');
  assert.deepEqual(cells.map((c) => c.cell.workload).sort(), ['TCP_RR', 'TCP_STREAM'], 'each cell measured once');
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')).status, 'complete');
  assert.deepEqual(ledgerIds(stateDir), []);
});

test('SIGKILL mid-run, then `vnetbench cleanup`: nothing left', { skip, timeout: 300_000 }, async () => {
  const out = path.join(tmp, 'kill');
  const stateDir = path.join(tmp, 'state-kill');
  const env = { VNETBENCH_STATE_DIR: stateDir };
  const run = startCli(['run', ...matrix, '--backends', 'macvtap', '--out', out], env);
  await waitFor('the guest boot', () => readRecords(out).find((r) => r.type === 'boot'), 180_000);
  const id = await waitFor('the guest id in the manifest', () => idsFromManifest(out)[0], 10_000);
  run.child.kill('SIGKILL');
  await run.exit;
  const left = await leftovers(id);
  assert.ok(left.some((x) => x.startsWith('netns')), `SIGKILL leaves the namespaces: ${left.join(', ')}`);
  assert.ok(left.some((x) => /qemu/.test(x)), `and QEMU: ${left.join(', ')}`);

  const cleanup = startCli(['cleanup'], env);
  const cexit = await cleanup.exit;
  assert.equal(cexit.code, 0, `${cleanup.stdout()}\n${cleanup.stderr()}`);
  assert.deepEqual(await settle(id), [], cleanup.stdout());
  assert.deepEqual(ledgerIds(stateDir), []);
});
