// A run killed with SIGTERM tears itself down (harness/core/lifecycle.ts): after setup finished
// (QEMU running on the backend) and in the middle of creating the topology.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ledger } from '../../../harness/core/ledger.ts';
import { isRoot, leftovers, settle, tapNodes } from '../topology/host-state.ts';
import { spawnRun } from './child.ts';

const skip = !isRoot() && 'needs root';
let stateDir: string;
before(() => (stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-state-'))));
after(() => fs.rmSync(stateDir, { recursive: true, force: true }));

for (const backend of ['copy', 'macvtap', 'vhost-user'] as const) {
  test(`SIGTERM after setup (${backend}, QEMU running): the run removes everything and exits 143`, { skip, timeout: 120_000 }, async () => {
    const run = spawnRun([backend], stateDir);
    const ready = await run.phase('ready');
    const id = ready.id;
    const details = ready.details as Record<string, string>;
    const watch = [details.node, details.socket].filter((x): x is string => typeof x === 'string');
    // Before: the run's objects are there (namespaces, QEMU, testpmd, the tap node).
    const present = await leftovers(id, watch);
    assert.ok(present.some((x) => x === `netns vnb-${id}-g`), present.join('\n'));
    assert.ok(present.some((x) => /process \d+ qemu-system-x86/.test(x)), present.join('\n'));
    if (backend === 'vhost-user') assert.ok(present.some((x) => /dpdk-testpmd/.test(x)), present.join('\n'));
    if (backend === 'macvtap') assert.ok(tapNodes().includes(details.node!), `${details.node} exists`);
    run.child.kill('SIGTERM');
    const exit = await run.exit;
    assert.equal(exit.code, 143, run.stderr());
    assert.deepEqual(await settle(id, watch), [], run.stderr());
    assert.equal(fs.existsSync(path.join(stateDir, 'ledgers', `${id}.jsonl`)), false, 'ledger removed after a clean teardown');
  });
}

test('SIGTERM while the topology is being created: what was recorded is removed', { skip, timeout: 120_000 }, async () => {
  const run = spawnRun(['copy'], stateDir);
  const { id } = await run.phase('start');
  const ledgerFile = path.join(stateDir, 'ledgers', `${id}.jsonl`);
  // Strike as soon as the first namespace is recorded: its creation is in flight or just done.
  for (let i = 0; i < 2000; i++) {
    if (fs.existsSync(ledgerFile) && fs.readFileSync(ledgerFile, 'utf8').includes('"kind":"netns"')) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  run.child.kill('SIGTERM');
  const exit = await run.exit;
  assert.equal(exit.code, 143, run.stderr());
  assert.match(run.stderr(), /SIGTERM received, tearing down/);
  assert.deepEqual(await settle(id), [], run.stderr());
  assert.deepEqual(Ledger.list().filter((f) => f.includes(id)), []);
});

test('SIGINT after the topology: exit 130, nothing left', { skip, timeout: 120_000 }, async () => {
  const run = spawnRun(['copy', 'embedded', '--stop-after', 'topology'], stateDir);
  const { id } = await run.phase('topology');
  assert.ok((await leftovers(id)).length >= 2);
  run.child.kill('SIGINT');
  assert.equal((await run.exit).code, 130, run.stderr());
  assert.deepEqual(await settle(id), []);
});
