// Packed ring, device side: availability by wrap counter, lists, indirect tables, used
// descriptors (positions, flags, batching), event suppression, and malformed lists.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DescChain } from '../../../../harness/virtio/device/chain.ts';
import { PackedDeviceQueue } from '../../../../harness/virtio/device/packed-queue.ts';
import type { QueueFeatures } from '../../../../harness/virtio/device/queue.ts';
import {
  RING_EVENT_FLAGS_DESC,
  RING_EVENT_FLAGS_DISABLE,
  RING_EVENT_FLAGS_ENABLE,
  VIRTQ_DESC_F_AVAIL,
  VIRTQ_DESC_F_AVAIL_USED,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_USED,
  VIRTQ_DESC_F_WRITE,
} from '../../../../harness/virtio/layout.ts';
import { BUF, PackedRing, Ram, pattern } from './rings.ts';

const WRITE = VIRTQ_DESC_F_WRITE;
const AU = VIRTQ_DESC_F_AVAIL_USED;
const BASIC: QueueFeatures = { eventIdx: false, indirect: true, inOrder: false };

function setup(size = 8, features = BASIC) {
  const ram = new Ram();
  const ring = new PackedRing(ram, size);
  const q = new PackedDeviceQueue(ram.dm, ring.cfg, features);
  assert.equal(q.broken, undefined);
  return { ram, ring, q, chain: q.newChain() };
}

function take(q: PackedDeviceQueue, chain: DescChain): DescChain {
  const r = q.pop(chain);
  assert.equal(r.kind, 'chain', r.kind === 'broken' ? r.message : 'expected a chain');
  return chain;
}

describe('packed device queue: taking buffers', () => {
  it('sees a descriptor only once AVAIL matches the wrap counter and USED does not (§2.8.1, §2.8.15)', () => {
    const { ring, q, chain } = setup();
    ring.setDesc(0, BUF, 16, 1, 0); // zero flags: the initial state, not available
    assert.equal(q.pop(chain).kind, 'empty');
    ring.setDesc(0, BUF, 16, 1, AU); // AVAIL = USED = 1: a used descriptor, not available
    assert.equal(q.pop(chain).kind, 'empty');
    ring.setDesc(0, BUF, 16, 1, VIRTQ_DESC_F_USED); // wrong phase for wrap counter 1
    assert.equal(q.pop(chain).kind, 'empty');
    ring.setDesc(0, BUF, 16, 1, VIRTQ_DESC_F_AVAIL);
    take(q, chain);
    assert.equal(chain.id, 1);
  });

  it('walks a NEXT list; the Buffer ID comes from the last descriptor', () => {
    const { ram, ring, q, chain } = setup();
    ram.write(BUF, pattern(12, 4));
    ring.offer([{ addr: BUF, len: 12 }, { addr: BUF + 0x100, len: 0 }, { addr: BUF + 0x200, len: 100, flags: WRITE }], 7);
    take(q, chain);
    assert.equal(chain.id, 7);
    assert.equal(chain.descCount, 3);
    assert.deepEqual([...chain.readable.toBytes()], [...pattern(12, 4)]);
    assert.equal(chain.writable.totalLen, 100);
  });

  it('reads an indirect table sequentially, ignoring reserved flags and Buffer IDs inside (§2.8.7)', () => {
    const { ram, ring, q, chain } = setup();
    const table = BUF + 0x8000;
    // Garbage in the reserved bits: NEXT, INDIRECT, AVAIL and IDs must not change the walk.
    ram.rawDesc(table, BUF, 12, 0xbeef, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT);
    ram.rawDesc(table + 16, BUF + 0x100, 20, 0x1234, VIRTQ_DESC_F_AVAIL);
    ram.rawDesc(table + 32, BUF + 0x200, 64, 0xffff, WRITE | VIRTQ_DESC_F_NEXT);
    ring.offer([{ addr: table, len: 48, flags: VIRTQ_DESC_F_INDIRECT | WRITE }], 3);
    take(q, chain);
    assert.equal(chain.id, 3);
    assert.equal(chain.descCount, 1);
    assert.equal(chain.buffers, 3);
    assert.equal(chain.readable.totalLen, 32);
    assert.equal(chain.writable.totalLen, 64);
  });
});

