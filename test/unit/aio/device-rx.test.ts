// RX through the aio-tap device, both engines: frames written to the tap land in the posted
// guest buffers with the virtio-net header the spec asks for (§5.1.6.4): num_buffers = 1 without
// MRG_RXBUF (H1); with MRG_RXBUF a 9000-byte frame spans 1 KiB buffers, all but the last full,
// returned consecutively with num_buffers right (H2), including buffers of exactly 12 bytes (H3);
// flags 0 without GUEST_CSUM (H5); used.len = header + frame (S5); and nothing is written past
// the bytes reported (canaries, S4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, featureSet } from '../../../harness/virtio/features.ts';
import { testFrame, frameNonce } from '../../../harness/vhost/frames.ts';
import { byteView } from '../../../harness/virtio/driver/views.ts';
import { decodeNetHdr } from '../../../harness/virtio/net-header.ts';
import type { EngineName } from '../../../harness/aio/engines/types.ts';
import { HDR, connectDriver, isRoot, postRx, startDevice, waitUsed, type Driver } from './rig.ts';

const skip = !isRoot() && 'needs root (network namespace, tap, AF_PACKET)';
const CANARY = 0xa5;
const TO_GUEST = Uint8Array.from([0x02, 0x76, 0x6e, 0x62, 0x00, 0x01]);
const FROM_PEER = Uint8Array.from([0x02, 0x76, 0x6e, 0x62, 0x00, 0x02]);
const inbound = (nonce: number, len: number) => testFrame(nonce, len, TO_GUEST, FROM_PEER);

/** The buffers of one packet (consecutive used entries), reassembled. */
function packetOf(d: Driver, bufs: number[], used: { len: number; token: number }[]): { hdr: ReturnType<typeof decodeNetHdr>; frame: Uint8Array } {
  const first = byteView(d.mem.memory, bufs[used[0]!.token]!, HDR);
  const parts = used.map((u, i) => byteView(d.mem.memory, bufs[u.token]! + (i === 0 ? HDR : 0), u.len - (i === 0 ? HDR : 0)));
  return { hdr: decodeNetHdr(first), frame: Buffer.concat(parts.map((p) => Buffer.from(p))) };
}

function canaryIntact(d: Driver, at: number, from: number, to: number): boolean {
  return byteView(d.mem.memory, at + from, to - from).every((b) => b === CANARY);
}

for (const engine of ['io_uring', 'linux-aio'] as EngineName[]) {
  test(`${engine}: without MRG_RXBUF each frame fills one buffer: header with num_buffers 1 and flags 0, len = 12 + frame`, { skip }, async () => {
    const dev = await startDevice({ engine });
    try {
      const d = await connectDriver(dev.socket, { features: featureSet(F.F_VERSION_1, F.F_EVENT_IDX), size: 64 });
      const bufs = postRx(d, 32, 1526, 0, CANARY);
      const sizes = [60, 61, 128, 1000, 1514];
      sizes.forEach((len, k) => dev.wire.send(inbound(0x9000 + k, len)));
      const used = await waitUsed(d.rx[0]!, sizes.length);
      assert.equal(used.length, sizes.length, 'every frame delivered');
      const byNonce = new Map<number, (typeof used)[number]>();
      for (const u of used) {
        const { hdr, frame } = packetOf(d, bufs, [u]);
        assert.equal(hdr.numBuffers, 1, 'num_buffers = 1 without MRG_RXBUF (H1)');
        assert.equal(hdr.flags, 0, 'flags 0 without GUEST_CSUM (H5)');
        assert.equal(hdr.gsoType, 0, 'no GSO without GUEST_TSO (H6)');
        const nonce = frameNonce(frame)!;
        byNonce.set(nonce, u);
        assert.deepEqual(Buffer.from(frame), Buffer.from(inbound(nonce, sizes[nonce - 0x9000]!)), 'frame byte-identical');
        assert.equal(u.len, HDR + sizes[nonce - 0x9000]!, 'used.len = header + frame (S5)');
        assert.ok(canaryIntact(d, bufs[u.token]!, u.len, 1526), 'nothing written past used.len (S4)');
      }
      assert.equal(byNonce.size, sizes.length);
      await d.close();
    } finally {
      await dev.close();
    }
  });

  test(`${engine}: MRG_RXBUF: a 9000-byte frame over 1 KiB buffers: num_buffers 9, first 8 full, consecutive (H2)`, { skip }, async () => {
    const dev = await startDevice({ engine, mtu: 9000 });
    try {
      const d = await connectDriver(dev.socket, { features: featureSet(F.F_VERSION_1, F.F_EVENT_IDX, F.NET_F_MRG_RXBUF), size: 256 });
      const bufs = postRx(d, 200, 1024, 0, CANARY);
      const big = inbound(0x9100, 9000);
      const small = inbound(0x9101, 100);
      dev.wire.send(big);
      const u1 = await waitUsed(d.rx[0]!, 9);
      assert.equal(u1.length, 9);
      const p1 = packetOf(d, bufs, u1);
      assert.equal(p1.hdr.numBuffers, 9, 'num_buffers counts the buffers of the packet');
      assert.deepEqual(u1.map((u) => u.len), [1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 9012 - 8 * 1024], 'all but the last buffer full');
      assert.deepEqual(Buffer.from(p1.frame), Buffer.from(big), 'the frame reassembles byte for byte');
      assert.ok(canaryIntact(d, bufs[u1[8]!.token]!, u1[8]!.len, 1024), 'nothing past the last buffer\'s len');
      dev.wire.send(small);
      const u2 = await waitUsed(d.rx[0]!, 1);
      const p2 = packetOf(d, bufs, u2);
      assert.equal(p2.hdr.numBuffers, 1);
      assert.deepEqual(Buffer.from(p2.frame), Buffer.from(small));
      await d.close();
    } finally {
      await dev.close();
    }
  });
}

