import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedMemory } from '../../../../harness/virtio/memory.ts';
import { GuestArena, PackedQueue, RingViolation, type Buf } from '../../../../harness/virtio/driver/index.ts';
import { F, featureSet } from '../../../../harness/virtio/features.ts';
import { VIRTQ_DESC_F_AVAIL, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_USED, VIRTQ_DESC_F_WRITE } from '../../../../harness/virtio/layout.ts';
import { PackedCompleter } from './completer.ts';

const PACKED = featureSet(F.F_VERSION_1, F.F_RING_PACKED);
const b = (addr: number, len: number): Buf => ({ addr, len });

function setup(size: number, features = PACKED, extra: { base?: number; wrap?: 0 | 1; indirectMax?: number } = {}) {
  const arena = new GuestArena(sharedMemory(4 << 20));
  const q = PackedQueue.create<number>(arena, { size, features, ...extra });
  const dev = new PackedCompleter(arena.mem, q.layout, extra.base ?? 0, extra.wrap ?? 1);
  return { q, dev };
}

test('available descriptors carry AVAIL = wrap, USED = !wrap, id and NEXT/WRITE (§2.8.1, §2.8.6)', () => {
  const { q, dev } = setup(4);
  const id = q.add([b(0x1000, 12)], [b(0x2000, 100), b(0x3000, 200)], 7);
  const d = [0, 1, 2].map((p) => dev.raw.readDesc(p));
  assert.deepEqual(
    d.map((x) => [x.addr, x.len, x.id, x.flags]),
    [
      [0x1000, 12, id, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_NEXT],
      [0x2000, 100, id, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT],
      [0x3000, 200, id, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_WRITE],
    ],
  );
  assert.equal(dev.raw.readDesc(3).flags, 0, 'untouched');
  // A list that crosses the end of the ring takes the flipped counter's bits after the wrap.
  const t = dev.take()!;
  dev.markUsed(t.head, 0, t.count);
  assert.equal(q.pollUsed(), id);
  q.add([b(0x4000, 1), b(0x4001, 1)], [], 8);
  assert.equal(dev.raw.readDesc(3).flags, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_NEXT);
  assert.equal(dev.raw.readDesc(0).flags, VIRTQ_DESC_F_USED, 'wrap counter 0: AVAIL=0, USED=1');
  const t2 = dev.take()!;
  assert.deepEqual(t2.descs.map((x) => x.addr), [0x4000, 0x4001]);
  assert.equal(dev.availWrap, 0);
});

test('a full ring refuses more until used descriptors come back', () => {
  const { q, dev } = setup(3);
  assert.equal(q.add([b(1, 1), b(2, 1)], [], 1), 0);
  assert.equal(q.add([b(3, 1), b(4, 1)], [], 2), -1);
  const t = dev.take()!;
  dev.markUsed(t.head, 0, t.count);
  assert.equal(q.pollUsed(), 0);
  assert.notEqual(q.add([b(3, 1), b(4, 1)], [], 2), -1);
});

test('wrap counters stay right across many wraps of a 255-entry ring with mixed list lengths (P1)', () => {
  const { q, dev } = setup(255);
  let sent = 0;
  let done = 0;
  let wraps = 0;
  let lastWrap = q.usedState.wrap;
  const lens = [1, 2, 3, 4, 7];
  while (done < 2000) {
    for (;;) {
      const n = lens[sent % lens.length];
      const bufs = Array.from({ length: n }, (_, i) => b(0x10000 + sent * 16 + i, 1));
      if (sent >= 2000 || q.add(bufs.slice(0, 1), bufs.slice(1), sent) < 0) break;
      sent++;
    }
    for (let t = dev.take(); t; t = dev.take()) {
      assert.equal(t.count, t.descs.length);
      dev.markUsed(t.head, t.descs.length - 1, t.count, t.descs.length > 1);
    }
    for (let id = q.pollUsed(); id >= 0; id = q.pollUsed()) {
      assert.equal(q.lastToken, done);
      const n = lens[done % lens.length];
      assert.equal(q.lastLen, n - 1, 'len only when the device set WRITE');
      done++;
      if (q.usedState.wrap !== lastWrap) {
        wraps++;
        lastWrap = q.usedState.wrap;
      }
    }
  }
  assert.ok(wraps >= 20, `expected many wraps, saw ${wraps}`);
  assert.equal(q.numFree, 255);
  assert.equal(q.inFlight, 0);
  assert.deepEqual(q.usedState, q.availState);
  assert.deepEqual(q.availState, { pos: dev.availPos, wrap: dev.availWrap });
});

