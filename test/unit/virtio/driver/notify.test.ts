import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedMemory } from '../../../../harness/virtio/memory.ts';
import { GuestArena, PackedQueue, SplitQueue } from '../../../../harness/virtio/driver/index.ts';
import { F, featureSet } from '../../../../harness/virtio/features.ts';
import { RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE, RING_EVENT_FLAGS_ENABLE, VIRTQ_USED_F_NO_NOTIFY, vringNeedEvent } from '../../../../harness/virtio/layout.ts';
import { PackedCompleter, SplitCompleter } from './completer.ts';

const V1 = featureSet(F.F_VERSION_1);
const EVT = V1 | featureSet(F.F_EVENT_IDX);
const PACKED = featureSet(F.F_RING_PACKED);
const one = [{ addr: 0x1000, len: 64 }];

function split(features: bigint, base = 0) {
  const arena = new GuestArena(sharedMemory(1 << 20));
  const q = SplitQueue.create<number>(arena, { size: 16, features, base });
  return { q, dev: new SplitCompleter(arena.mem, q.layout, base) };
}

test('without EVENT_IDX the kick follows used.flags NO_NOTIFY (§2.7.10.1)', () => {
  const { q, dev } = split(V1);
  q.add(one, [], 1);
  assert.equal(q.kickNeeded(), true);
  dev.raw.setUsedFlags(VIRTQ_USED_F_NO_NOTIFY);
  q.add(one, [], 2);
  assert.equal(q.kickNeeded(), false);
  dev.raw.setUsedFlags(0);
  q.add(one, [], 3);
  assert.equal(q.kickNeeded(), true);
});

test('with EVENT_IDX the kick fires only when avail.idx passes avail_event (§2.7.10.1)', () => {
  const { q, dev } = split(EVT);
  dev.raw.setUsedFlags(VIRTQ_USED_F_NO_NOTIFY); // must be ignored with EVENT_IDX
  dev.raw.setAvailEvent(0);
  q.add(one, [], 0); // writes entry 0 → idx 1: passes event 0
  assert.equal(q.kickNeeded(), true);
  dev.raw.setAvailEvent(3);
  q.add(one, [], 1); // entry 1
  assert.equal(q.kickNeeded(), false);
  q.add(one, [], 2); // entry 2
  q.add(one, [], 3); // entry 3 == avail_event, batched with entry 2
  assert.equal(q.kickNeeded(), true);
  q.add(one, [], 4);
  assert.equal(q.kickNeeded(), false, 'event already passed');
  assert.equal(q.kickNeeded(), false, 'nothing added since');
});

test('the event-idx kick decision holds across the 0xFFFF wrap', () => {
  const { q, dev } = split(EVT, 0xfffe);
  dev.raw.setAvailEvent(0x0000); // the entry written after 0xFFFF
  q.add(one, [], 0); // entry 0xFFFE
  assert.equal(q.kickNeeded(), false);
  q.add(one, [], 1); // 0xFFFF
  q.add(one, [], 2); // 0x0000 → kick
  assert.equal(q.kickNeeded(), true);
  // Cross-check against the reference formula for every old/new/event in a window around the wrap.
  for (const [ev, nw, old] of [
    [0xffff, 0x0001, 0xfffe],
    [0x0001, 0x0001, 0xffff],
    [0x0001, 0x0002, 0x0001],
  ]) {
    assert.equal(vringNeedEvent(ev, nw, old), ((nw - ev - 1) & 0xffff) < ((nw - old) & 0xffff));
  }
});

