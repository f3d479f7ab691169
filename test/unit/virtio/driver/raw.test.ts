import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedMemory } from '../../../../harness/virtio/memory.ts';
import { GuestArena, SplitQueue, PackedQueue, allocateLayout } from '../../../../harness/virtio/driver/index.ts';
import { RawPackedRing, RawSplitRing, writePackedTable, writeSplitTable } from '../../../../harness/virtio/driver/raw.ts';
import { F, featureSet } from '../../../../harness/virtio/features.ts';
import { VIRTQ_DESC_F_AVAIL, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT } from '../../../../harness/virtio/layout.ts';
import { u32View } from '../../../../harness/virtio/driver/views.ts';

test('raw split access builds a descriptor loop and an avail.idx jump that the normal path never would', () => {
  const arena = new GuestArena(sharedMemory(1 << 16));
  const layout = allocateLayout(arena, 'split', 8, 16, false);
  const raw = new RawSplitRing(arena.mem, layout);
  raw.writeDesc(0, { addr: 0x4000_1000, len: 64, flags: VIRTQ_DESC_F_NEXT, next: 1 });
  raw.writeDesc(1, { addr: 0x4000_2000, len: 64, flags: VIRTQ_DESC_F_NEXT, next: 0 });
  raw.publish(0);
  assert.equal(raw.availIdx(), 1);
  assert.equal(raw.readAvailRing(0), 0);
  raw.setAvailIdx(1 + 40); // 40 past a ring of 8
  assert.equal(raw.availIdx(), 41);
  assert.deepEqual(raw.readDesc(1), { addr: 0x4000_2000, len: 64, flags: VIRTQ_DESC_F_NEXT, next: 0 });
  const snap = raw.snapshotDescs();
  assert.equal(snap.length, 128);
  assert.deepEqual([...snap.subarray(12, 16)], [1, 0, 1, 0]);
});

test('raw views see exactly what a normal queue wrote (same layout)', () => {
  const arena = new GuestArena(sharedMemory(1 << 16));
  const q = SplitQueue.create(arena, { size: 4, features: featureSet(F.F_VERSION_1) });
  q.add([{ addr: 0x4000_8000, len: 10 }], [], null);
  const raw = new RawSplitRing(arena.mem, q.layout);
  assert.equal(raw.availIdx(), 1);
  assert.equal(raw.readDesc(raw.readAvailRing(0)).addr, 0x4000_8000);
});

test('indirect tables can be written anywhere, including nested INDIRECT entries', () => {
  const arena = new GuestArena(sharedMemory(1 << 16));
  const gpa = arena.alloc(64, 16);
  writeSplitTable(arena.mem, gpa, [
    { addr: 1, len: 2, flags: VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT, next: 1 },
    { addr: 3, len: 4, flags: 0, next: 0 },
  ]);
  const w = u32View(arena.mem, gpa, 8);
  assert.deepEqual([...w], [1, 0, 2, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT | (1 << 16), 3, 0, 4, 0]);
  writePackedTable(arena.mem, gpa, [{ addr: 5, len: 6, id: 0xbeef, flags: 0x7f00 }]);
  assert.deepEqual([...w.subarray(0, 4)], [5, 0, 6, 0xbeef | (0x7f00 << 16)]);
});

test('raw packed access writes bodies and flips flags separately', () => {
  const arena = new GuestArena(sharedMemory(1 << 16));
  const q = PackedQueue.create(arena, { size: 5, features: featureSet(F.F_VERSION_1, F.F_RING_PACKED) });
  const raw = new RawPackedRing(arena.mem, q.layout);
  raw.writeBody(2, { addr: 0x4000_0100, len: 9, id: 4 });
  assert.equal(raw.readDesc(2).flags, 0);
  raw.setFlags(2, VIRTQ_DESC_F_AVAIL);
  assert.deepEqual(raw.readDesc(2), { addr: 0x4000_0100, len: 9, id: 4, flags: VIRTQ_DESC_F_AVAIL });
  raw.setDriverEvent(3 | 0x8000, 2);
  assert.deepEqual(raw.driverEvent(), { offWrap: 0x8003, flags: 2 });
});
