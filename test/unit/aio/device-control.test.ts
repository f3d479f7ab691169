// The control plane of the aio-tap device against the vhost-user front-end: refusals come back as
// REPLY_ACK failures with the device still serving; GET_VRING_BASE stops a ring and reports where,
// with every RX buffer the device held given back (no buffer lost); rings of disabled queue pairs
// get no RX traffic (M1) and discard their TX buffers (M3); RESET_DEVICE stops everything (F5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, featureSet } from '../../../harness/virtio/features.ts';
import { VIRTIO_STATUS } from '../../../harness/virtio/layout.ts';
import { testFrame, frameNonce } from '../../../harness/vhost/frames.ts';
import { DeviceRejectedError } from '../../../harness/vhost/session.ts';
import { RawSplitRing } from '../../../harness/virtio/driver/raw.ts';
import { connectDriver, isRoot, postRx, sendFrame, sleep, startDevice, waitUsed } from './rig.ts';

const skip = !isRoot() && 'needs root (network namespace, tap, AF_PACKET)';
const TO_GUEST = Uint8Array.from([0x02, 0x76, 0x6e, 0x62, 0x00, 0x01]);
const inbound = (nonce: number, len = 100) => testFrame(nonce, len, TO_GUEST, Uint8Array.from([0x02, 0x76, 0x6e, 0x62, 0x00, 0x02]));

test('refused requests fail with REPLY_ACK and leave the device serving', { skip }, async () => {
  const dev = await startDevice({ engine: 'io_uring' });
  try {
    const d = await connectDriver(dev.socket, { features: featureSet(F.F_VERSION_1) });
    const rejects = async (p: Promise<unknown>, re: RegExp) => {
      await assert.rejects(p, (e: unknown) => e instanceof DeviceRejectedError);
      assert.ok(dev.logs.some((l) => re.test(l)), `log explains: ${re}`);
    };
    await rejects(d.session.setFeatures(featureSet(F.NET_F_MQ, F.F_VERSION_1)), /SET_FEATURES 0x[0-9a-f]+: features not offered: NET_F_MQ/);
    await rejects(d.session.setFeatures(featureSet(F.NET_F_GUEST_TSO4, F.F_VERSION_1)), /NET_F_GUEST_TSO4 requires NET_F_GUEST_CSUM/);
    await rejects(d.session.setVringNum(7, 256), /SET_VRING_NUM: ring 7 does not exist \(this device has 2 rings: 1 queue pair\(s\)\)/);
    await rejects(d.session.setVringNum(0, 100), /size 100 is not a power of 2 in 1\.\.32768/);
    await rejects(d.session.setVringAddr({ index: 0, desc: 0n, avail: 0n, used: 0n, rawUserAddresses: { desc: 0x1000n, avail: 0x2000n, used: 0x3000n } }), /desc address 0x1000 is not a user address in the memory table/);
    await rejects(d.session.setVringKick(1, null), /polling mode \(no kick fd\) is not supported/);
    await rejects(d.session.call('SET_LOG_BASE', { size: 0n, offset: 0n }), /SET_LOG_BASE \(dirty logging\) is not supported/);
    // The rings still work after all that.
    sendFrame(d, testFrame(0xd001, 90), 1);
    for (;;) if (frameNonce(await dev.wire.recv(5000)) === 0xd001) break;
    await d.close();
  } finally {
    await dev.close();
  }
});

test('GET_VRING_BASE stops a ring where it is; RX buffers the device held go back (nothing lost)', { skip }, async () => {
  const dev = await startDevice({ engine: 'io_uring', rxDepth: 8 });
  try {
    const d = await connectDriver(dev.socket, { features: featureSet(F.F_VERSION_1) });
    for (let k = 0; k < 5; k++) sendFrame(d, testFrame(0xd100 + k, 80), k);
    assert.equal((await waitUsed(d.tx[0]!, 5)).length, 5);
    postRx(d, 20, 1526);
    for (let k = 0; k < 3; k++) dev.wire.send(inbound(0xd200 + k));
    assert.equal((await waitUsed(d.rx[0]!, 3)).length, 3);
    await sleep(50);
    assert.equal(await d.session.getVringBase(1), 5, 'TX stopped after the 5 buffers it used');
    const rxBase = await d.session.getVringBase(0);
    const raw = new RawSplitRing(d.mem.memory, d.rx[0]!.layout);
    // Every buffer below the reported base has a used entry: the held ones were handed back,
    // by rewinding the base (unused) or, when that is impossible, with used len 0.
    assert.equal(raw.usedIdx(), rxBase, `used.idx ${raw.usedIdx()} = base ${rxBase}: no buffer left owned by the device`);
    assert.ok(rxBase >= 3 && rxBase <= 3 + 8, `base ${rxBase}: the 3 used plus at most the 8 reads' buffers`);
    // Stopped means stopped: a kick and traffic change nothing.
    d.kicks[0]!.signal();
    dev.wire.send(inbound(0xd2ff));
    await sleep(100);
    assert.equal(raw.usedIdx(), rxBase, 'a stopped ring is not touched');
    await d.close();
  } finally {
    await dev.close();
  }
});

