// vhost-net backends on this host: doctor's real capabilities say /dev/vhost-net is missing, so
// vhost, macvtap-vhost and vhost-raw report not runnable with that reason, and setup refuses
// before creating anything. On a host with /dev/vhost-net the availability check flips (tested in
// the unit tests) and these setups run like copy/macvtap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { CapabilityError } from '../../../harness/core/errors.ts';
import { getBackend } from '../../../harness/backends/registry.ts';
import { probeHost } from '../../../harness/doctor/probe.ts';
import { isRoot } from '../topology/host-state.ts';
import { withRun } from './run.ts';

const hasVhostNet = fs.existsSync('/dev/vhost-net');
const skip = (!isRoot() && 'needs root') || (hasVhostNet && '/dev/vhost-net exists on this host: the not-runnable path does not apply');

test('vhost, macvtap-vhost and vhost-raw are not runnable: "/dev/vhost-net missing"', { skip, timeout: 120_000 }, async () => {
  const caps = await probeHost({});
  assert.equal(caps.vhostNet.ok, false, caps.vhostNet.evidence);
  for (const name of ['vhost', 'macvtap-vhost', 'vhost-raw'] as const) {
    const a = getBackend(name).availability(caps);
    assert.equal(a.runnable, false, name);
    assert.match(a.reason, /\/dev\/vhost-net missing/, `${name}: ${a.reason}`);
    assert.match(a.fix ?? '', /vhost_net/);
    if (name !== 'vhost-raw') assert.match(a.reason, /^\/dev\/vhost-net missing/, 'the most specific cause comes first');
  }
  // The backends that need no vhost-net are runnable here (same probe).
  for (const name of ['copy', 'macvtap', 'vhost-user'] as const) {
    const a = getBackend(name).availability(caps);
    assert.equal(a.runnable, true, `${name}: ${a.reason}`);
  }
});

test('vhost and macvtap-vhost setup refuse with CapabilityError before creating anything', { skip, timeout: 120_000 }, async () => {
  for (const name of ['vhost', 'macvtap-vhost', 'vhost-raw'] as const) {
    await withRun({ backends: [name] }, async ({ ledger, ctx }) => {
      const before = ledger.live();
      await assert.rejects(getBackend(name).setup(ctx), (e: unknown) => e instanceof CapabilityError && /vhost-net|TUNGETIFF/.test(e.message));
      assert.deepEqual(ledger.live(), before, `${name} recorded nothing`);
    });
  }
});