describe('packed device queue: used descriptors', () => {
  it('writes used descriptors at consecutive positions, skipping each list length (§2.8.6)', () => {
    const { ring, q } = setup();
    ring.offer([{ addr: BUF, len: 8 }, { addr: BUF + 0x100, len: 8 }, { addr: BUF + 0x200, len: 8 }], 10);
    ring.offer([{ addr: BUF + 0x300, len: 64, flags: WRITE }], 11);
    const a = take(q, q.newChain());
    const b = take(q, q.newChain());
    // Completed out of order: b first, at the first position.
    q.push(b, 40);
    q.push(a, 0);
    q.flush();
    assert.deepEqual(ring.read(0), { ...ring.read(0), id: 11, len: 40, flags: AU | WRITE });
    assert.deepEqual(ring.read(1), { ...ring.read(1), id: 10, len: 0, flags: AU });
  });

  it('marks the first used descriptor of a batch last (§2.8.9)', () => {
    const { ring, q } = setup();
    ring.offer([{ addr: BUF, len: 64, flags: WRITE }], 0);
    ring.offer([{ addr: BUF + 0x100, len: 64, flags: WRITE }], 1);
    const a = take(q, q.newChain());
    const b = take(q, q.newChain());
    q.push(a, 10);
    q.push(b, 20);
    assert.equal(ring.read(0).flags & AU, VIRTQ_DESC_F_AVAIL, 'first still shows available before flush');
    assert.equal(ring.read(1).flags & AU, AU, 'the rest are visible first');
    q.flush();
    assert.equal(ring.read(0).flags, AU | WRITE);
  });

  it('flips the wrap counter at the ring end, also with a ring size that is not a power of 2', () => {
    const { ring, q } = setup(3);
    const chain = q.newChain();
    for (let k = 0; k < 7; k++) {
      const slot = ring.offer([{ addr: BUF + 0x100 * (k % 3), len: 32, flags: WRITE }], k % 3);
      take(q, chain);
      q.push(chain, 32);
      q.flush();
      const used = ring.read(slot);
      const lapWrap = Math.floor(k / 3) % 2 === 0 ? AU : 0;
      assert.equal(used.flags, lapWrap | WRITE, `lap ${Math.floor(k / 3)} slot ${slot}`);
      assert.equal(used.id, k % 3);
    }
    // 7 buffers on a ring of 3: position 1, two laps done, so both wrap counters are back to 1.
    assert.equal(q.base(), ((1 | (1 << 15)) | ((1 | (1 << 15)) << 16)) >>> 0);
  });

  it('IN_ORDER: one used descriptor with the last Buffer ID skips the whole batch (§2.8.8)', () => {
    const { ring, q } = setup(8, { eventIdx: false, indirect: false, inOrder: true });
    ring.offer([{ addr: BUF, len: 8 }, { addr: BUF + 0x100, len: 8 }], 4);
    ring.offer([{ addr: BUF + 0x200, len: 8 }], 5);
    ring.offer([{ addr: BUF + 0x300, len: 8 }], 6);
    for (let k = 0; k < 3; k++) take(q, q.newChain());
    q.pushBatch(3, 0);
    q.flush();
    assert.equal(ring.read(0).id, 6);
    assert.equal(ring.read(0).flags, AU);
    assert.equal(ring.read(2).flags & AU, VIRTQ_DESC_F_AVAIL, 'skipped slots are not written');
    // The next used descriptor goes to position 4.
    ring.offer([{ addr: BUF, len: 8 }], 7);
    const c = take(q, q.newChain());
    q.push(c, 0);
    q.flush();
    assert.equal(ring.read(4).id, 7);
  });
});

describe('packed device queue: event suppression (§2.8.10)', () => {
  function useOne(ring: PackedRing, q: PackedDeviceQueue, chain: DescChain, id: number): boolean {
    ring.offer([{ addr: BUF, len: 8, flags: WRITE }], id);
    take(q, chain);
    q.push(chain, 8);
    q.flush();
    return q.needsNotify();
  }

  it('ENABLE notifies, DISABLE does not', () => {
    const { ring, q, chain } = setup();
    ring.setDriverEvent(0, RING_EVENT_FLAGS_ENABLE);
    assert.equal(useOne(ring, q, chain, 0), true);
    ring.setDriverEvent(0, RING_EVENT_FLAGS_DISABLE);
    assert.equal(useOne(ring, q, chain, 1), false);
  });

  it('DESC with EVENT_IDX: notifies when the given position and wrap are used, across the ring end', () => {
    const { ring, q, chain } = setup(4, { eventIdx: true, indirect: false, inOrder: false });
    ring.setDriverEvent(2 | (1 << 15), RING_EVENT_FLAGS_DESC);
    const got = [0, 1, 2, 3].map((k) => useOne(ring, q, chain, k));
    assert.deepEqual(got, [false, false, true, false]);
    // Next lap (device wrap counter 0): position 1 with wrap 0.
    ring.setDriverEvent(1 | (0 << 15), RING_EVENT_FLAGS_DESC);
    assert.deepEqual([4, 5, 6].map((k) => useOne(ring, q, chain, k % 4)), [false, true, false]);
  });

  it('device event: DISABLE while not wanted; DESC at the next avail position with EVENT_IDX', () => {
    const { ring, q, chain } = setup(4, { eventIdx: true, indirect: false, inOrder: false });
    q.disableKicks();
    assert.equal(ring.readDeviceEvent().flags, RING_EVENT_FLAGS_DISABLE);
    ring.offer([{ addr: BUF, len: 8 }], 0);
    take(q, chain);
    assert.equal(q.enableKicks(), false);
    assert.deepEqual(ring.readDeviceEvent(), { offWrap: 1 | (1 << 15), flags: RING_EVENT_FLAGS_DESC });
    ring.offer([{ addr: BUF, len: 8 }], 1);
    assert.equal(q.enableKicks(), true, 're-check sees the buffer added meanwhile');
  });
});

