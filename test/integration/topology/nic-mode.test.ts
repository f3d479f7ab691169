// Real-NIC mode, live on a veth pair standing in for two back-to-back ports: the peer port is
// moved into the run's peer namespace and comes back (state and MTU restored) at teardown; the
// guest port is brought up and set down again; macvtap, copy and vhost-user run on the "NIC" in
// the host namespace and give back what they changed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { output } from '../../../harness/core/exec.ts';
import { Ledger } from '../../../harness/core/ledger.ts';
import { shortId } from '../../../harness/core/names.ts';
import { RunConfigSchema } from '../../../harness/config/schema.ts';
import { getBackend } from '../../../harness/backends/registry.ts';
import { parseEthtoolK } from '../../../harness/backends/hostops.ts';
import { topologyProvider } from '../../../harness/topology/index.ts';
import { arpThroughFds } from '../backends/arp.ts';
import { fakePorts, linkState, tempStateDir, type FakePorts } from './fake-ports.ts';
import { isRoot, settle } from './host-state.ts';

const skip = !isRoot() && 'needs root';
let state: ReturnType<typeof tempStateDir>;
let ports: FakePorts;
before(async () => {
  if (skip) return;
  state = tempStateDir();
  ports = await fakePorts({ peerMtu: 1400 });
});
after(async () => {
  if (skip) return;
  assert.deepEqual(await ports.remove(), []);
  state.restore();
});

const offloads = async (dev: string, ns?: string) =>
  parseEthtoolK(await output(ns ? ['ip', 'netns', 'exec', ns, 'ethtool', '-k', dev] : ['ethtool', '-k', dev]));

test('real-NIC mode on back-to-back ports: move, use, and give everything back', { skip, timeout: 180_000 }, async () => {
  const { nic, peerNic } = ports;
  const before = { nic: await linkState(nic), peer: await linkState(peerNic), nicOffloads: await offloads(nic) };
  assert.deepEqual(before.nic, { up: false, mtu: 1500 });
  assert.deepEqual(before.peer, { up: false, mtu: 1400 });
  const config = RunConfigSchema.parse({ topology: { kind: 'nic', nic, peerNic } });
  const ledger = Ledger.create(shortId());
  const id = ledger.runId;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `vnb-${id}-work`));
  ledger.add({ kind: 'tmpdir', path: workDir });
  try {
    const topo = await topologyProvider(config.topology).create(ledger);
    assert.equal(topo.guestNs, undefined, 'QEMU and the backends use the host namespace');
    assert.equal(topo.wire, nic);
    assert.equal(await linkState(peerNic), undefined, 'the peer port left the host namespace');
    assert.deepEqual(await linkState(peerNic, topo.peerNs), { up: true, mtu: 1400 });
    assert.match(await output(['ip', '-n', topo.peerNs!, 'addr', 'show', 'dev', peerNic]), /inet 198\.18\.0\.1\/24/);
    assert.equal((await linkState(nic))?.up, true);
    const ctx = { config, topology: topo, ledger, workDir, accel: 'tcg' as const };

    // macvtap on the "NIC": frames from the fd cross the cable to the moved port and back.
    const mv = await getBackend('macvtap').setup(ctx);
    const reply = await arpThroughFds(mv.net.passFds, topo.guestMac, topo.guestIp, topo.peerIp);
    assert.equal(reply.targetMac, topo.guestMac);
    await mv.close();

    // copy bridges the NIC in the host namespace and releases it on close.
    const cp = await getBackend('copy').setup(ctx);
    assert.equal((await linkState(nic))?.master, (cp.details as { bridge: string }).bridge);
    await cp.close();
    assert.equal((await linkState(nic))?.master, undefined);

    // vhost-user turns offloads off on both ports and records the originals: close() restores them.
    const vu = await getBackend('vhost-user').setup(ctx);
    assert.equal((await offloads(nic))['tcp-segmentation-offload'], 'off');
    assert.equal((await offloads(peerNic, topo.peerNs))['tcp-segmentation-offload'], 'off');
    assert.ok(ledger.live().some((o) => o.kind === 'link-settings' && o.name === nic && o.restore.offloads?.tso === 'on'));
    await vu.close();
    for (const k of ['tx-checksumming', 'tcp-segmentation-offload', 'generic-segmentation-offload', 'generic-receive-offload']) {
      assert.equal((await offloads(nic))[k], before.nicOffloads[k], k);
    }
    assert.equal((await offloads(peerNic, topo.peerNs))['tcp-segmentation-offload'], 'on');
  } finally {
    assert.deepEqual(await ledger.teardown(), []);
  }
  assert.deepEqual(await linkState(peerNic), before.peer, 'peer port back home, down, MTU 1400');
  assert.deepEqual(await linkState(nic), before.nic, 'guest port down again');
  assert.deepEqual(await settle(id), []);
});
