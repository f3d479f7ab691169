import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedMemory } from '../../../../harness/virtio/memory.ts';
import { GuestArena, PackedQueue, SplitQueue, type Buf } from '../../../../harness/virtio/driver/index.ts';
import { F, featureSet } from '../../../../harness/virtio/features.ts';
import { VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../../../harness/virtio/layout.ts';
import { PackedCompleter, SplitCompleter } from './completer.ts';

const IN_ORDER = featureSet(F.F_VERSION_1, F.F_IN_ORDER);
const b = (addr: number, len: number): Buf => ({ addr, len });

function split(size: number) {
  const arena = new GuestArena(sharedMemory(1 << 20));
  const q = SplitQueue.create<string>(arena, { size, features: IN_ORDER });
  return { q, dev: new SplitCompleter(arena.mem, q.layout) };
}

test('IN_ORDER split: descriptors in table order, next = x+1 and 0 after the last entry (§2.7.5.2)', () => {
  const { q, dev } = split(4);
  assert.equal(q.add([b(0x1000, 1), b(0x1001, 1), b(0x1002, 1)], [], 'a'), 0);
  const t = dev.take()!;
  dev.complete(t.head, 0);
  assert.equal(q.pollUsed(), 0);
  assert.equal(q.add([b(0x2000, 1)], [b(0x2001, 8)], 'b'), 3, 'continues at 3, not at the freed 0');
  assert.deepEqual(dev.raw.readDesc(3), { addr: 0x2000, len: 1, flags: VIRTQ_DESC_F_NEXT, next: 0 });
  assert.deepEqual(dev.raw.readDesc(0), { addr: 0x2001, len: 8, flags: VIRTQ_DESC_F_WRITE, next: 0 });
});

test('IN_ORDER split batch: one used entry with the last head; skipped buffers count as fully written (§2.7.9, O2)', () => {
  const { q, dev } = split(8);
  const heads = ['a', 'b', 'c'].map((tok, i) => q.add([b(0x1000, 12)], [b(0x2000 + i * 0x1000, 100 * (i + 1))], tok));
  assert.deepEqual(heads, [0, 2, 4]);
  while (dev.take());
  dev.completeBatch(heads, 77);
  const got = [q.getUsed(), q.getUsed(), q.getUsed(), q.getUsed()];
  assert.deepEqual(got[0], { id: 0, len: 100, token: 'a', batched: true });
  assert.deepEqual(got[1], { id: 2, len: 200, token: 'b', batched: true });
  assert.deepEqual(got[2], { id: 4, len: 77, token: 'c', batched: false });
  assert.equal(got[3], null);
  assert.equal(q.numFree, 8);
  assert.equal(q.nextUsedIdx, 3);
  // Unbatched entries still work afterwards.
  const h = q.add([b(0x1000, 1)], [], 'd');
  dev.take();
  dev.complete(h, 5);
  assert.equal(q.pollUsed(), h);
  assert.equal(q.lastBatched, false);
});

test('IN_ORDER split: a batch entry whose used.idx stops short is a violation (§2.7.9)', () => {
  const { q, dev } = split(8);
  const h = [q.add([b(1, 1)], [], 'a'), q.add([b(2, 1)], [], 'b')];
  dev.raw.writeUsedElem(0, h[1], 0);
  dev.raw.setUsedIdx(1); // should be 2 for a batch of two
  assert.equal(q.pollUsed(), h[0]);
  assert.throws(() => q.pollUsed(), /stops at 1 before reaching it/);
});

test('IN_ORDER packed batch: one used descriptor at the batch start; the driver skips all lists (§2.8.8)', () => {
  const arena = new GuestArena(sharedMemory(1 << 20));
  const q = PackedQueue.create<string>(arena, { size: 7, features: IN_ORDER | featureSet(F.F_RING_PACKED) });
  const dev = new PackedCompleter(arena.mem, q.layout);
  for (let round = 0; round < 6; round++) {
    const ids = [
      q.add([b(0x1000, 12)], [b(0x2000, 300)], `x${round}`), // 2 descriptors
      q.add([b(0x3000, 12)], [], `y${round}`), // 1
      q.add([b(0x4000, 12)], [b(0x5000, 100), b(0x6000, 100)], `z${round}`), // 3
    ];
    assert.ok(ids.every((i) => i >= 0));
    let count = 0;
    for (let t = dev.take(); t; t = dev.take()) count += t.count;
    assert.equal(count, 6);
    dev.markUsed(ids[2], 150, count);
    const got = [q.getUsed(), q.getUsed(), q.getUsed()];
    assert.deepEqual(got.map((u) => [u?.token, u?.len, u?.batched]), [
      [`x${round}`, 300, true],
      [`y${round}`, 0, true],
      [`z${round}`, 150, false],
    ]);
    assert.equal(q.pollUsed(), -1);
    assert.equal(q.numFree, 7);
  }
  assert.deepEqual(q.usedState, q.availState, 'driver and device positions agree after 36 descriptors on a 7-ring');
});