test('MRG_RXBUF: buffers of exactly 12 bytes are accepted: the header alone in the first (H3)', { skip }, async () => {
  const dev = await startDevice({ engine: 'io_uring', rxDepth: 1 });
  try {
    const d = await connectDriver(dev.socket, { features: featureSet(F.F_VERSION_1, F.NET_F_MRG_RXBUF), size: 64 });
    const tiny = postRx(d, 2, 12, 0, CANARY);
    const rest = postRx(d, 8, 2048, 0, CANARY);
    const bufs = [...tiny, ...rest.map((x) => x)];
    // Tokens of the second batch restart at 0: map them after the first two.
    const f = inbound(0x9201, 500);
    dev.wire.send(f);
    const used = await waitUsed(d.rx[0]!, 3, 5000);
    const ids = used.map((u, i) => ({ ...u, token: i < 2 ? u.token : 2 + u.token }));
    assert.deepEqual(ids.map((u) => u.len), [12, 12, 488], 'header alone, then 12 frame bytes, then the rest');
    const p = packetOf(d, bufs, ids);
    assert.equal(p.hdr.numBuffers, 3);
    assert.deepEqual(Buffer.from(p.frame), Buffer.from(f));
    await d.close();
  } finally {
    await dev.close();
  }
});

test('MRG_RXBUF, guest short of buffers: a 9000-byte frame that overflows the buffers waits for more and arrives whole', { skip }, async () => {
  const dev = await startDevice({ engine: 'io_uring', mtu: 9000 });
  try {
    const d = await connectDriver(dev.socket, { features: featureSet(F.F_VERSION_1, F.F_EVENT_IDX, F.NET_F_MRG_RXBUF), size: 64 });
    const first = postRx(d, 4, 1024, 0, CANARY);
    const big = inbound(0x9301, 9000);
    dev.wire.send(big);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(d.rx[0]!.getUsed(), null, 'nothing delivered while the packet does not fit the posted buffers');
    assert.equal(dev.server.stats().rxSpilled, 1, 'the rest of it waits in the device');
    const more = postRx(d, 8, 1024, 0, CANARY);
    const used = await waitUsed(d.rx[0]!, 9);
    assert.equal(used.length, 9);
    const bufs = [...first, ...more];
    // Tokens restart at 0 for the second batch: the first 4 used entries are the first batch.
    const ids = used.map((u, i) => ({ ...u, token: i < 4 ? u.token : 4 + u.token }));
    const p = packetOf(d, bufs, ids);
    assert.equal(p.hdr.numBuffers, 9);
    assert.deepEqual(ids.map((u) => u.len), [1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 9012 - 8 * 1024]);
    assert.deepEqual(Buffer.from(p.frame), Buffer.from(big), 'delivered whole, byte for byte');
    assert.equal(dev.server.stats().rxTruncated, 0);
    await d.close();
  } finally {
    await dev.close();
  }
});

test('without MRG_RXBUF a frame longer than the buffer is dropped, never delivered cut', { skip }, async () => {
  const dev = await startDevice({ engine: 'linux-aio' });
  try {
    const d = await connectDriver(dev.socket, { features: featureSet(F.F_VERSION_1), size: 64 });
    const bufs = postRx(d, 4, 212, 0, CANARY);
    dev.wire.send(inbound(0x9401, 500));
    dev.wire.send(inbound(0x9402, 150));
    const used = await waitUsed(d.rx[0]!, 1);
    const p = packetOf(d, bufs, used);
    assert.equal(frameNonce(p.frame), 0x9402, 'only the frame that fits arrives');
    assert.equal(used[0]!.len, HDR + 150);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(d.rx[0]!.getUsed(), null, 'and nothing else');
    assert.equal(dev.server.stats().rxTruncated, 1, 'the long one was counted as truncated');
    await d.close();
  } finally {
    await dev.close();
  }
});
