// The reference device driven by the driver library (harness/virtio/driver), in-process: many
// frames each way across index wrap-around, for split and packed rings with and without
// EVENT_IDX, IN_ORDER and MRG_RXBUF. Frames must arrive byte-identical with the right used
// lengths and headers, and the device must never break on what a correct driver does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReferenceNetDevice } from '../../../../harness/virtio/device/reference-net.ts';
import { GuestArena, createQueue, type Virtqueue } from '../../../../harness/virtio/driver/index.ts';
import { F, featureSet } from '../../../../harness/virtio/features.ts';
import { VIRTIO_STATUS } from '../../../../harness/virtio/layout.ts';
import { sharedMemory } from '../../../../harness/virtio/memory.ts';
import { decodeNetHdr, emptyNetHdr, encodeNetHdr } from '../../../../harness/virtio/net-header.ts';
import { pattern } from './rings.ts';

const SIZE = 16;

interface Setup {
  dev: ReferenceNetDevice;
  rx: Virtqueue<number>;
  tx: Virtqueue<number>;
  bytes: Uint8Array;
  base: number;
  arena: GuestArena;
  sent: Uint8Array[];
}

function setup(features: bigint): Setup {
  const mem = sharedMemory(8 << 20);
  const arena = new GuestArena(mem);
  const sent: Uint8Array[] = [];
  const dev = new ReferenceNetDevice({ onTx: (f) => sent.push(f) });
  dev.setMemory(mem);
  const rx = createQueue<number>(arena, { size: SIZE, features });
  const tx = createQueue<number>(arena, { size: SIZE, features });
  for (const [i, q] of [rx, tx].entries()) {
    dev.setQueue(i, { size: SIZE, desc: q.layout.desc, driver: q.layout.driver, device: q.layout.device, base: q.deviceStart().base });
  }
  const S = VIRTIO_STATUS;
  dev.setStatus(S.ACKNOWLEDGE | S.DRIVER);
  dev.setDriverFeatures(features);
  dev.setStatus(S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK);
  dev.setStatus(dev.status | S.DRIVER_OK);
  assert.ok(dev.status & S.DRIVER_OK, dev.featureProblem());
  return { dev, rx, tx, bytes: mem.regions[0].bytes, base: Number(mem.regions[0].gpa), arena, sent };
}

const HDR = new Uint8Array(12);
encodeNetHdr(emptyNetHdr(), HDR);

const VARIANTS: Record<string, bigint> = {
  'split, flags': featureSet(F.F_VERSION_1),
  'split, EVENT_IDX + INDIRECT': featureSet(F.F_VERSION_1, F.F_EVENT_IDX, F.F_INDIRECT_DESC),
  'split, IN_ORDER + MRG_RXBUF': featureSet(F.F_VERSION_1, F.F_IN_ORDER, F.NET_F_MRG_RXBUF, F.F_EVENT_IDX),
  'packed, flags': featureSet(F.F_VERSION_1, F.F_RING_PACKED),
  'packed, EVENT_IDX + INDIRECT + MRG_RXBUF': featureSet(F.F_VERSION_1, F.F_RING_PACKED, F.F_EVENT_IDX, F.F_INDIRECT_DESC, F.NET_F_MRG_RXBUF),
  'packed, IN_ORDER': featureSet(F.F_VERSION_1, F.F_RING_PACKED, F.F_IN_ORDER),
};

describe('reference device driven by the driver library', () => {
  for (const [name, features] of Object.entries(VARIANTS)) {
    it(`${name}: TX frames arrive intact with used len 0`, () => {
      const s = setup(features);
      const slots = Array.from({ length: SIZE }, () => s.arena.alloc(2048));
      let kicks = 0;
      const total = 200; // > 12 laps of a 16-entry ring
      let done = 0;
      for (let k = 0; k < total; k++) {
        const frame = pattern(60 + (k % 50), k);
        const at = slots[k % SIZE];
        s.bytes.set(HDR, at - s.base);
        s.bytes.set(frame, at - s.base + 12);
        assert.notEqual(s.tx.add([{ addr: at, len: 12 }, { addr: at + 12, len: frame.length }], [], k), -1, `add ${k}`);
        if (s.tx.kickNeeded()) {
          kicks++;
          s.dev.kick(1);
        }
        for (let u = s.tx.getUsed(); u; u = s.tx.getUsed()) {
          assert.equal(u.len, 0);
          done++;
        }
      }
      assert.equal(done, total);
      assert.equal(s.sent.length, total);
      s.sent.forEach((f, k) => assert.deepEqual([...f], [...pattern(60 + (k % 50), k)]));
      assert.equal(s.dev.broken, undefined);
      assert.equal(s.dev.kicks[1], kicks, 'every kick the driver decided on reached the device');
      assert.ok(s.dev.calls[1] >= 1 && s.dev.calls[1] <= total);
    });

    it(`${name}: RX frames delivered with the right header and used len`, () => {
      const s = setup(features);
      const mrg = (features & featureSet(F.NET_F_MRG_RXBUF)) !== 0n;
      const bufLen = mrg ? 512 : 2048;
      const slots = Array.from({ length: SIZE }, () => s.arena.alloc(bufLen));
      const post = (k: number) => assert.notEqual(s.rx.add([], [{ addr: slots[k % SIZE], len: bufLen }], k % SIZE), -1);
      for (let k = 0; k < SIZE; k++) post(k);
      if (s.rx.kickNeeded()) s.dev.kick(0);
      let posted = SIZE;
      for (let k = 0; k < 100; k++) {
        const frame = pattern(100 + ((k * 37) % 1300), k);
        const r = s.dev.inject(frame);
        assert.equal(r.kind, 'delivered', `frame ${k}: ${JSON.stringify(r)}`);
        // Reassemble from used buffers: the first carries the header and num_buffers.
        const first = s.rx.getUsed()!;
        assert.ok(first, 'a used buffer');
        const firstAt = slots[first.token] - s.base;
        const hdr = decodeNetHdr(s.bytes.subarray(firstAt, firstAt + 12));
        const parts = [s.bytes.slice(firstAt + 12, firstAt + first.len)];
        let total = first.len;
        for (let b = 1; b < hdr.numBuffers; b++) {
          const u = s.rx.getUsed()!;
          const at = slots[u.token] - s.base;
          parts.push(s.bytes.slice(at, at + u.len));
          total += u.len;
        }
        assert.equal(total, 12 + frame.length, `frame ${k}: used lengths add up to header + frame`);
        assert.deepEqual([...Buffer.concat(parts)], [...frame]);
        if (!mrg) assert.equal(hdr.numBuffers, 1);
        for (let b = 0; b < hdr.numBuffers; b++) post(posted++);
        if (s.rx.kickNeeded()) s.dev.kick(0);
      }
      assert.equal(s.dev.broken, undefined);
    });
  }
});
