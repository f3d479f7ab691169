import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedMemory, DEFAULT_GPA_BASE } from '../../../../harness/virtio/memory.ts';
import { GuestArena, SplitQueue, PackedQueue, allocateLayout, checkSize, createQueue } from '../../../../harness/virtio/driver/index.ts';
import { UsageError } from '../../../../harness/core/errors.ts';
import { availEventOffset, splitSizes, usedEventOffset } from '../../../../harness/virtio/layout.ts';
import { F, featureSet } from '../../../../harness/virtio/features.ts';
import { byteView } from '../../../../harness/virtio/driver/views.ts';

const V1 = featureSet(F.F_VERSION_1);

test('split areas are aligned and sized as in §2.7 and follow each other', () => {
  for (const size of [1, 2, 256, 32768]) {
    const arena = new GuestArena(sharedMemory(2 << 20), 0, 3); // deliberately misaligned start
    const l = allocateLayout(arena, 'split', size, 16, false);
    const s = splitSizes(size, true);
    assert.equal(l.desc % 16, 0);
    assert.equal(l.driver % 2, 0);
    assert.equal(l.device % 4, 0);
    assert.ok(l.driver >= l.desc + 16 * size, 'avail after the descriptor table');
    assert.ok(l.device >= l.driver + s.avail, 'used after the avail ring');
    assert.equal(s.avail, 6 + 2 * size);
    assert.equal(s.used, 6 + 8 * size);
    assert.equal(l.indirectPool, -1);
  }
});

test('event-idx fields sit right after the rings', () => {
  assert.equal(usedEventOffset(256), 4 + 512);
  assert.equal(availEventOffset(256), 4 + 8 * 256);
});

test('packed areas: descriptor ring 16-aligned, event structures 4-aligned', () => {
  const arena = new GuestArena(sharedMemory(1 << 20), 0, 1);
  const l = allocateLayout(arena, 'packed', 255, 8, true);
  assert.equal(l.desc % 16, 0);
  assert.equal(l.driver % 4, 0);
  assert.equal(l.device % 4, 0);
  assert.ok(l.driver >= l.desc + 16 * 255);
  assert.ok(l.device >= l.driver + 4);
  assert.equal(l.indirectPool % 16, 0);
  assert.ok(l.indirectPool >= l.device + 4);
});

test('GPAs are the guest base, not process offsets', () => {
  const arena = new GuestArena(sharedMemory(1 << 16));
  const q = SplitQueue.create(arena, { size: 8, features: V1 });
  assert.equal(q.layout.desc, Number(DEFAULT_GPA_BASE));
});

test('split sizes must be powers of 2 up to 32768; packed takes any size up to 32768', () => {
  for (const bad of [0, 3, 255, 65536, 1.5]) assert.throws(() => checkSize('split', bad), UsageError);
  for (const bad of [0, 32769]) assert.throws(() => checkSize('packed', bad), UsageError);
  for (const ok of [1, 255, 1000, 32768]) assert.doesNotThrow(() => checkSize('packed', ok));
  const err = (() => {
    try {
      checkSize('split', 255);
    } catch (e) {
      return e as UsageError;
    }
  })();
  assert.match(err!.message, /not a power of 2/);
  assert.match(err!.hint!, /packed rings allow any size/);
});

test('a misaligned descriptor table is refused (§2.7.1)', () => {
  const mem = sharedMemory(1 << 16);
  const base = Number(DEFAULT_GPA_BASE);
  const layout = { kind: 'split' as const, size: 4, desc: base + 8, driver: base + 256, device: base + 512, indirectPool: -1, indirectMax: 16 };
  assert.throws(() => new SplitQueue(mem, layout, { size: 4, features: V1 }), /not 16-byte aligned/);
  assert.throws(() => new SplitQueue(mem, { ...layout, desc: base, device: base + 514 }, { size: 4, features: V1 }), /used ring .* not 4-byte aligned/);
});

test('rings outside guest memory are refused', () => {
  const mem = sharedMemory(4096);
  const layout = { kind: 'packed' as const, size: 300, desc: Number(DEFAULT_GPA_BASE), driver: Number(DEFAULT_GPA_BASE) + 4800, device: Number(DEFAULT_GPA_BASE) + 4804, indirectPool: -1, indirectMax: 16 };
  assert.throws(() => new PackedQueue(mem, layout, { size: 300, features: V1 }), /not inside one memory region/);
});

test('createQueue picks packed from VIRTIO_F_RING_PACKED', () => {
  const arena = new GuestArena(sharedMemory(1 << 20));
  assert.equal(createQueue(arena, { size: 16, features: V1 }).kind, 'split');
  assert.equal(createQueue(arena, { size: 10, features: V1 | featureSet(F.F_RING_PACKED) }).kind, 'packed');
});

test('split initialisation writes the preset base into avail.idx, used.idx and used_event', () => {
  const arena = new GuestArena(sharedMemory(1 << 16));
  const q = SplitQueue.create(arena, { size: 8, features: V1, base: 0xfff0 });
  const dv = new DataView(byteView(arena.mem, q.layout.driver, 6 + 16).slice().buffer);
  const uv = new DataView(byteView(arena.mem, q.layout.device, 6 + 64).slice().buffer);
  assert.equal(dv.getUint16(0, true), 0, 'avail.flags');
  assert.equal(dv.getUint16(2, true), 0xfff0, 'avail.idx');
  assert.equal(dv.getUint16(4 + 16, true), 0xfff0, 'used_event');
  assert.equal(uv.getUint16(0, true), 0, 'used.flags (§2.7.10.1)');
  assert.equal(uv.getUint16(2, true), 0xfff0, 'used.idx');
  assert.deepEqual(q.deviceStart(), { base: 0xfff0 });
});
