// macvtap backend for real: the macvtap on the wire, the right /dev/tapN opened by the harness,
// frames through that fd reach the peer and back, QEMU accepts the fds, and close() and teardown
// remove the link, the node and the fds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { exec, output } from '../../../harness/core/exec.ts';
import { getBackend } from '../../../harness/backends/registry.ts';
import { parseDevnum, rdevOf } from '../../../harness/backends/macvtap-device.ts';
import { isRoot } from '../topology/host-state.ts';
import { arpThroughFds } from './arp.ts';
import { startQemu } from './qemu-probe.ts';
import { withRun } from './run.ts';

const skip = !isRoot() && 'needs root';

interface Details {
  macvtap: string;
  netns: string;
  node: string;
  ifindex: number;
  devnum: string;
  mode: string;
  nodeCreatedByUs: boolean;
}

const fdTarget = (fd: number) => {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
};

const macvtapMode = async (ns: string, dev: string) =>
  (JSON.parse(await output(['ip', '-n', ns, '-d', '-j', 'link', 'show', 'dev', dev])) as { linkinfo: { info_kind: string; info_data: { mode: string } }; address: string }[])[0]!;

test('macvtap (bridge): right node, fd opens and carries frames to the peer, QEMU takes the fd, all removed', { skip, timeout: 120_000 }, async () => {
  await withRun({ backends: ['macvtap'] }, async ({ topo, ctx, watch }) => {
    const inst = await getBackend('macvtap').setup(ctx);
    const d = inst.details as unknown as Details;
    watch.push(d.node);
    const ns = topo.guestNs!;
    assert.equal(d.netns, ns);
    // The node is the macvtap's: its device number is the one sysfs gives in the namespace.
    const sysfs = parseDevnum(await output(['ip', 'netns', 'exec', ns, 'cat', `/sys/class/net/${d.macvtap}/macvtap/tap${d.ifindex}/dev`]));
    assert.equal(`${sysfs.major}:${sysfs.minor}`, d.devnum);
    const st = fs.statSync(d.node);
    assert.ok(st.isCharacterDevice());
    assert.equal(st.rdev, rdevOf(sysfs));
    assert.equal(d.node, d.nodeCreatedByUs ? `/dev/vnb-${topo.id}-tap${d.ifindex}` : `/dev/tap${d.ifindex}`);
    const link = await macvtapMode(ns, d.macvtap);
    assert.equal(link.linkinfo.info_kind, 'macvtap');
    assert.equal(link.linkinfo.info_data.mode, 'bridge');
    assert.equal(link.address, topo.guestMac, 'bridge mode delivers frames for the guest MAC');
    // The fd QEMU will get is open on that node.
    assert.equal(inst.net.passFds.length, 1);
    const [fd] = inst.net.passFds as [number];
    assert.equal(fdTarget(fd), d.node);
    assert.equal(fs.fstatSync(fd).rdev, st.rdev);
    // Without a guest: an ARP request written to the fd as the guest gets the peer's answer.
    const reply = await arpThroughFds([fd], topo.guestMac, topo.guestIp, topo.peerIp);
    assert.equal(reply.targetMac, topo.guestMac);
    assert.equal(reply.senderMac, (JSON.parse(await output(['ip', '-n', topo.peerNs!, '-j', 'link', 'show', 'dev', topo.peerIf!])) as { address: string }[])[0]!.address);

    const qemu = await startQemu(topo, inst.net);
    try {
      assert.match(await qemu.hmp('info network'), /n0: index=0,type=tap,fd=3/);
    } finally {
      await qemu.quit();
    }
    await inst.close();
    // The fd number may be reused by then, but not for our node.
    assert.notEqual(fdTarget(fd), d.node, 'close() closed the macvtap fd');
    assert.notEqual((await exec(['ip', '-n', ns, 'link', 'show', 'dev', d.macvtap], { nothrow: true })).code, 0, 'macvtap removed by close()');
  });
});

test('macvtap vepa and passthru modes, and queues=2 (two fds on the same node)', { skip, timeout: 120_000 }, async () => {
  for (const macvtapMode_ of ['vepa', 'passthru'] as const) {
    await withRun({ backends: ['macvtap'], macvtapMode: macvtapMode_, queues: 2 }, async ({ topo, ctx, watch }) => {
      const inst = await getBackend('macvtap').setup(ctx);
      const d = inst.details as unknown as Details;
      watch.push(d.node);
      assert.equal((await macvtapMode(topo.guestNs!, d.macvtap)).linkinfo.info_data.mode, macvtapMode_);
      assert.equal(inst.net.passFds.length, 2);
      for (const fd of inst.net.passFds) assert.equal(fdTarget(fd), d.node);
      assert.match(inst.net.args([3, 4]).join(' '), /fds=3:4,vhost=off -device virtio-net-pci,netdev=n0,mac=\S+,mq=on,vectors=6/);
      const reply = await arpThroughFds(inst.net.passFds, topo.guestMac, topo.guestIp, topo.peerIp);
      assert.equal(reply.targetMac, topo.guestMac);
      const qemu = await startQemu(topo, inst.net);
      try {
        assert.match(await qemu.hmp('info network'), /type=tap,fd=3[\s\S]*type=tap,fd=4/);
      } finally {
        await qemu.quit();
      }
      const fds = [...inst.net.passFds];
      await inst.close();
      for (const fd of fds) assert.notEqual(fdTarget(fd), d.node, `fd ${fd} closed`);
    });
  }
});
