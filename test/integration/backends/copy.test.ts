// copy backend for real: tap + bridge in the guest namespace, QEMU accepts the arguments and
// opens the tap, the wire carries traffic through the bridge, close() and teardown remove it all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exec, output } from '../../../harness/core/exec.ts';
import { getBackend } from '../../../harness/backends/registry.ts';
import { isRoot, pingArgv } from '../topology/host-state.ts';
import { startQemu } from './qemu-probe.ts';
import { withRun } from './run.ts';

const skip = !isRoot() && 'needs root';

interface LinkInfo {
  ifname: string;
  flags: string[];
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: { type?: string; multi_queue?: boolean; numqueues?: number; numdisabled?: number; vnet_hdr?: boolean } };
}
const link = async (ns: string, dev: string) =>
  (JSON.parse(await output(['ip', '-n', ns, '-d', '-j', 'link', 'show', 'dev', dev])) as LinkInfo[])[0]!;

test('copy: tap bridged to the wire; QEMU opens the tap; traffic crosses the bridge; all removed', { skip }, async () => {
  await withRun({ backends: ['copy'] }, async ({ topo, ctx }) => {
    const inst = await getBackend('copy').setup(ctx);
    const { tap, bridge } = inst.details as { tap: string; bridge: string };
    const ns = topo.guestNs!;
    assert.deepEqual(inst.net.passFds, []);
    assert.equal(inst.net.sharedMemory, false);
    assert.equal(inst.vhostWorkers, false);
    assert.deepEqual(inst.processes(), []);
    const t = await link(ns, tap);
    assert.equal(t.linkinfo?.info_kind, 'tun');
    assert.equal(t.linkinfo?.info_data?.type, 'tap');
    assert.equal(t.master, bridge);
    assert.equal((await link(ns, topo.wire)).master, bridge);
    assert.ok(!(await link(ns, tap)).flags.includes('LOWER_UP'), 'no carrier before QEMU attaches');

    const qemu = await startQemu(topo, inst.net);
    try {
      const info = await qemu.hmp('info network');
      assert.match(info, new RegExp(`n0: index=0,type=tap,ifname=${tap},script=no,downscript=no`));
      assert.match(info, new RegExp(`macaddr=${topo.guestMac}`));
      assert.ok((await link(ns, tap)).flags.includes('LOWER_UP'), 'QEMU holds the tap open: carrier on');
      // No guest yet: an address on the bridge answers for it, reached from the peer across the wire.
      await exec(['ip', '-n', ns, 'addr', 'add', `198.18.0.254/${topo.prefixLen}`, 'dev', bridge]);
      const ping = await exec(topo.inPeerNs(pingArgv('198.18.0.254')), { nothrow: true });
      assert.equal(ping.code, 0, ping.stdout + ping.stderr);
      assert.match(ping.stdout, /3 packets received/);
    } finally {
      await qemu.quit();
    }
    await inst.close();
    assert.notEqual((await exec(['ip', '-n', ns, 'link', 'show', 'dev', tap], { nothrow: true })).code, 0, 'tap removed by close()');
    assert.notEqual((await exec(['ip', '-n', ns, 'link', 'show', 'dev', bridge], { nothrow: true })).code, 0, 'bridge removed by close()');
    assert.equal((await link(ns, topo.wire)).master, undefined, 'the wire is released for the next backend');
  });
});

test('copy with queues=2: multi_queue tap, QEMU attaches two queues', { skip }, async () => {
  await withRun({ backends: ['copy'], queues: 2 }, async ({ topo, ctx }) => {
    const inst = await getBackend('copy').setup(ctx);
    const { tap } = inst.details as { tap: string };
    assert.equal((await link(topo.guestNs!, tap)).linkinfo?.info_data?.multi_queue, true);
    assert.match(inst.net.args([]).join(' '), /queues=2.*mq=on,vectors=6/);
    const qemu = await startQemu(topo, inst.net);
    try {
      const data = (await link(topo.guestNs!, tap)).linkinfo?.info_data;
      // QEMU opens one tap queue per queue pair and detaches all but the first until the guest
      // driver enables multiqueue (TUNSETQUEUE): attached + detached = 2.
      assert.equal((data?.numqueues ?? 0) + (data?.numdisabled ?? 0), 2, JSON.stringify(data));
      assert.equal(data?.vnet_hdr, true, 'QEMU switched the tap to virtio-net headers');
    } finally {
      await qemu.quit();
    }
    await inst.close();
  });
});
