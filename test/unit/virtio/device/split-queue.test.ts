// Split ring, device side: taking chains, segments, used-ring updates, IN_ORDER batches.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DescChain } from '../../../../harness/virtio/device/chain.ts';
import { DeviceMemory } from '../../../../harness/virtio/device/device-memory.ts';
import { SplitDeviceQueue } from '../../../../harness/virtio/device/split-queue.ts';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../../../harness/virtio/layout.ts';
import { GuestMemory } from '../../../../harness/virtio/memory.ts';
import { BUF, GPA, Ram, SplitRing, pattern } from './rings.ts';

const NEXT = VIRTQ_DESC_F_NEXT;
const WRITE = VIRTQ_DESC_F_WRITE;
const PLAIN = { eventIdx: false, indirect: true, inOrder: false };

function setup(size = 8, features = PLAIN) {
  const ram = new Ram();
  const ring = new SplitRing(ram, size);
  const q = new SplitDeviceQueue(ram.dm, ring.cfg, features);
  assert.equal(q.broken, undefined);
  return { ram, ring, q, chain: q.newChain() };
}

function popChain(q: SplitDeviceQueue, chain: DescChain): DescChain {
  const r = q.pop(chain);
  assert.equal(r.kind, 'chain', r.kind === 'broken' ? r.message : 'expected a chain');
  return chain;
}

describe('split device queue: taking chains', () => {
  it('walks readable then writable descriptors in NEXT order and gathers their bytes', () => {
    const { ram, ring, q, chain } = setup();
    ram.write(BUF, pattern(12, 1));
    ram.write(BUF + 0x100, pattern(100, 2));
    ring.setDesc(3, BUF, 12, NEXT, 5);
    ring.setDesc(5, BUF + 0x100, 100, NEXT, 1);
    ring.setDesc(1, BUF + 0x1000, 64, WRITE | NEXT, 2);
    ring.setDesc(2, BUF + 0x2000, 32, WRITE);
    ring.offer(3);
    popChain(q, chain);
    assert.equal(chain.id, 3);
    assert.equal(chain.descCount, 4);
    assert.equal(chain.readable.count, 2);
    assert.equal(chain.readable.totalLen, 112);
    assert.deepEqual([...chain.readable.toBytes()], [...pattern(12, 1), ...pattern(100, 2)]);
    assert.equal(chain.writable.count, 2);
    assert.equal(chain.writable.totalLen, 96);
    assert.equal(chain.writable.gpa[1], BUF + 0x2000);
    assert.equal(q.inFlight, 1);
  });

  it('scatters across writable segments at the right offsets', () => {
    const { ram, ring, q, chain } = setup();
    ring.setDesc(0, BUF, 10, WRITE | NEXT, 1);
    ring.setDesc(1, BUF + 0x100, 10, WRITE);
    ring.offer(0);
    popChain(q, chain);
    const data = pattern(15, 3);
    assert.equal(chain.writable.scatter(data, 2), 15);
    assert.deepEqual([...ram.read(BUF + 2, 8)], [...data.subarray(0, 8)]);
    assert.deepEqual([...ram.read(BUF + 0x100, 7)], [...data.subarray(8)]);
  });

  it('returns EMPTY at avail.idx and never reads the slot beyond it', () => {
    const { ring, q, chain } = setup();
    ring.setDesc(0, BUF, 8, 0);
    ring.offer(0);
    ring.setRingEntry(1, 999); // poisoned: past avail.idx, and not a descriptor index
    popChain(q, chain);
    assert.equal(q.pop(chain).kind, 'empty');
    assert.equal(q.broken, undefined);
    assert.equal(q.hasAvailable(), false);
  });

  it('accepts zero-length descriptors without a segment, whatever their address', () => {
    const { ring, q, chain } = setup();
    ring.setDesc(0, BUF, 12, NEXT, 1);
    ring.setDesc(1, 0xdead_0000_0000n, 0, NEXT, 2);
    ring.setDesc(2, BUF + 0x100, 0, WRITE | NEXT, 3);
    ring.setDesc(3, BUF + 0x200, 64, WRITE);
    ring.offer(0);
    popChain(q, chain);
    assert.equal(chain.buffers, 4);
    assert.equal(chain.readable.count, 1);
    assert.equal(chain.writable.count, 1);
    assert.equal(chain.writable.gpa[0], BUF + 0x200);
  });

  it('follows an indirect table and ignores WRITE on the indirect descriptor (§2.7.5.3.2)', () => {
    const { ram, ring, q, chain } = setup();
    const table = BUF + 0x8000;
    ram.rawDesc(table, BUF, 12, NEXT, 1);
    ram.rawDesc(table + 16, BUF + 0x100, 200, NEXT, 2);
    ram.rawDesc(table + 32, BUF + 0x400, 300, WRITE, 0);
    ring.setDesc(4, table, 48, VIRTQ_DESC_F_INDIRECT | WRITE);
    ring.offer(4);
    popChain(q, chain);
    assert.equal(chain.indirect, true);
    assert.equal(chain.descCount, 1);
    assert.equal(chain.buffers, 3);
    assert.equal(chain.readable.totalLen, 212);
    assert.equal(chain.writable.totalLen, 300);
  });

  it('handles direct descriptors followed by one INDIRECT (§2.7.5.3.2)', () => {
    const { ram, ring, q, chain } = setup();
    const table = BUF + 0x8000;
    // The table's descriptors chain by `next` within the table: 0 → 1.
    ram.rawDesc(table, BUF + 0x100, 50, NEXT, 1);
    ram.rawDesc(table + 16, BUF + 0x200, 60, WRITE, 0);
    ring.setDesc(0, BUF, 12, NEXT, 6);
    ring.setDesc(6, table, 32, VIRTQ_DESC_F_INDIRECT);
    ring.offer(0);
    popChain(q, chain);
    assert.equal(chain.descCount, 2);
    assert.equal(chain.readable.totalLen, 62);
    assert.equal(chain.writable.totalLen, 60);
  });

  it('splits a buffer that spans two adjacent memory regions into two segments', () => {
    const sizes = [0x20000, 0x10000, 0x10000];
    const parts = sizes.map((n) => new Uint8Array(new SharedArrayBuffer(n)));
    let at = GPA;
    const gm = new GuestMemory(
      parts.map((bytes, i) => {
        const r = { gpa: BigInt(at), size: bytes.length, uva: 0x7f00_0000_0000n + BigInt(i) * 0x1_0000_0000n, mmapOffset: 0, fd: -1, bytes };
        at += bytes.length;
        return r;
      }),
    );
    const [a, b, c] = parts;
    const ram = new Ram(gm);
    const ring = new SplitRing(ram, 8);
    const q = new SplitDeviceQueue(new DeviceMemory(gm), ring.cfg, PLAIN);
    // Data straddles regions 0|1.
    const start = GPA + a.length - 100;
    const data = pattern(300, 9);
    a.set(data.subarray(0, 100), a.length - 100);
    b.set(data.subarray(100), 0);
    // The indirect table straddles regions 1|2 (it is gathered into a copy).
    const table = GPA + a.length + b.length - 8;
    const tbl = new Uint8Array(16);
    new DataView(tbl.buffer).setBigUint64(0, BigInt(start), true);
    new DataView(tbl.buffer).setUint32(8, 300, true);
    b.set(tbl.subarray(0, 8), b.length - 8);
    c.set(tbl.subarray(8), 0);
    ring.setDesc(0, table, 16, VIRTQ_DESC_F_INDIRECT);
    ring.offer(0);
    const chain = q.newChain();
    popChain(q, chain);
    assert.equal(chain.readable.count, 2);
    assert.deepEqual([chain.readable.region[0], chain.readable.region[1]], [0, 1]);
    assert.deepEqual([...chain.readable.toBytes()], [...data]);
  });

  it('unpop gives the latest chain back for the next pop', () => {
    const { ring, q, chain } = setup();
    ring.setDesc(0, BUF, 8, WRITE);
    ring.setDesc(1, BUF + 0x100, 8, WRITE);
    ring.offer(0, 1);
    popChain(q, chain);
    const second = q.newChain();
    popChain(q, second);
    q.unpop(second);
    assert.equal(q.inFlight, 1);
    popChain(q, second);
    assert.equal(second.id, 1);
  });
});

