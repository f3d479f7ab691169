// Kernel vhost-net as a device under test, with a tap and with an AF_PACKET raw socket backend.
// On a kernel without CONFIG_VHOST_NET (this project's build machines) the traffic tests skip with
// the reason; the capability gate itself is checked everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ledger } from '../../../harness/core/ledger.ts';
import { CapabilityError } from '../../../harness/core/errors.ts';
import { shortId } from '../../../harness/core/names.ts';
import { VhostKernelSession, vhostNetMissing } from '../../../harness/vhost/vhost-kernel.ts';
import { startDut, parseDut, type Dut } from '../../../harness/vhost/dut.ts';
import { memfdGuestMemory } from '../../../harness/vhost/memfd-memory.ts';
import { bringUp, tearDown } from '../../../harness/vhost/bringup.ts';
import { eventfd } from '../../../harness/sys/eventfd.ts';
import { F, featureSet } from '../../../harness/virtio/features.ts';
import { GuestArena, createQueue } from '../../../harness/virtio/driver/index.ts';
import { byteView } from '../../../harness/virtio/driver/views.ts';
import { testFrame, isTestFrame, frameNonce, PEER_MAC, DEVICE_MAC } from '../../../harness/vhost/frames.ts';

const missing = vhostNetMissing();

test('capability gate: without /dev/vhost-net the transport refuses with the reason and creates nothing', { skip: missing ? false : '/dev/vhost-net present: the gate is not exercised' }, async () => {
  assert.equal(missing, '/dev/vhost-net missing (CONFIG_VHOST_NET)');
  assert.throws(() => VhostKernelSession.open(), (e: Error) => e instanceof CapabilityError && e.message === missing);
  const ledger = Ledger.create(`test-vhostnet-gate-${shortId()}`);
  await assert.rejects(startDut(parseDut('vhost-net:tap'), ledger), (e: Error) => e instanceof CapabilityError && e.message === missing);
  assert.deepEqual(ledger.live(), [], 'nothing was recorded, so nothing was created');
  assert.deepEqual(await ledger.teardown(), []);
});

for (const backend of ['tap', 'packet'] as const) {
  test(`vhost-net (${backend}): bring-up, TX and RX frames, teardown`, { skip: missing ?? false }, async () => {
    const ledger = Ledger.create(`test-vhostnet-${backend}-${shortId()}`);
    let dut: Dut | undefined;
    // The kernel dereferences user addresses in this process: real addresses in the table.
    const mem = memfdGuestMemory({ size: 4 << 20, uva: 'process' });
    const kicks = [eventfd(), eventfd()];
    const calls = [eventfd(), eventfd()];
    try {
      dut = await startDut(parseDut(`vhost-net:${backend}`), ledger);
      const s = await dut.connect();
      const arena = new GuestArena(mem.memory);
      // Packet backend: vhost adds/strips the header itself (VHOST_NET_F_VIRTIO_NET_HDR, bit 27).
      const wanted = featureSet(F.F_VERSION_1, ...(backend === 'packet' ? [F.VHOST_NET_F_VIRTIO_NET_HDR] : []));
      const rx = createQueue<number>(arena, { size: 256, features: wanted, kind: 'split' });
      const tx = createQueue<number>(arena, { size: 256, features: wanted, kind: 'split' });
      await bringUp(s, {
        features: wanted,
        memory: mem.memory,
        rings: [rx, tx].map((q, i) => ({
          index: i, num: q.size, desc: BigInt(q.layout.desc), avail: BigInt(q.layout.driver), used: BigInt(q.layout.device),
          kickFd: kicks[i].fd, callFd: calls[i].fd,
        })),
      });
      await dut.attach(s, [0, 1]);

      const out = testFrame(21, 100);
      const txBuf = arena.alloc(2048, 64);
      byteView(mem.memory, txBuf + 12, out.length).set(out);
      tx.add([{ addr: txBuf, len: 12 + out.length }], [], 0);
      kicks[1].signal();
      const seen = await dut.frames!.expect(isTestFrame(21), 5000);
      assert.deepEqual(Buffer.from(seen), Buffer.from(out));

      const rxBuf = arena.alloc(2048, 64);
      rx.add([], [{ addr: rxBuf, len: 2048 }], 0);
      kicks[0].signal();
      const inbound = testFrame(22, 256, DEVICE_MAC, PEER_MAC);
      dut.frames!.inject(inbound);
      await calls[0].wait(5000);
      const used = rx.getUsed();
      assert.ok(used);
      assert.equal(used.len, 12 + inbound.length, 'RX len == 12 + frame (vhost_net_test.c)');
      assert.equal(frameNonce(byteView(mem.memory, rxBuf + 12, inbound.length)), 22);
      await tearDown(s, [0, 1]);
      await s.close();
    } finally {
      for (const e of [...kicks, ...calls]) e.close();
      mem.close();
      await dut?.close();
      assert.deepEqual(await ledger.teardown(), []);
    }
  });
}
