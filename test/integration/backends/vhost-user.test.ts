// vhost-user backend for real: testpmd switches between its vhost-user socket and an AF_PACKET
// port on the wire inside the guest namespace; QEMU connects and negotiates; close() stops
// testpmd and removes the socket and DPDK's runtime directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { output } from '../../../harness/core/exec.ts';
import { processAlive } from '../../../harness/core/ledger.ts';
import { getBackend } from '../../../harness/backends/registry.ts';
import { parseEthtoolK } from '../../../harness/backends/hostops.ts';
import { isRoot } from '../topology/host-state.ts';
import { startQemu } from './qemu-probe.ts';
import { sleep, withRun } from './run.ts';

const hasTestpmd = fs.existsSync('/usr/bin/dpdk-testpmd');
const skip = (!isRoot() && 'needs root') || (!hasTestpmd && 'dpdk-testpmd not installed (Debian package dpdk-dev)');

const nsInode = (p: string) => fs.statSync(p).ino;

test('vhost-user: testpmd in the guest namespace, QEMU negotiates over the socket, all removed', { skip, timeout: 120_000 }, async () => {
  await withRun({ backends: ['vhost-user'] }, async ({ topo, ctx, watch }) => {
    const inst = await getBackend('vhost-user').setup(ctx);
    const d = inst.details as { socket: string; testpmdPid: number; testpmdLog: string };
    watch.push(d.socket, `/run/dpdk/vnb-${topo.id}-testpmd`);
    const [pmd] = inst.processes();
    assert.deepEqual(pmd, { pid: d.testpmdPid, role: 'backend' });
    assert.equal(fs.readFileSync(`/proc/${pmd!.pid}/comm`, 'utf8').trim(), 'dpdk-testpmd');
    assert.equal(nsInode(`/proc/${pmd!.pid}/ns/net`), nsInode(`/run/netns/${topo.guestNs}`), 'testpmd runs in the guest namespace');
    assert.ok(fs.statSync(d.socket).isSocket());
    assert.equal(inst.net.sharedMemory, true);
    assert.equal(inst.vhostWorkers, false);
    assert.match(inst.net.args([]).join(' '), /vectors=0$/);
    // AF_PACKET cannot take GSO frames: offloads are off on both ends of the wire.
    for (const [ns, dev] of [[topo.guestNs!, topo.wire], [topo.peerNs!, topo.peerIf!]] as const) {
      const k = parseEthtoolK(await output(['ip', 'netns', 'exec', ns, 'ethtool', '-k', dev]));
      assert.equal(k['tcp-segmentation-offload'], 'off', dev);
      assert.equal(k['generic-segmentation-offload'], 'off', dev);
      assert.equal(k['tx-checksumming'], 'off', dev);
    }
    const qemu = await startQemu(topo, inst.net);
    try {
      assert.match(await qemu.hmp('info network'), /n0: index=0,type=vhost-user,vhost-user0 to c0/);
      // testpmd logs the vhost-user messages QEMU sent while creating the device.
      let log = '';
      for (let i = 0; i < 100 && !/VHOST_USER_SET_VRING_CALL/.test(log); i++, await sleep(50)) log = fs.readFileSync(d.testpmdLog, 'utf8');
      assert.match(log, /read message VHOST_USER_GET_FEATURES/);
      assert.match(log, /VHOST_USER_SET_VRING_CALL/);
    } finally {
      await qemu.quit();
    }
    await inst.close();
    assert.equal(processAlive(d.testpmdPid), false, 'testpmd stopped');
    assert.equal(fs.existsSync(d.socket), false);
    assert.equal(fs.existsSync(`/run/dpdk/vnb-${topo.id}-testpmd`), false);
    assert.match(fs.readFileSync(d.testpmdLog, 'utf8'), /Bye\.\.\./, 'testpmd shut down cleanly on its stdin newline');
  });
});
