import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedMemory } from '../../../../harness/virtio/memory.ts';
import { GuestArena, RingViolation, SplitQueue, type Buf } from '../../../../harness/virtio/driver/index.ts';
import { F, featureSet } from '../../../../harness/virtio/features.ts';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../../../harness/virtio/layout.ts';
import { SplitCompleter } from './completer.ts';

const V1 = featureSet(F.F_VERSION_1);
const IND = V1 | featureSet(F.F_INDIRECT_DESC);

function setup(size: number, features = V1, extra: { base?: number; indirect?: 'never' | 'multi' | 'always'; indirectMax?: number } = {}) {
  const arena = new GuestArena(sharedMemory(4 << 20));
  const q = SplitQueue.create<string>(arena, { size, features, ...extra });
  const dev = new SplitCompleter(arena.mem, q.layout, extra.base ?? 0);
  return { arena, q, dev };
}

const b = (addr: number, len: number): Buf => ({ addr, len });

test('a chain lists readable elements then writable ones, linked by next (§2.7.5, §2.7.13.1)', () => {
  const { q, dev } = setup(8);
  const hi = 0x1_2345_6780; // above 4 GiB: both address words must be written
  const head = q.add([b(hi, 12), b(0x5000, 100)], [b(0x6000, 1500)], 'pkt');
  assert.equal(head, 0);
  const t = dev.take()!;
  assert.equal(t.head, 0);
  assert.deepEqual(
    t.descs.map((d) => [d.addr, d.len, d.flags]),
    [
      [hi, 12, VIRTQ_DESC_F_NEXT],
      [0x5000, 100, VIRTQ_DESC_F_NEXT],
      [0x6000, 1500, VIRTQ_DESC_F_WRITE],
    ],
  );
  assert.equal(q.numFree, 5);
  assert.equal(q.inFlight, 1);
});

test('add returns -1 when the table has too few free descriptors, and nothing is published', () => {
  const { q, dev } = setup(4);
  assert.equal(q.add([b(0x1000, 1), b(0x1001, 1), b(0x1002, 1)], [], 'a'), 0);
  assert.equal(q.add([b(0x2000, 1), b(0x2001, 1)], [], 'b'), -1);
  assert.equal(dev.pending(), 1);
  assert.notEqual(q.add([b(0x2000, 1)], [], 'c'), -1);
  assert.equal(q.numFree, 0);
});

test('an element-less buffer and a chain longer than the ring are refused', () => {
  const { q } = setup(4);
  assert.throws(() => q.add([], [], 'x'), /at least one element/);
  const five = Array.from({ length: 5 }, (_, i) => b(0x1000 + i, 1));
  assert.throws(() => q.add(five, [], 'x'), /longer than the queue size/);
});

test('descriptors of completed chains return to the free list and are reused', () => {
  const { q, dev } = setup(8);
  const h1 = q.add([b(0x1000, 10), b(0x1100, 10)], [], 'one'); // descs 0,1
  const h2 = q.add([b(0x2000, 10)], [b(0x2100, 10), b(0x2200, 10)], 'two'); // 2,3,4
  const h3 = q.add([b(0x3000, 10)], [], 'three'); // 5
  assert.deepEqual([h1, h2, h3], [0, 2, 5]);
  assert.equal(q.numFree, 2);
  for (let i = 0; i < 3; i++) dev.take();
  dev.complete(h2, 20); // out of order
  assert.equal(q.pollUsed(), h2);
  assert.equal(q.lastToken, 'two');
  assert.equal(q.lastLen, 20);
  assert.equal(q.numFree, 5);
  // The freed chain (2,3,4) is reused before the never-used descriptors 6,7.
  const h4 = q.add([b(0x4000, 1), b(0x4001, 1), b(0x4002, 1)], [], 'four');
  assert.equal(h4, 2);
  const t = dev.take()!;
  assert.equal(t.descs.length, 3);
  assert.deepEqual(t.descs.map((d) => d.addr), [0x4000, 0x4001, 0x4002]);
  assert.equal(q.numFree, 2);
  // Every descriptor is usable: fill the ring, drain it, fill it again.
  dev.complete(h1, 0);
  dev.complete(h3, 0);
  dev.complete(h4, 0);
  const got = [q.getUsed(), q.getUsed(), q.getUsed(), q.getUsed()];
  assert.deepEqual(got.map((u) => u?.token ?? null), ['one', 'three', 'four', null]);
  assert.equal(q.numFree, 8);
  const heads = new Set<number>();
  for (let i = 0; i < 8; i++) heads.add(q.add([b(0x9000 + i, 1)], [], `f${i}`));
  assert.equal(heads.size, 8);
  assert.equal(q.add([b(0x9999, 1)], [], 'over'), -1);
});

