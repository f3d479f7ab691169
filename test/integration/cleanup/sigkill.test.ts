// A run killed with SIGKILL cannot clean up: its namespaces, links, tap node, QEMU and DPDK
// runtime dir stay. `vnetbench cleanup` removes them from the run's ledger, or, with the ledger
// gone, by the orphan sweep (name prefix and run marker). `--run <id>` keeps the cleanup to the
// runs this test made, so other runs on the host are never touched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { processAlive } from '../../../harness/core/ledger.ts';
import { isRoot, leftovers, settle } from '../topology/host-state.ts';
import { cli, spawnRun } from './child.ts';
import { fakePorts, linkState } from '../topology/fake-ports.ts';

const skip = !isRoot() && 'needs root';
let stateDir: string;
before(() => (stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-state-'))));
after(() => fs.rmSync(stateDir, { recursive: true, force: true }));

async function killed(backend: string) {
  const run = spawnRun([backend], stateDir);
  const ready = await run.phase('ready');
  const details = ready.details as Record<string, string>;
  const watch = [details.node, details.socket].filter((x): x is string => typeof x === 'string');
  run.child.kill('SIGKILL');
  assert.equal((await run.exit).signal, 'SIGKILL');
  const left = await leftovers(ready.id, watch);
  return { id: ready.id, watch, left, qemuPid: ready.qemuPid as number };
}

for (const backend of ['copy', 'macvtap', 'vhost-user'] as const) {
  test(`SIGKILL (${backend}) leaves objects; vnetbench cleanup removes them from the ledger`, { skip, timeout: 120_000 }, async () => {
    const k = await killed(backend);
    assert.ok(k.left.includes(`netns vnb-${k.id}-g`), k.left.join('\n'));
    // A server the run had started in its peer namespace (unrecorded, like a daemonised
    // netserver) must not keep the namespace alive.
    const server = spawn('ip', ['netns', 'exec', `vnb-${k.id}-p`, 'sleep', '600'], { detached: true, stdio: 'ignore' });
    server.unref();
    assert.ok(k.left.some((x) => x.startsWith(`process ${k.qemuPid} `)), `QEMU survives its parent:\n${k.left.join('\n')}`);
    if (backend === 'copy') {
      const dry = await cli(['cleanup', '--run', k.id, '--dry-run'], stateDir);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, new RegExp(`ledger ${k.id}: \\d+ object`));
      assert.ok((await leftovers(k.id, k.watch)).length > 0, '--dry-run removes nothing');
    }
    const r = await cli(['cleanup', '--run', k.id], stateDir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /cleanup: removed \d+ object\(s\)/);
    assert.deepEqual(await settle(k.id, k.watch), [], r.stdout);
    assert.equal(fs.existsSync(path.join(stateDir, 'ledgers', `${k.id}.jsonl`)), false);
    assert.equal(processAlive(server.pid!), false, 'the server in the peer namespace was stopped');
  });
}

test('SIGKILL and the ledger deleted too: the orphan sweep finds the run by name and marker', { skip, timeout: 120_000 }, async () => {
  const k = await killed('macvtap');
  fs.rmSync(path.join(stateDir, 'ledgers', `${k.id}.jsonl`));
  const r = await cli(['cleanup', '--run', k.id], stateDir);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`removing orphan process ${k.qemuPid} `));
  assert.match(r.stdout, new RegExp(`removing orphan namespace vnb-${k.id}-g`));
  // The devtmpfs node goes with the macvtap, which goes with its namespace.
  assert.deepEqual(await settle(k.id, k.watch), [], r.stdout);
});

test('SIGKILL in real-NIC mode: cleanup moves the peer port back and restores its state', { skip, timeout: 120_000 }, async () => {
  const prev = process.env.VNETBENCH_STATE_DIR;
  process.env.VNETBENCH_STATE_DIR = stateDir; // the fake ports' own ledger lives there too
  const ports = await fakePorts({ peerMtu: 1400 });
  try {
    const before = await linkState(ports.peerNic);
    const run = spawnRun(['macvtap', `nic:${ports.nic}:${ports.peerNic}`], stateDir);
    const ready = await run.phase('ready');
    run.child.kill('SIGKILL');
    await run.exit;
    assert.equal(await linkState(ports.peerNic), undefined, 'the port is still in the dead run\'s namespace');
    assert.equal((await linkState(ports.nic))?.up, true);
    const r = await cli(['cleanup', '--run', ready.id], stateDir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`removed moved-link:${ports.peerNic}`));
    assert.deepEqual(await linkState(ports.peerNic), before, 'back home, down, MTU 1400');
    assert.equal((await linkState(ports.nic))?.up, false, 'guest port set down again');
    assert.deepEqual(await settle(ready.id), [], r.stdout);
  } finally {
    assert.deepEqual(await ports.remove(), []);
    process.env.VNETBENCH_STATE_DIR = prev;
  }
});

test('cleanup refuses a malformed run id (exit 2, nothing touched)', { skip }, async () => {
  const r = await cli(['cleanup', '--run', 'NOT-AN-ID'], stateDir);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--run NOT-AN-ID: a run id is 6 lowercase hex digits/);
});
