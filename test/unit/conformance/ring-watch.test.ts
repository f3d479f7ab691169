// The ring watches every check carries: a hand-written "device" (raw used-ring writes) does one
// wrong thing at a time, and the lane and its watch name the requirement, whatever check it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedMemory } from '../../../harness/virtio/memory.ts';
import { GuestArena, allocateLayout } from '../../../harness/virtio/driver/index.ts';
import { RawSplitRing } from '../../../harness/virtio/driver/raw.ts';
import { byteView } from '../../../harness/virtio/driver/views.ts';
import { F, featureSet } from '../../../harness/virtio/features.ts';
import { VIRTQ_AVAIL_F_NO_INTERRUPT } from '../../../harness/virtio/layout.ts';
import { BEYOND, SplitLane } from '../../../harness/conform/split-lane.ts';
import { RingWatch, type RingFinding } from '../../../harness/conform/ring-watch.ts';

function ring(index: number, features = featureSet(F.F_VERSION_1)) {
  const arena = new GuestArena(sharedMemory(1 << 20));
  const layout = allocateLayout(arena, 'split', 8, 16, false);
  const raw = new RawSplitRing(arena.mem, layout);
  const found: RingFinding[] = [];
  const watch = new RingWatch({ ring: index, size: 8, features, mem: arena.mem, split: raw, sink: (f) => found.push(f) });
  const lane = new SplitLane(raw, arena, 0, () => {}, watch);
  let used = 0;
  /** The device's side: write a used entry and publish used.idx. */
  const use = (id: number, len: number) => {
    raw.writeUsedElem(used, id, len);
    raw.setUsedIdx(++used);
  };
  const buf = (len: number, fill = 0) => {
    const at = arena.alloc(len, 64);
    byteView(arena.mem, at, len).fill(fill);
    return at;
  };
  return { arena, raw, lane, watch, found, use, buf, reqs: () => found.map((f) => f.requirement) };
}

test('a correct device: nothing found', () => {
  const r = ring(1);
  const id = r.lane.add([{ addr: r.buf(76, 7), len: 76 }]);
  r.use(id, 0);
  assert.equal(r.lane.takeUsed().length, 1);
  assert.deepEqual(r.found, []);
  assert.match(r.watch.owed!.what, /avail.flags 0/, 'a notification was owed');
});

test('S6: a chain returned twice (not S8, though more came back than was made available)', () => {
  const r = ring(1);
  const id = r.lane.add([{ addr: r.buf(76), len: 76 }]);
  r.use(id, 0);
  r.use(id, 0);
  r.lane.takeUsed();
  assert.deepEqual(r.reqs(), ['S6']);
  assert.match(r.found[0].text, /used entry 1 names id 0, not a chain in flight/);
});

test('S8: the device consumes the avail slot past avail.idx (the lane keeps a marker there)', () => {
  const r = ring(1);
  const id = r.lane.add([{ addr: r.buf(76), len: 76 }]);
  assert.equal(r.raw.readAvailRing(1), BEYOND, 'the slot past avail.idx holds the marker');
  r.use(id, 0);
  r.use(r.raw.readAvailRing(1), 0); // what a device reading beyond avail.idx finds there
  r.lane.takeUsed();
  assert.deepEqual(r.reqs(), ['S8']);
  assert.match(r.found[0].text, /names id 65535, the marker .* consumed an entry it was not given/);
});

test('S8: a chain written but never published is used', () => {
  const r = ring(1);
  const real = r.lane.add([{ addr: r.buf(76), len: 76 }]);
  const hidden = r.lane.writeChain([{ addr: r.buf(76), len: 76 }]);
  r.use(real, 0);
  r.use(hidden, 0);
  r.lane.takeUsed();
  assert.ok(r.reqs().includes('S8'));
  assert.ok(r.found.some((f) => /chain 1, which was written but never made available/.test(f.text)));
});

test('S5: len beyond the writable bytes (TX: any len); S1: a readable byte changed', () => {
  const r = ring(1);
  const at = r.buf(76, 1);
  const id = r.lane.add([{ addr: at, len: 76 }]);
  byteView(r.arena.mem, at + 20, 1)[0] = 0xee; // the device writes into a device-readable buffer
  r.use(id, 76);
  r.lane.takeUsed();
  assert.deepEqual(r.reqs(), ['S5', 'S1']);
  assert.match(r.found[0].text, /TX used entry 0 \(id 0\) reports len 76, but the buffer has no device-writable bytes/);
});

test('H1 without MRG_RXBUF, H2 with it (num_buffers read across a split header)', () => {
  const r = ring(0);
  const a = r.buf(2048, 0xa5);
  const id = r.lane.add([{ addr: a, len: 2048, write: true }]);
  r.use(id, 112); // the device left num_buffers as the canary 0xa5a5
  r.lane.takeUsed();
  assert.deepEqual(r.reqs(), ['H1']);
  assert.match(r.found[0].text, /num_buffers is 42405, not 1/);

  const m = ring(0, featureSet(F.F_VERSION_1, F.NET_F_MRG_RXBUF));
  // Header split over two descriptors (4 + rest): num_buffers = 2 in bytes 10-11, then a continuation.
  const h = m.buf(4);
  const rest = m.buf(1024);
  byteView(m.arena.mem, rest + 6, 2).set([2, 0]);
  const i1 = m.lane.add([{ addr: h, len: 4, write: true }, { addr: rest, len: 1024, write: true }]);
  const i2 = m.lane.add([{ addr: m.buf(1024, 0xa5), len: 1024, write: true }]);
  const i3 = m.lane.add([{ addr: m.buf(1024), len: 1024, write: true }]); // num_buffers 0
  m.use(i1, 1028);
  m.use(i2, 500);
  m.use(i3, 100);
  m.lane.takeUsed();
  assert.deepEqual(m.reqs(), ['H2'], 'the continuation buffer is not read as a header; the zero is');
  assert.match(m.found[0].text, /used entry 2 .*num_buffers is 0 with MRG_RXBUF/);
});

test('no notification owed while the driver suppresses them', () => {
  const r = ring(1);
  r.raw.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
  const id = r.lane.add([{ addr: r.buf(76), len: 76 }]);
  r.use(id, 0);
  r.lane.takeUsed();
  assert.equal(r.watch.owed, undefined);
  assert.equal(r.watch.notifyRequirement, 'N1');
  assert.equal(ring(1, featureSet(F.F_VERSION_1, F.F_EVENT_IDX)).watch.notifyRequirement, 'N3');
});
