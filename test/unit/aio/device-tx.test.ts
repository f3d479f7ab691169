// TX through the aio-tap device, both engines, driven by the driver ring library in-process:
// frames made available on the TX ring come out of the tap byte for byte and in order, every
// chain is returned with used len 0 (§2.7.8), and the device makes no assumption about the
// descriptor layout (§2.7.4, S3): a header in 1-byte fragments, indirect tables, zero-length
// descriptors and a bogus hdr_len all transmit the same frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, featureSet } from '../../../harness/virtio/features.ts';
import { testFrame, frameNonce } from '../../../harness/vhost/frames.ts';
import { byteView } from '../../../harness/virtio/driver/views.ts';
import type { EngineName } from '../../../harness/aio/engines/types.ts';
import { connectDriver, isRoot, sendFrame, startDevice, waitUsed } from './rig.ts';

const skip = !isRoot() && 'needs root (network namespace, tap, AF_PACKET)';

async function captureNonces(recv: (ms: number) => Promise<Uint8Array>, n: number, frames: Map<number, Uint8Array>): Promise<number[]> {
  const seen: number[] = [];
  while (seen.length < n) {
    const f = await recv(5000);
    const nonce = frameNonce(f);
    if (nonce === undefined) continue; // not ours
    assert.deepEqual(Buffer.from(f), Buffer.from(frames.get(nonce)!), `frame ${nonce} byte-identical on the wire`);
    seen.push(nonce);
  }
  return seen;
}

for (const engine of ['io_uring', 'linux-aio'] as EngineName[]) {
  test(`${engine}: 300 frames through a 64-entry TX ring reach the tap in order; every chain comes back with len 0`, { skip }, async () => {
    const dev = await startDevice({ engine, batch: 16 });
    try {
      const d = await connectDriver(dev.socket, { features: featureSet(F.F_VERSION_1, F.F_EVENT_IDX), size: 64 });
      const frames = new Map<number, Uint8Array>();
      const returned: { len: number; token: number }[] = [];
      const sent: number[] = [];
      for (let k = 0; k < 300; k++) {
        const f = testFrame(0x7000 + k, 60 + ((k * 97) % 1455));
        frames.set(0x7000 + k, f);
        while (d.tx[0]!.numFree < 1) returned.push(...(await waitUsed(d.tx[0]!, 1)));
        sendFrame(d, f, k);
        sent.push(0x7000 + k);
      }
      const seen = await captureNonces((ms) => dev.wire.recv(ms), 300, frames);
      assert.deepEqual(seen, sent, 'all 300 frames, in the order they were made available');
      returned.push(...(await waitUsed(d.tx[0]!, 300 - returned.length)));
      assert.equal(returned.length, 300);
      assert.ok(returned.every((u) => u.len === 0), 'TX used len is 0: the device wrote nothing (S5)');
      assert.deepEqual(returned.map((u) => u.token).sort((a, b) => a - b), [...Array(300).keys()], 'each chain returned exactly once (S6)');
      const s = dev.server.stats();
      assert.equal(s.txPackets, 300);
      assert.ok(s.writesPosted >= 300 && s.syscalls < 300 * 2, `batched: ${s.syscalls} system calls for 300 frames`);
      await d.close();
    } finally {
      await dev.close();
    }
  });

  test(`${engine}: a 1-byte-fragmented header, an indirect table, zero-length descriptors and garbage hdr_len transmit the same frame`, { skip }, async () => {
    const dev = await startDevice({ engine });
    try {
      const d = await connectDriver(dev.socket, { features: featureSet(F.F_VERSION_1, F.F_INDIRECT_DESC, F.F_EVENT_IDX), size: 64 });
      const f = testFrame(0x8101, 200);
      // Header in 12 separate bytes (every other byte of a scratch area), then the frame in three pieces with a zero-length one between.
      const hdrAt = d.arena.alloc(64, 16);
      const hdrBytes = new Uint8Array(12);
      hdrBytes[2] = 0xff; // hdr_len = 0xff (bogus, not trusted without GSO: §5.1.6.2.2)
      hdrBytes[3] = 0x7f;
      hdrBytes[0] = 0x40; // an undefined flag bit (ignored, H9)
      hdrBytes.forEach((b, i) => (byteView(d.mem.memory, hdrAt + 2 * i, 1)[0] = b));
      const dataAt = d.arena.alloc(512, 16);
      byteView(d.mem.memory, dataAt, f.length).set(f);
      const out = [
        ...[...Array(12).keys()].map((i) => ({ addr: hdrAt + 2 * i, len: 1 })),
        { addr: dataAt, len: 50 },
        { addr: dataAt + 50, len: 0 },
        { addr: dataAt + 50, len: 150 },
      ];
      assert.ok(d.tx[0]!.add(out, [], 1, false) >= 0, 'direct chain of 15 descriptors');
      assert.ok(d.tx[0]!.add(out, [], 2, true) >= 0, 'the same through an indirect table');
      d.kicks[1]!.signal();
      const frames = new Map([[0x8101, f]]);
      await captureNonces((ms) => dev.wire.recv(ms), 2, frames);
      const used = await waitUsed(d.tx[0]!, 2);
      assert.deepEqual(used.map((u) => u.len), [0, 0]);
      assert.equal(dev.server.stats().txBadHeader, 0);
      await d.close();
    } finally {
      await dev.close();
    }
  });
}

test('a TX header with a GSO type the driver did not negotiate is not sent; its chain still comes back', { skip }, async () => {
  const dev = await startDevice({ engine: 'io_uring' });
  try {
    const d = await connectDriver(dev.socket, { features: featureSet(F.F_VERSION_1) });
    sendFrame(d, testFrame(0x8201, 1514), 1, { gsoType: 1, gsoSize: 1000, flags: 0 });
    sendFrame(d, testFrame(0x8202, 100), 2);
    const f = await dev.wire.recv(5000);
    assert.equal(frameNonce(f), 0x8202, 'only the valid frame reached the wire');
    const used = await waitUsed(d.tx[0]!, 2);
    assert.deepEqual(used.map((u) => u.token).sort(), [1, 2]);
    assert.equal(dev.server.stats().txBadHeader, 1);
    await d.close();
  } finally {
    await dev.close();
  }
});