test('split interrupt suppression: flags without EVENT_IDX, used_event with it (§2.7.7.1)', () => {
  const a = split(V1);
  a.q.disableInterrupts();
  assert.equal(a.dev.raw.availFlags(), 1);
  assert.equal(a.q.enableInterrupts(), false);
  assert.equal(a.dev.raw.availFlags(), 0);

  const b = split(EVT, 0x10);
  b.q.disableInterrupts();
  assert.equal(b.dev.raw.availFlags(), 0, 'flags stay 0 with EVENT_IDX');
  assert.equal(b.dev.raw.usedEvent(), 0x0f, 'furthest possible used_event');
  b.q.add(one, [], 7);
  b.dev.take();
  b.dev.complete(0, 0);
  assert.equal(b.q.enableInterrupts(), true, 'a used buffer is already waiting: re-poll');
  assert.equal(b.dev.raw.usedEvent(), 0x10);
  assert.equal(b.q.pollUsed(), 0);
  assert.equal(b.q.enableInterrupts(), false);
  assert.equal(b.dev.raw.usedEvent(), 0x11);
});

function packed(features: bigint, size = 10, base = 0, wrap: 0 | 1 = 1) {
  const arena = new GuestArena(sharedMemory(1 << 20));
  const q = PackedQueue.create<number>(arena, { size, features: features | PACKED, base, wrap });
  return { q, dev: new PackedCompleter(arena.mem, q.layout, base, wrap) };
}

test('packed kick follows device event flags ENABLE/DISABLE (§2.8.10)', () => {
  const { q, dev } = packed(V1);
  q.add(one, [], 0);
  assert.equal(q.kickNeeded(), true);
  dev.raw.setDeviceEvent(0, RING_EVENT_FLAGS_DISABLE);
  q.add(one, [], 1);
  assert.equal(q.kickNeeded(), false);
  dev.raw.setDeviceEvent(0, RING_EVENT_FLAGS_DESC); // DESC without EVENT_IDX: not valid, notify to be safe
  q.add(one, [], 2);
  assert.equal(q.kickNeeded(), true);
});

test('packed DESC events compare offset and wrap counter, across a ring wrap', () => {
  const { q, dev } = packed(EVT, 10);
  const chain = [one[0], one[0], one[0]];
  dev.raw.setDeviceEvent(4 | (1 << 15), RING_EVENT_FLAGS_DESC);
  q.add(chain, [], 0); // positions 0-2
  assert.equal(q.kickNeeded(), false);
  q.add(chain, [], 1); // 3-5 covers 4
  assert.equal(q.kickNeeded(), true);
  // Drain so the ring can wrap.
  for (let t = dev.take(); t; t = dev.take()) dev.markUsed(t.head, 0, t.count);
  while (q.pollUsed() >= 0);
  q.add(chain, [], 2); // 6-8
  assert.equal(q.kickNeeded(), false);
  dev.raw.setDeviceEvent(0 | (0 << 15), RING_EVENT_FLAGS_DESC); // position 0 in the next lap (wrap 0)
  q.add(chain, [], 3); // 9, 0, 1 (wraps)
  assert.equal(q.availState.wrap, 0);
  assert.equal(q.kickNeeded(), true);
  dev.raw.setDeviceEvent(9 | (1 << 15), RING_EVENT_FLAGS_DESC); // previous lap: already passed
  q.add([one[0]], [], 4);
  assert.equal(q.kickNeeded(), false);
});

test('packed interrupt suppression writes the driver event structure (§2.8.10)', () => {
  const { q, dev } = packed(EVT, 10, 7, 0);
  q.disableInterrupts();
  assert.equal(dev.raw.driverEvent().flags, RING_EVENT_FLAGS_DISABLE);
  assert.equal(q.enableInterrupts(), false);
  assert.deepEqual(dev.raw.driverEvent(), { offWrap: 7, flags: RING_EVENT_FLAGS_DESC });
  const p = packed(V1);
  p.q.disableInterrupts();
  p.q.add(one, [], 0);
  const t = p.dev.take()!;
  p.dev.markUsed(t.head, 0, t.count);
  assert.equal(p.q.enableInterrupts(), true);
  assert.equal(p.dev.raw.driverEvent().flags, RING_EVENT_FLAGS_ENABLE);
});