test('indirect: one ring descriptor with INDIRECT, len = 16 × n, table chained 0→1→2 (§2.7.5.3)', () => {
  const { q, dev } = setup(4, IND, { indirectMax: 4 });
  const head = q.add([b(0x1000, 12), b(0x2000, 64)], [b(0x3000, 256)], 'ind');
  assert.equal(q.numFree, 3, 'one ring slot for the whole buffer');
  const ring = dev.raw.readDesc(head);
  assert.equal(ring.flags, VIRTQ_DESC_F_INDIRECT);
  assert.equal(ring.len, 48);
  assert.equal(ring.addr % 16, 0);
  assert.equal(ring.addr, q.layout.indirectPool + head * 4 * 16);
  const t = dev.take()!;
  assert.deepEqual(
    t.descs.map((d) => [d.addr, d.len, d.flags, d.next]),
    [
      [0x1000, 12, VIRTQ_DESC_F_NEXT, 1],
      [0x2000, 64, VIRTQ_DESC_F_NEXT, 2],
      [0x3000, 256, VIRTQ_DESC_F_WRITE, 0],
    ],
  );
  // Single-element buffers stay direct under the default 'multi' policy.
  const h2 = q.add([b(0x4000, 10)], [], 'direct');
  assert.equal(dev.raw.readDesc(h2).flags, 0);
  // Explicit per-buffer override and fallback when the table is too small.
  const h3 = q.add([b(0x5000, 10)], [], 'forced', true);
  assert.equal(dev.raw.readDesc(h3).flags, VIRTQ_DESC_F_INDIRECT);
  assert.throws(() => q.add(Array.from({ length: 5 }, (_, i) => b(i, 1)), [], 'big', true), /do not fit an indirect table/);
});

test('indirect is refused without VIRTIO_F_INDIRECT_DESC', () => {
  const { q } = setup(4, V1);
  assert.throws(() => q.add([b(0x1000, 1), b(0x1001, 1)], [], 'x', true), /INDIRECT_DESC/);
});

test('indices wrap at 0xFFFF from a preset base of 0xFFF0 (S7)', () => {
  const { q, dev } = setup(8, V1, { base: 0xfff0 });
  let seq = 0;
  let expect = 0;
  // 100 buffers in bursts of up to 8: avail.idx and used.idx pass 0xFFFF → 0 → 0x0054.
  while (expect < 100) {
    while (seq < 100 && q.add([b(0x1000 + seq, 1)], [b(0x8000 + seq, 64)], `p${seq}`) >= 0) seq++;
    for (let t = dev.take(); t; t = dev.take()) dev.complete(t.head, t.descs[0].addr - 0x1000);
    for (let id = q.pollUsed(); id >= 0; id = q.pollUsed()) {
      assert.equal(q.lastToken, `p${expect}`);
      assert.equal(q.lastLen, expect);
      expect++;
    }
  }
  assert.equal(dev.raw.availIdx(), (0xfff0 + 100) & 0xffff);
  assert.equal(dev.raw.usedIdx(), (0xfff0 + 100) & 0xffff);
  assert.equal(q.nextUsedIdx, 0x0054);
  assert.equal(q.numFree, 8);
});

test('a used id that is not a head in flight breaks the queue with the clause (S6)', () => {
  const { q, dev } = setup(8);
  q.add([b(0x1000, 1), b(0x1001, 1)], [], 'a'); // head 0, descs 0,1
  dev.take();
  dev.complete(1, 0); // 1 is inside the chain, not a head
  assert.throws(() => q.pollUsed(), (e: unknown) => e instanceof RingViolation && e.clause === '2.7.8' && /id 1/.test(e.message));
  assert.ok(q.broken);
  assert.throws(() => q.add([b(0, 1)], [], 'b'), RingViolation, 'refuses further work');
});

test('a chain returned twice is caught (S6)', () => {
  const { q, dev } = setup(8);
  const h = q.add([b(0x1000, 1)], [], 'a');
  q.add([b(0x1000, 1)], [], 'b');
  dev.take();
  dev.complete(h, 0);
  dev.complete(h, 0);
  assert.equal(q.pollUsed(), h);
  assert.throws(() => q.pollUsed(), /not the head of a buffer in flight/);
});

test('used.idx running ahead of the buffers in flight is caught (S8)', () => {
  const { q, dev } = setup(8);
  q.add([b(0x1000, 1)], [], 'a');
  dev.raw.writeUsedElem(0, 0, 0);
  dev.raw.setUsedIdx(5);
  assert.throws(() => q.pollUsed(), /jumped to 5, 5 entries past 0 with only 1 buffers in flight/);
});