describe('packed device queue: malformed lists', () => {
  it('NEXT on every descriptor of the ring → chain-too-long (§2.8.17)', () => {
    const { ring, q, chain } = setup(4);
    for (let s = 0; s < 4; s++) ring.setDesc(s, BUF, 8, 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_AVAIL);
    const r = q.pop(chain);
    assert.equal(r.kind === 'broken' && r.reason, 'chain-too-long');
    assert.match(r.kind === 'broken' ? r.message : '', /descriptor list from slot 0 is longer than queue size 4/);
  });

  it('the head is available but a later list descriptor is not → partial-list', () => {
    const { ring, q, chain } = setup();
    ring.setDesc(1, BUF, 8, 0, 0);
    ring.setDesc(0, BUF, 8, 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_AVAIL);
    const r = q.pop(chain);
    assert.equal(r.kind === 'broken' && r.reason, 'partial-list');
    assert.match(r.kind === 'broken' ? r.message : '', /slot 1 \(NEXT of the one before\) is not available/);
  });

  it('INDIRECT with NEXT, or inside a NEXT list → indirect-with-next (§2.8.19)', () => {
    for (const elems of [
      [{ addr: BUF + 0x8000, len: 16, flags: VIRTQ_DESC_F_INDIRECT }, { addr: BUF, len: 8 }],
      [{ addr: BUF, len: 8 }, { addr: BUF + 0x8000, len: 16, flags: VIRTQ_DESC_F_INDIRECT }],
    ]) {
      const { ring, q, chain } = setup();
      ring.offer(elems, 0);
      const r = q.pop(chain);
      assert.equal(r.kind === 'broken' && r.reason, 'indirect-with-next');
      assert.equal(r.kind === 'broken' && r.clause, '2.8.19');
    }
  });

  it('indirect table outside memory, of bad length, or not negotiated', () => {
    const a = setup();
    a.ring.offer([{ addr: 0x10, len: 32, flags: VIRTQ_DESC_F_INDIRECT }], 0);
    const ra = a.q.pop(a.chain);
    assert.equal(ra.kind === 'broken' && ra.reason, 'address-outside-memory');
    const b = setup();
    b.ring.offer([{ addr: BUF, len: 20, flags: VIRTQ_DESC_F_INDIRECT }], 0);
    const rb = b.q.pop(b.chain);
    assert.equal(rb.kind === 'broken' && rb.reason, 'indirect-length');
    const c = setup(8, { eventIdx: false, indirect: false, inOrder: false });
    c.ring.offer([{ addr: BUF, len: 16, flags: VIRTQ_DESC_F_INDIRECT }], 0);
    const rc = c.q.pop(c.chain);
    assert.equal(rc.kind === 'broken' && rc.reason, 'indirect-not-negotiated');
  });

  it('a Buffer ID offered again while in flight → buffer-id-in-use', () => {
    const { ring, q } = setup();
    ring.offer([{ addr: BUF, len: 8 }], 5);
    ring.offer([{ addr: BUF, len: 8 }], 5);
    take(q, q.newChain());
    const r = q.pop(q.newChain());
    assert.equal(r.kind === 'broken' && r.reason, 'buffer-id-in-use');
    assert.match(r.kind === 'broken' ? r.message : '', /Buffer ID 5 made available again/);
  });

  it('length overflow and readable-after-writable, and a broken queue writes nothing', () => {
    const a = setup();
    a.ring.offer([{ addr: 0xffff_ffff_ffff_fff0n, len: 0x20 }], 0);
    const ra = a.q.pop(a.chain);
    assert.equal(ra.kind === 'broken' && ra.reason, 'length-overflow');
    const b = setup();
    b.ring.offer([{ addr: BUF, len: 8, flags: WRITE }, { addr: BUF, len: 8 }], 0);
    const before = b.ram.snapshot();
    const rb = b.q.pop(b.chain);
    assert.equal(rb.kind === 'broken' && rb.reason, 'readable-after-writable');
    b.q.pushUsed(0, 8, 2);
    b.q.flush();
    b.q.disableKicks();
    b.q.enableKicks();
    assert.equal(b.q.needsNotify(), false);
    assert.deepEqual(b.ram.snapshot(), before);
  });
});