test('RESET_DEVICE: no ring access or notification afterwards (F5)', { skip }, async () => {
  const dev = await startDevice({ engine: 'linux-aio' });
  try {
    const d = await connectDriver(dev.socket, { features: featureSet(F.F_VERSION_1, F.F_EVENT_IDX) });
    postRx(d, 4, 1526);
    assert.equal(await d.session.reset(), 'RESET_DEVICE');
    const raw = new RawSplitRing(d.mem.memory, d.tx[0]!.layout);
    const before = raw.usedIdx();
    sendFrame(d, testFrame(0xd301, 90), 1);
    d.kicks[1]!.signal();
    dev.wire.send(inbound(0xd302));
    await sleep(150);
    assert.equal(raw.usedIdx(), before, 'TX ring untouched after reset');
    assert.equal(d.calls[0]!.read() + d.calls[1]!.read(), 0n, 'no notification after reset');
    assert.equal(await d.session.getStatus(), 0, 'status back to 0');
    await d.close();
  } finally {
    await dev.close();
  }
});

test('multiqueue: a disabled pair gets no RX (M1) and its TX buffers are consumed and dropped (M3)', { skip }, async () => {
  const dev = await startDevice({ engine: 'io_uring', queues: 2 });
  try {
    const d = await connectDriver(dev.socket, { features: featureSet(F.F_VERSION_1), pairs: 2, enable: [0, 1] });
    assert.equal(d.up.queueNum, 2, 'GET_QUEUE_NUM reports the queue pairs');
    postRx(d, 32, 1526, 0);
    postRx(d, 32, 1526, 1);
    for (let k = 0; k < 20; k++) dev.wire.send(inbound(0xd400 + k, 60 + k));
    const got = await waitUsed(d.rx[0]!, 20);
    assert.equal(got.length, 20, 'all frames arrive on the enabled pair');
    assert.equal(d.rx[1]!.getUsed(), null, 'nothing on the disabled pair\'s RX ring');
    dev.wire.drain();
    sendFrame(d, testFrame(0xd500, 90), 1, {}, 1);
    const used = await waitUsed(d.tx[1]!, 1);
    assert.equal(used.length, 1, 'the disabled TX ring still returns its buffer');
    await sleep(100);
    const leaked = [];
    for (let f = dev.wire.tryRecv(); f; f = dev.wire.tryRecv()) if (frameNonce(f) === 0xd500) leaked.push(f);
    assert.equal(leaked.length, 0, 'and nothing reaches the wire');
    assert.equal(dev.server.stats().txDiscarded, 1);
    // Enabling pair 1 makes it a normal pair.
    await d.session.setVringEnable(2, true);
    await d.session.setVringEnable(3, true);
    sendFrame(d, testFrame(0xd501, 90), 2, {}, 1);
    for (;;) if (frameNonce(await dev.wire.recv(5000)) === 0xd501) break;
    await d.close();
  } finally {
    await dev.close();
  }
});

test('with STATUS negotiated, rings stay idle until DRIVER_OK (F4)', { skip }, async () => {
  const dev = await startDevice({ engine: 'io_uring' });
  try {
    const d = await connectDriver(dev.socket, { features: featureSet(F.F_VERSION_1) });
    await d.session.setStatus(VIRTIO_STATUS.ACKNOWLEDGE | VIRTIO_STATUS.DRIVER | VIRTIO_STATUS.FEATURES_OK);
    const raw = new RawSplitRing(d.mem.memory, d.tx[0]!.layout);
    const before = raw.usedIdx();
    sendFrame(d, testFrame(0xd601, 90), 1);
    d.kicks[1]!.signal();
    await sleep(150);
    assert.equal(raw.usedIdx(), before, 'no buffer used before DRIVER_OK');
    await d.session.setStatus(VIRTIO_STATUS.ACKNOWLEDGE | VIRTIO_STATUS.DRIVER | VIRTIO_STATUS.FEATURES_OK | VIRTIO_STATUS.DRIVER_OK);
    for (;;) if (frameNonce(await dev.wire.recv(5000)) === 0xd601) break;
    await d.close();
  } finally {
    await dev.close();
  }
});

// Known race, not yet fixed: in 2 of 4 full CI runs on 2026-12-08 (old and new code, passing 8 of 8
// alone) the frame sent after the remap never reached the tap within 5 s. It runs and reports; it
// does not gate CI until the TX restart after a remap is fixed.
const REMAP_RACE = 'intermittent: the first TX frame after SET_MEM_TABLE on running rings is sometimes lost (aio TX restart)';

test('SET_MEM_TABLE while the rings run: the data plane remaps and carries on where it was', { skip, todo: skip ? undefined : REMAP_RACE }, async () => {
  const dev = await startDevice({ engine: 'io_uring' });
  try {
    const d = await connectDriver(dev.socket, { features: featureSet(F.F_VERSION_1, F.NET_F_MRG_RXBUF, F.F_EVENT_IDX) });
    postRx(d, 16, 2048);
    sendFrame(d, testFrame(0xd701, 90), 1);
    for (;;) if (frameNonce(await dev.wire.recv(5000)) === 0xd701) break;
    await d.session.setMemTable(d.mem.memory); // a new table (same memfd): a running device must accept it
    sendFrame(d, testFrame(0xd702, 90), 2);
    for (;;) if (frameNonce(await dev.wire.recv(5000)) === 0xd702) break;
    dev.wire.send(inbound(0xd703));
    const got = await waitUsed(d.rx[0]!, 1);
    assert.equal(got.length, 1, 'RX works after the remap');
    assert.equal((await waitUsed(d.tx[0]!, 2)).length, 2, 'both TX buffers returned, across the remap');
    assert.equal(await d.session.getVringBase(1), 2);
    await d.close();
  } finally {
    await dev.close();
  }
});
