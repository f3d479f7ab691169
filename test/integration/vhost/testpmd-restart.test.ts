// Live: a device under test that dies mid-session is seen as dead (the session reports the lost
// connection, the DUT reports the signal), restart() brings up a fresh testpmd on the same socket
// path, and a new session works. The ledger still removes everything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Ledger } from '../../../harness/core/ledger.ts';
import { exec, succeeds } from '../../../harness/core/exec.ts';
import { shortId } from '../../../harness/core/names.ts';
import { startDut, parseDut } from '../../../harness/vhost/dut.ts';
import { PeerClosedError } from '../../../harness/vhost/vhost-user-channel.ts';
import type { VhostUserFrontend } from '../../../harness/vhost/vhost-user-frontend.ts';

test('testpmd killed mid-session: detected, restarted, usable again', async (t) => {
  if (!(await succeeds(['sh', '-c', 'command -v dpdk-testpmd']))) return t.skip('dpdk-testpmd not installed (Debian dpdk-dev)');
  if (process.getuid?.() !== 0) return t.skip('needs root (network namespaces)');
  const ledger = Ledger.create(`test-vhost-restart-${shortId()}`);
  let ns = '';
  try {
    const dut = await startDut(parseDut('testpmd'), ledger);
    ns = dut.frames!.ns;
    const s1 = (await dut.connect()) as VhostUserFrontend;
    await s1.getFeatures();
    const pid = (await exec(['ip', 'netns', 'pids', ns])).stdout.trim().split('\n').map(Number);
    assert.equal(pid.length, 1, 'exactly one process (testpmd) in the namespace');
    process.kill(pid[0], 'SIGKILL');
    await assert.rejects(s1.getProtocolFeatures(), PeerClosedError);
    for (let i = 0; i < 50 && dut.alive(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(dut.alive(), false, 'DUT reports testpmd dead');
    await s1.close();

    await dut.restart!();
    assert.ok(dut.alive());
    const s2 = (await dut.connect()) as VhostUserFrontend;
    assert.ok((await s2.getFeatures()) > 0n, 'the restarted device answers');
    await s2.close();

    // The same socket named by a user (--dut vhost-user:/path): a session, no lifecycle.
    const sock = (s2 as VhostUserFrontend).label;
    const named = await startDut(parseDut(`vhost-user:${sock}`), ledger);
    assert.equal(named.restart, undefined, 'no restart for a device the suite does not own');
    assert.equal(named.frames, undefined, 'no frame port: the suite does not own its wire');
    const s3 = await named.connect();
    assert.ok((await s3.getFeatures()) > 0n);
    await s3.close();
    await named.close();
    assert.ok(dut.alive(), 'closing a user-named DUT leaves the device running');
    await dut.close();
  } finally {
    assert.deepEqual(await ledger.teardown(), []);
  }
  assert.ok(!(await exec(['ip', 'netns', 'list'])).stdout.includes(ns), 'namespace removed');
  assert.ok(!fs.existsSync('/var/run/dpdk') || fs.readdirSync('/var/run/dpdk').every((d) => !d.includes(ns.split('-')[1])), 'no DPDK runtime dir of ours left');
});
