// aio-tap and aio-macvtap as `vnetbench run` backends, for real: the device process runs in the
// guest namespace as a process-group leader recorded in the ledger (CPU role 'backend'), QEMU
// 7.2 accepts the vhost-user arguments (shared memfd memory, vectors=0 under TCG) and the device
// logs the connection; close() stops the process and removes the socket, the tap/bridge or the
// macvtap, and withRun checks that nothing of the run is left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { getBackend } from '../../../harness/backends/registry.ts';
import { processAlive } from '../../../harness/core/ledger.ts';
import { isRoot } from '../topology/host-state.ts';
import { startQemu } from '../backends/qemu-probe.ts';
import { sleep, withRun } from '../backends/run.ts';

const skip = !isRoot() && 'needs root';
const nsInode = (p: string) => fs.statSync(p).ino;

for (const name of ['aio-tap', 'aio-macvtap'] as const) {
  test(`${name}: device process in the guest namespace, QEMU connects over vhost-user, all removed`, { skip, timeout: 120_000 }, async () => {
    await withRun({ backends: [name] }, async ({ topo, ctx, watch }) => {
      const inst = await getBackend(name).setup(ctx);
      const d = inst.details as { socket: string; pid: number; log: string; engine: string };
      watch.push(d.socket);
      const [proc] = inst.processes();
      assert.deepEqual(proc, { pid: d.pid, role: 'backend' });
      assert.equal(nsInode(`/proc/${d.pid}/ns/net`), nsInode(`/run/netns/${topo.guestNs}`), 'the device runs in the guest namespace');
      const pgrp = Number(fs.readFileSync(`/proc/${d.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]);
      assert.equal(pgrp, d.pid, 'a process-group leader (teardown signals the group)');
      assert.ok(fs.statSync(d.socket).isSocket());
      assert.equal(d.engine, 'io_uring');
      assert.equal(inst.net.sharedMemory, true);
      assert.equal(inst.vhostWorkers, false);
      const args = inst.net.args([]).join(' ');
      assert.match(args, new RegExp(`-chardev socket,id=c0,path=${d.socket} -netdev vhost-user,id=n0,chardev=c0`));
      assert.match(args, /virtio-net-pci,netdev=n0,mac=[0-9a-f:]+,vectors=0$/);
      const qemu = await startQemu(topo, inst.net, ctx.ledger);
      try {
        assert.match(await qemu.hmp('info network'), /n0: index=0,type=vhost-user/);
        let log = '';
        for (let i = 0; i < 100 && !/front-end connected/.test(log); i++, await sleep(50)) log = fs.readFileSync(d.log, 'utf8');
        assert.match(log, /listening on .* (tap|macvtap) vnb/);
        assert.match(log, /front-end connected/);
      } finally {
        await qemu.quit();
      }
      await inst.close();
      assert.equal(processAlive(d.pid), false, 'device process stopped by close()');
      assert.equal(fs.existsSync(d.socket), false, 'socket removed');
    });
  });
}
