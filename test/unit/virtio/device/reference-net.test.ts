// The reference virtio-net device: negotiation and status, TX, RX (mergeable or not), IN_ORDER,
// notification counts, reset, and marking itself broken.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { F, featureSet } from '../../../../harness/virtio/features.ts';
import { VIRTIO_STATUS, VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_NEXT } from '../../../../harness/virtio/layout.ts';
import { decodeNetHdr, emptyNetHdr, encodeNetHdr } from '../../../../harness/virtio/net-header.ts';
import { ReferenceNetDevice } from '../../../../harness/virtio/device/reference-net.ts';
import { rejectFeatures } from '../../../../harness/virtio/device/net-features.ts';
import { pattern } from './rings.ts';
import { NetRig, RX_BUF } from './net-rig.ts';

const S = VIRTIO_STATUS;
const V1 = featureSet(F.F_VERSION_1);
const MRG = featureSet(F.F_VERSION_1, F.NET_F_MRG_RXBUF);

function hdrBytes(flags = 0): Uint8Array {
  const b = new Uint8Array(12);
  encodeNetHdr({ ...emptyNetHdr(), flags }, b);
  return b;
}

describe('reference virtio-net: negotiation and status', () => {
  it('keeps FEATURES_OK for an offered subset with VERSION_1', () => {
    const rig = new NetRig(MRG);
    assert.equal(rig.start(), S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
  });

  it('refuses FEATURES_OK (and so DRIVER_OK) for a feature it did not offer', () => {
    const rig = new NetRig(featureSet(F.F_VERSION_1, F.NET_F_CSUM));
    assert.equal(rig.start() & (S.FEATURES_OK | S.DRIVER_OK), 0);
    assert.match(rig.dev.featureProblem()!, /features not offered: NET_F_CSUM/);
  });

  it('names the missing prerequisite and the missing VERSION_1', () => {
    const offered = featureSet(F.F_VERSION_1, F.NET_F_GUEST_TSO4, F.NET_F_GUEST_CSUM);
    assert.equal(rejectFeatures(offered, featureSet(F.F_VERSION_1, F.NET_F_GUEST_TSO4)), 'NET_F_GUEST_TSO4 requires NET_F_GUEST_CSUM');
    assert.match(rejectFeatures(offered, featureSet(F.NET_F_GUEST_CSUM))!, /VERSION_1 not accepted/);
    assert.equal(rejectFeatures(offered, offered), undefined);
  });

  it('ignores feature writes after FEATURES_OK', () => {
    const rig = new NetRig(V1);
    rig.start();
    rig.dev.setDriverFeatures(MRG);
    assert.equal(rig.dev.features, V1);
  });

  it('does not touch the rings on a kick before DRIVER_OK (F4)', () => {
    const rig = new NetRig(V1);
    rig.send(0, hdrBytes(), pattern(60));
    rig.dev.kick(1);
    assert.equal(rig.dev.kicks[1], 1);
    assert.equal(rig.sent.length, 0);
    assert.equal(rig.txSplit.usedIdx(), 0);
    assert.deepEqual(rig.dev.inject(pattern(60)), { kind: 'dropped', reason: 'not-ready' });
  });
});

describe('reference virtio-net: transmit', () => {
  for (const kind of ['split', 'packed'] as const) {
    it(`${kind}: hands header + frame to the sink, returns used len 0, and calls`, () => {
      const rig = new NetRig(kind === 'packed' ? featureSet(F.F_VERSION_1, F.F_RING_PACKED) : V1);
      rig.start();
      const frame = pattern(200, 5);
      rig.send(0, hdrBytes(0x80), frame); // an undefined flag bit the device must ignore (H9)
      rig.dev.kick(1);
      assert.equal(rig.sent.length, 1);
      assert.deepEqual([...rig.sent[0].frame], [...frame]);
      assert.equal(rig.sent[0].hdr.flags, 0x80);
      assert.deepEqual(rig.used(rig.tx, 1, [2]), [{ id: 0, len: 0 }]);
      assert.equal(rig.dev.calls[1], 1);
    });
  }

  it('takes every buffer added before it re-enabled kicks (no stall)', () => {
    const rig = new NetRig(featureSet(F.F_VERSION_1, F.F_EVENT_IDX));
    rig.start();
    for (let k = 0; k < 3; k++) rig.send(k, hdrBytes(), pattern(60 + k));
    rig.dev.kick(1);
    assert.equal(rig.sent.length, 3);
    assert.equal(rig.txSplit.usedIdx(), 3);
    assert.equal(rig.txSplit.availEvent(), 3, 'avail_event asks for the next buffer');
  });

  it('IN_ORDER: returns a TX batch with one used entry', () => {
    const rig = new NetRig(featureSet(F.F_VERSION_1, F.F_IN_ORDER));
    rig.start();
    for (let k = 0; k < 3; k++) rig.send(k, hdrBytes(), pattern(60));
    rig.dev.kick(1);
    assert.equal(rig.txSplit.usedIdx(), 3);
    assert.deepEqual(rig.txSplit.usedElem(0), { id: 4, len: 0 });
  });

  it('honours NO_INTERRUPT: no call (N2)', () => {
    const rig = new NetRig(V1);
    rig.start();
    rig.txSplit.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    rig.send(0, hdrBytes(), pattern(60));
    rig.dev.kick(1);
    assert.equal(rig.sent.length, 1);
    assert.equal(rig.dev.calls[1], 0);
  });
});

describe('reference virtio-net: receive', () => {
  it('without MRG_RXBUF: one buffer, num_buffers = 1, used len = 12 + frame', () => {
    const rig = new NetRig(V1);
    rig.start();
    const at = rig.post(0, 2048);
    const frame = pattern(1000, 2);
    assert.deepEqual(rig.dev.inject(frame), { kind: 'delivered', buffers: 1, bytes: 1012 });
    assert.deepEqual(rig.rxSplit.usedElem(0), { id: 0, len: 1012 });
    assert.equal(decodeNetHdr(rig.ram.read(at, 12)).numBuffers, 1);
    assert.deepEqual([...rig.ram.read(at + 12, 1000)], [...frame]);
    assert.equal(rig.dev.calls[0], 1);
  });

  it('without MRG_RXBUF: a frame too big for the buffer is dropped and the buffer kept', () => {
    const rig = new NetRig(V1);
    rig.start();
    rig.post(0, 100);
    assert.deepEqual(rig.dev.inject(pattern(200)), { kind: 'dropped', reason: 'buffer-too-small' });
    assert.equal(rig.rxSplit.usedIdx(), 0);
    assert.equal(rig.dev.inject(pattern(80)).kind, 'delivered');
  });

  it('no posted buffers: dropped, nothing written', () => {
    const rig = new NetRig(V1);
    rig.start();
    assert.deepEqual(rig.dev.inject(pattern(60)), { kind: 'dropped', reason: 'no-buffers' });
    assert.equal(rig.dev.stats.rxDropped, 1);
  });

  for (const kind of ['split', 'packed'] as const) {
    it(`${kind} MRG_RXBUF: spreads a 3000-byte frame over 1 KiB buffers, first ones full (H2)`, () => {
      const rig = new NetRig(kind === 'packed' ? featureSet(F.F_VERSION_1, F.NET_F_MRG_RXBUF, F.F_RING_PACKED) : MRG);
      rig.start();
      const at = [0, 1, 2, 3].map((k) => rig.post(k, 1024));
      const frame = pattern(3000, 7);
      assert.deepEqual(rig.dev.inject(frame), { kind: 'delivered', buffers: 3, bytes: 3012 });
      assert.deepEqual(rig.used(rig.rx, 3), [
        { id: 0, len: 1024 },
        { id: 1, len: 1024 },
        { id: 2, len: 964 },
      ]);
      assert.equal(decodeNetHdr(rig.ram.read(at[0], 12)).numBuffers, 3);
      const got = new Uint8Array([...rig.ram.read(at[0] + 12, 1012), ...rig.ram.read(at[1], 1024), ...rig.ram.read(at[2], 964)]);
      assert.deepEqual([...got], [...frame]);
      assert.equal(rig.dev.calls[0], 1, 'one notification for the whole packet');
    });
  }

  it('MRG_RXBUF: not enough buffers → dropped, and the taken ones go back', () => {
    const rig = new NetRig(MRG);
    rig.start();
    rig.post(0, 1024);
    assert.deepEqual(rig.dev.inject(pattern(3000)), { kind: 'dropped', reason: 'no-buffers' });
    assert.equal(rig.dev.queue(0)!.inFlight, 0);
    assert.equal(rig.dev.inject(pattern(500)).kind, 'delivered');
    assert.deepEqual(rig.rxSplit.usedElem(0), { id: 0, len: 512 });
  });

  it('MRG_RXBUF + IN_ORDER: one used entry for the packet, filled buffers skipped (§2.7.9)', () => {
    const rig = new NetRig(featureSet(F.F_VERSION_1, F.NET_F_MRG_RXBUF, F.F_IN_ORDER));
    rig.start();
    [0, 1, 2].forEach((k) => rig.post(k, 1024));
    assert.equal(rig.dev.inject(pattern(2500)).kind, 'delivered');
    assert.equal(rig.rxSplit.usedIdx(), 3);
    assert.deepEqual(rig.rxSplit.usedElem(0), { id: 2, len: 2512 - 2048 });
  });

  it('MRG_RXBUF: a buffer smaller than the header breaks the device (§5.1.6.3.1)', () => {
    const rig = new NetRig(MRG);
    rig.start();
    rig.post(0, 8);
    const r = rig.dev.inject(pattern(60));
    assert.equal(r.kind, 'broken');
    assert.equal(r.kind === 'broken' && r.reason, 'device-buffer');
    assert.ok(rig.dev.status & S.DEVICE_NEEDS_RESET);
  });
});

describe('reference virtio-net: broken driver, reset', () => {
  it('a descriptor loop sets DEVICE_NEEDS_RESET, notifies a config change, and stops all work', () => {
    const seen: string[] = [];
    const rig = new NetRig(V1, (o) => new ReferenceNetDevice({ ...o, onBroken: (b) => seen.push(b.message) }));
    rig.start();
    rig.txSplit.setDesc(0, RX_BUF, 12, VIRTQ_DESC_F_NEXT, 1);
    rig.txSplit.setDesc(1, RX_BUF, 12, VIRTQ_DESC_F_NEXT, 0);
    rig.txSplit.offer(0);
    rig.dev.kick(1);
    assert.deepEqual(seen, ['descriptor loop at index 0 (chain head 0)']);
    assert.ok(rig.dev.status & S.DEVICE_NEEDS_RESET);
    assert.equal(rig.dev.configChanges, 1);
    assert.equal(rig.dev.broken?.queue, 1);
    rig.post(0, 2048);
    assert.equal(rig.dev.inject(pattern(60)).kind, 'broken');
    assert.equal(rig.rxSplit.usedIdx(), 0);
  });

  it('after reset: status 0, and kicks touch nothing (F5)', () => {
    const rig = new NetRig(V1);
    rig.start();
    rig.dev.setStatus(0);
    assert.equal(rig.dev.status, 0);
    rig.send(0, hdrBytes(), pattern(60));
    rig.dev.kick(1);
    assert.equal(rig.sent.length, 0);
    assert.equal(rig.dev.calls[1], 0);
    assert.equal(rig.txSplit.usedIdx(), 0);
  });

  it('a TX buffer shorter than the header breaks the device (§5.1.6.2)', () => {
    const rig = new NetRig(V1);
    rig.start();
    rig.txSplit.setDesc(0, RX_BUF, 6, 0);
    rig.txSplit.offer(0);
    rig.dev.kick(1);
    assert.match(rig.dev.broken!.message, /has 6 device-readable bytes, less than the 12-byte virtio-net header/);
  });
});