describe('split device queue: used ring', () => {
  it('writes id and len, and used.idx only at flush', () => {
    const { ring, q, chain } = setup();
    ring.setDesc(2, BUF, 64, WRITE);
    ring.offer(2);
    popChain(q, chain);
    q.push(chain, 40);
    assert.deepEqual(ring.usedElem(0), { id: 2, len: 40 });
    assert.equal(ring.usedIdx(), 0, 'used.idx must not move before flush');
    q.flush();
    assert.equal(ring.usedIdx(), 1);
    assert.equal(q.inFlight, 0);
  });

  it('keeps used.idx free-running across 2^16 (§2.7.8)', () => {
    const ram = new Ram();
    const ring = new SplitRing(ram, 8).startAt(0xfffe);
    const q = new SplitDeviceQueue(ram.dm, ring.cfg, PLAIN);
    const chain = q.newChain();
    for (let k = 0; k < 5; k++) {
      ring.setDesc(k, BUF + 0x100 * k, 16, WRITE);
      ring.offer(k);
      popChain(q, chain);
      q.push(chain, 16);
      q.flush();
    }
    assert.equal(ring.usedIdx(), 3); // 0xfffe + 5 mod 2^16
    assert.equal(q.base(), 3);
    assert.deepEqual(ring.usedElem(0xfffe % 8), { id: 0, len: 16 });
    assert.deepEqual(ring.usedElem(2), { id: 4, len: 16 });
  });

  it('throws on a device bug: returning a chain that is not in flight', () => {
    const { q } = setup();
    assert.throws(() => q.pushUsed(3, 0, 1), /not in flight/);
  });

  it('IN_ORDER: one used entry carries the last id and used.idx moves by the batch (§2.7.9)', () => {
    const { ring, q } = setup(8, { eventIdx: false, indirect: false, inOrder: true });
    ring.setDesc(0, BUF, 16, NEXT, 1);
    ring.setDesc(1, BUF + 0x100, 16, 0);
    ring.setDesc(2, BUF + 0x200, 16, 0);
    ring.setDesc(3, BUF + 0x300, 16, 0);
    ring.offer(0, 2, 3);
    const chains = [q.newChain(), q.newChain(), q.newChain()];
    chains.forEach((c) => popChain(q, c));
    q.pushBatch(3, 0);
    q.flush();
    assert.equal(ring.usedIdx(), 3);
    assert.deepEqual(ring.usedElem(0), { id: 3, len: 0 });
    assert.equal(q.inFlight, 0);
  });

  it('IN_ORDER: refuses, as a device bug, returning buffers out of order', () => {
    const { ring, q } = setup(8, { eventIdx: false, indirect: false, inOrder: true });
    ring.setDesc(0, BUF, 16, 0);
    ring.setDesc(1, BUF + 0x100, 16, 0);
    ring.offer(0, 1);
    const a = q.newChain();
    const b = q.newChain();
    popChain(q, a);
    popChain(q, b);
    assert.throws(() => q.push(b, 0), /IN_ORDER returns buffer 1 before 0/);
  });
});