test('out-of-order completion: used descriptors land in consecutive positions, ids free for reuse', () => {
  const { q, dev } = setup(8);
  const a = q.add([b(0x1000, 1), b(0x1001, 1)], [], 1); // positions 0-1
  const c = q.add([b(0x2000, 1)], [], 2); // 2
  const t1 = dev.take()!;
  const t2 = dev.take()!;
  // The device finishes the second buffer first: its used descriptor goes to position 0, and the
  // next used descriptor follows its length (1), at position 1.
  dev.markUsed(t2.head, 0, t2.count);
  dev.markUsed(t1.head, 0, t1.count);
  assert.equal(q.pollUsed(), c);
  assert.equal(q.lastToken, 2);
  assert.equal(q.pollUsed(), a);
  assert.equal(q.pollUsed(), -1);
  assert.deepEqual(q.usedState, { pos: 3, wrap: 1 });
  const again = q.add([b(0x3000, 1)], [], 3);
  assert.ok(again === a || again === c, 'a freed Buffer ID is reused');
});

test('a preset base and wrap 0 start mid-ring in the second lap', () => {
  const { q, dev } = setup(5, PACKED, { base: 3, wrap: 0 });
  assert.deepEqual(q.deviceStart(), { base: 3 });
  // Positions ≥ 3 look used in the previous lap (wrap 1): AVAIL|USED. Positions < 3: used in this lap (0).
  assert.deepEqual([0, 1, 2, 3, 4].map((p) => dev.raw.readDesc(p).flags), [0, 0, 0, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED]);
  assert.equal(q.hasUsed(), false);
  for (let i = 0; i < 12; i++) {
    assert.notEqual(q.add([b(0x1000 + i, 1)], [], i), -1);
    const t = dev.take()!;
    assert.equal(t.descs[0].flags & (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED), i < 2 ? VIRTQ_DESC_F_USED : i < 7 ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED);
    dev.markUsed(t.head, 0, 1);
    assert.notEqual(q.pollUsed(), -1);
    assert.equal(q.lastToken, i);
  }
  const d = setup(5, PACKED, { base: 1, wrap: 1 }).q.deviceStart();
  assert.equal(d.base, 1 | (1 << 15));
});

test('packed indirect: one ring descriptor, table entries carry only WRITE (§2.8.7)', () => {
  const { q, dev } = setup(4, PACKED | featureSet(F.F_INDIRECT_DESC), { indirectMax: 8 });
  const id = q.add([b(0x1000, 12)], [b(0x2000, 1500), b(0x3000, 1500)], 1);
  const ring = dev.raw.readDesc(0);
  assert.equal(ring.flags, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_INDIRECT);
  assert.equal(ring.len, 48);
  assert.equal(ring.id, id);
  assert.equal(q.numFree, 3);
  const t = dev.take()!;
  assert.equal(t.count, 1);
  assert.deepEqual(
    t.descs.map((d) => [d.addr, d.len, d.flags]),
    [
      [0x1000, 12, 0],
      [0x2000, 1500, VIRTQ_DESC_F_WRITE],
      [0x3000, 1500, VIRTQ_DESC_F_WRITE],
    ],
  );
  dev.markUsed(t.head, 1000, t.count);
  assert.equal(q.pollUsed(), id);
  assert.equal(q.lastLen, 1000);
});

test('a used descriptor naming an ID not in flight breaks the queue (§2.8.6)', () => {
  const { q, dev } = setup(4);
  q.add([b(0x1000, 1)], [], 1);
  dev.take();
  dev.markUsed(3, 0, 1);
  assert.throws(() => q.pollUsed(), (e: unknown) => e instanceof RingViolation && /Buffer ID 3/.test(e.message));
});

test('len is reported only when the used descriptor has WRITE (§2.8.4)', () => {
  const { q, dev } = setup(4);
  q.add([b(0x1000, 64)], [], 1);
  const t = dev.take()!;
  dev.markUsed(t.head, 99, 1, false);
  assert.equal(q.pollUsed(), t.head);
  assert.equal(q.lastLen, 0);
  assert.equal(q.lastRawLen, 99);
  assert.equal(q.lastUsedFlags & VIRTQ_DESC_F_WRITE, 0);
});
