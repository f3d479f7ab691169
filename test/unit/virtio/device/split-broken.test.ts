// Split ring, device side: every malformed-chain reason comes back as a typed Broken with its
// clause and a precise message; the queue then refuses all work and writes nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Broken, BrokenReason } from '../../../../harness/virtio/device/broken.ts';
import { DeviceMemory } from '../../../../harness/virtio/device/device-memory.ts';
import { SplitDeviceQueue } from '../../../../harness/virtio/device/split-queue.ts';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../../../harness/virtio/layout.ts';
import { GuestMemory } from '../../../../harness/virtio/memory.ts';
import { BUF, GPA, MEM_SIZE, Ram, SplitRing } from './rings.ts';

const NEXT = VIRTQ_DESC_F_NEXT;
const WRITE = VIRTQ_DESC_F_WRITE;
const INDIRECT = VIRTQ_DESC_F_INDIRECT;
const FEATURES = { eventIdx: false, indirect: true, inOrder: false };

interface Case {
  name: string;
  reason: BrokenReason;
  clause: string;
  message: RegExp;
  size?: number;
  features?: typeof FEATURES;
  build: (ring: SplitRing, ram: Ram) => void;
}

const TABLE = BUF + 0x8000;

const cases: Case[] = [
  {
    name: 'descriptor loop',
    reason: 'descriptor-loop',
    clause: '2.7.5.2',
    message: /^descriptor loop at index 0 \(chain head 0\)$/,
    build: (r) => {
      r.setDesc(0, BUF, 8, NEXT, 1);
      r.setDesc(1, BUF, 8, NEXT, 2);
      r.setDesc(2, BUF, 8, NEXT, 0);
      r.offer(0);
    },
  },
  {
    name: 'loop inside an indirect table',
    reason: 'descriptor-loop',
    clause: '2.7.5.2',
    message: /^descriptor loop at index 1 of the indirect table/,
    build: (r, ram) => {
      ram.rawDesc(TABLE, BUF, 8, NEXT, 1);
      ram.rawDesc(TABLE + 16, BUF, 8, NEXT, 1);
      r.setDesc(0, TABLE, 32, INDIRECT);
      r.offer(0);
    },
  },
  {
    name: 'chain longer than the ring (indirect table of size+1 descriptors)',
    reason: 'chain-too-long',
    clause: '2.7.5.3.1',
    message: /indirect table of 9 descriptors after 0 direct ones is longer than queue size 8/,
    build: (r, ram) => {
      for (let k = 0; k < 9; k++) ram.rawDesc(TABLE + 16 * k, BUF, 8, k < 8 ? NEXT : 0, k + 1);
      r.setDesc(0, TABLE, 9 * 16, INDIRECT);
      r.offer(0);
    },
  },
  {
    name: 'chain longer than the ring (direct prefix + indirect table)',
    reason: 'chain-too-long',
    clause: '2.7.5.3.1',
    message: /indirect table of 7 descriptors after 2 direct ones is longer than queue size 8/,
    build: (r, ram) => {
      for (let k = 0; k < 7; k++) ram.rawDesc(TABLE + 16 * k, BUF, 8, k < 6 ? NEXT : 0, k + 1);
      r.setDesc(0, BUF, 8, NEXT, 1);
      r.setDesc(1, BUF, 8, NEXT, 2);
      r.setDesc(2, TABLE, 7 * 16, INDIRECT);
      r.offer(0);
    },
  },
  {
    name: 'buffer address outside the memory table',
    reason: 'address-outside-memory',
    clause: '2.7.5',
    message: /^descriptor 1: address 0x10000000 \+ len 64 outside memory table$/,
    build: (r) => {
      r.setDesc(0, BUF, 8, NEXT, 1);
      r.setDesc(1, 0x1000_0000, 64, WRITE);
      r.offer(0);
    },
  },
  {
    name: 'buffer running past the end of the memory table',
    reason: 'address-outside-memory',
    clause: '2.7.5',
    message: /^descriptor 0: address 0x400ffff0 \+ len 32 outside memory table$/,
    build: (r) => {
      r.setDesc(0, GPA + MEM_SIZE - 16, 32, 0);
      r.offer(0);
    },
  },
  {
    name: 'length that overflows 2^64',
    reason: 'length-overflow',
    clause: '2.7.5',
    message: /^descriptor 0: address 0xfffffffffffff000 \+ len 0x2000 overflows 2\^64$/,
    build: (r) => {
      r.setDesc(0, 0xffff_ffff_ffff_f000n, 0x2000, 0);
      r.offer(0);
    },
  },
  {
    name: 'address at or above 2^53 (no overflow)',
    reason: 'address-outside-memory',
    clause: '2.7.5',
    message: /address 0x20000040000000 \+ len 16 outside memory table/,
    build: (r) => {
      r.setDesc(0, (1n << 53n) + BigInt(GPA), 16, 0);
      r.offer(0);
    },
  },
  {
    name: 'nested indirect table',
    reason: 'nested-indirect',
    clause: '2.7.5.3.1',
    message: /^indirect descriptor 1 sets INDIRECT inside an indirect table$/,
    build: (r, ram) => {
      ram.rawDesc(TABLE, BUF, 8, NEXT, 1);
      ram.rawDesc(TABLE + 16, TABLE + 0x100, 16, INDIRECT, 0);
      r.setDesc(0, TABLE, 32, INDIRECT);
      r.offer(0);
    },
  },
  {
    name: 'INDIRECT together with NEXT',
    reason: 'indirect-with-next',
    clause: '2.7.5.3.1',
    message: /^descriptor 0 sets both INDIRECT and NEXT$/,
    build: (r, ram) => {
      ram.rawDesc(TABLE, BUF, 8, 0, 0);
      r.setDesc(0, TABLE, 16, INDIRECT | NEXT, 1);
      r.setDesc(1, BUF, 8, 0);
      r.offer(0);
    },
  },
  {
    name: 'indirect table length not a multiple of 16',
    reason: 'indirect-length',
    clause: '2.7.5.3',
    message: /indirect table length 24 is not a positive multiple of 16/,
    build: (r) => {
      r.setDesc(0, TABLE, 24, INDIRECT);
      r.offer(0);
    },
  },
  {
    name: 'zero-length indirect table',
    reason: 'indirect-length',
    clause: '2.7.5.3',
    message: /indirect table length 0 is not a positive multiple of 16/,
    build: (r) => {
      r.setDesc(0, TABLE, 0, INDIRECT);
      r.offer(0);
    },
  },
  {
    name: 'indirect table outside the memory table',
    reason: 'address-outside-memory',
    clause: '2.7.5.3',
    message: /^descriptor 0 \(indirect table\): address 0x80000000 \+ len 32 outside memory table$/,
    build: (r) => {
      r.setDesc(0, 0x8000_0000, 32, INDIRECT);
      r.offer(0);
    },
  },
  {
    name: 'INDIRECT without VIRTIO_F_INDIRECT_DESC',
    reason: 'indirect-not-negotiated',
    clause: '2.7.5.3.1',
    message: /VIRTIO_F_INDIRECT_DESC was not negotiated/,
    features: { eventIdx: false, indirect: false, inOrder: false },
    build: (r, ram) => {
      ram.rawDesc(TABLE, BUF, 8, 0, 0);
      r.setDesc(0, TABLE, 16, INDIRECT);
      r.offer(0);
    },
  },
  {
    name: 'avail.idx jump past the ring size',
    reason: 'avail-idx-jump',
    clause: '2.7',
    message: /^avail\.idx jumped from 0 to 9: 9 entries past the next unread one \(0\), more than queue size 8$/,
    build: (r) => r.setAvailIdx(9),
  },
  {
    name: 'avail.idx moving backwards',
    reason: 'avail-idx-jump',
    clause: '2.7',
    message: /avail\.idx jumped from 0 to 65535: 65535 entries past/,
    build: (r) => r.setAvailIdx(0xffff),
  },
  {
    name: 'available ring entry beyond the descriptor table',
    reason: 'index-out-of-range',
    clause: '2.7.6',
    message: /^avail\.ring\[0\] = 8 is not a descriptor index \(queue size 8\)$/,
    build: (r) => r.offer(8),
  },
  {
    name: 'next beyond the descriptor table',
    reason: 'index-out-of-range',
    clause: '2.7.5',
    message: /^descriptor 0 has next = 200, beyond the table of 8$/,
    build: (r) => {
      r.setDesc(0, BUF, 8, NEXT, 200);
      r.offer(0);
    },
  },
  {
    name: 'device-readable descriptor after a device-writable one',
    reason: 'readable-after-writable',
    clause: '2.7.4.2',
    message: /^descriptor 1 is device-readable but follows a device-writable descriptor/,
    build: (r) => {
      r.setDesc(0, BUF, 8, WRITE | NEXT, 1);
      r.setDesc(1, BUF + 0x100, 8, 0);
      r.offer(0);
    },
  },
  {
    name: 'IN_ORDER driver skipping ahead in the table',
    reason: 'in-order-violation',
    clause: '2.7.5',
    message: /^IN_ORDER: avail\.ring\[1\] = 3, expected descriptor 1 \(ring order\)$/,
    features: { eventIdx: false, indirect: false, inOrder: true },
    build: (r) => {
      r.setDesc(0, BUF, 8, 0);
      r.setDesc(3, BUF, 8, 0);
      r.offer(0, 3);
    },
  },
  {
    name: 'head offered again while in flight',
    reason: 'buffer-id-in-use',
    clause: '2.7.13',
    message: /^avail\.ring\[1\] offers head 2 again before the device returned it$/,
    build: (r) => {
      r.setDesc(2, BUF, 8, 0);
      r.offer(2, 2);
    },
  },
];

/** Pop until the queue breaks or runs dry; returns the Broken. */
function popUntilBroken(q: SplitDeviceQueue): Broken | undefined {
  const chain = q.newChain();
  for (let k = 0; k < 4; k++) {
    const r = q.pop(chain);
    if (r.kind === 'broken') return r;
    if (r.kind === 'empty') return undefined;
  }
  return undefined;
}

describe('split device queue: malformed chains', () => {
  for (const c of cases) {
    it(`${c.name} → ${c.reason} (§${c.clause})`, () => {
      const ram = new Ram();
      const ring = new SplitRing(ram, c.size ?? 8);
      const q = new SplitDeviceQueue(ram.dm, ring.cfg, c.features ?? FEATURES);
      let seen: Broken | undefined;
      q.onBroken = (b) => (seen = b);
      c.build(ring, ram);
      const before = ram.snapshot();
      const b = popUntilBroken(q);
      assert.ok(b, 'expected the queue to break');
      assert.equal(b.kind, 'broken');
      assert.equal(b.reason, c.reason);
      assert.equal(b.clause, c.clause);
      assert.match(b.message, c.message);
      assert.equal(seen, b, 'onBroken called with the same reason');
      // Refuses further work, and writes nothing: not the used ring, not the flags, not buffers.
      assert.equal(q.pop(q.newChain()), b);
      q.pushUsed(0, 8, 1);
      q.flush();
      assert.equal(q.needsNotify(), false);
      q.disableKicks();
      assert.equal(q.enableKicks(), false);
      assert.equal(q.hasAvailable(), false);
      assert.deepEqual(ram.snapshot(), before, 'a broken queue wrote guest memory');
    });
  }

  it('zero-length descriptors are not a reason to break', () => {
    const ram = new Ram();
    const ring = new SplitRing(ram, 8);
    const q = new SplitDeviceQueue(ram.dm, ring.cfg, FEATURES);
    ring.setDesc(0, 0, 0, NEXT, 1);
    ring.setDesc(1, 0xffff_ffff_ffff_ffffn, 0, WRITE);
    ring.offer(0);
    const chain = q.newChain();
    assert.equal(q.pop(chain).kind, 'chain');
    assert.equal(chain.readable.totalLen + chain.writable.totalLen, 0);
    q.push(chain, 0);
    q.flush();
    assert.deepEqual(ring.usedElem(0), { id: 0, len: 0 });
  });

  it('a chain of more than 2^32 bytes → chain-too-large (§2.7.5.2)', () => {
    // Two 3 GiB regions backed by one lazily-allocated buffer: untouched pages cost nothing.
    const big = new Uint8Array(new ArrayBuffer(3 * 2 ** 30));
    const small = new Uint8Array(new SharedArrayBuffer(0x10000));
    const gm = new GuestMemory([
      { gpa: BigInt(GPA), size: small.length, uva: 0x7f00_0000_0000n, mmapOffset: 0, fd: -1, bytes: small },
      { gpa: 0x1_0000_0000n, size: big.length, uva: 0x7f10_0000_0000n, mmapOffset: 0, fd: -1, bytes: big },
      { gpa: 0x2_0000_0000n, size: big.length, uva: 0x7f20_0000_0000n, mmapOffset: 0, fd: -1, bytes: big },
    ]);
    const ram = new Ram(gm);
    const ring = new SplitRing(ram, 8);
    const q = new SplitDeviceQueue(new DeviceMemory(gm), ring.cfg, FEATURES);
    ring.setDesc(0, 0x1_0000_0000n, 3 * 2 ** 30, NEXT, 1);
    ring.setDesc(1, 0x2_0000_0000n, 3 * 2 ** 30, 0);
    ring.offer(0);
    const b = popUntilBroken(q);
    assert.equal(b?.reason, 'chain-too-large');
    assert.match(b!.message, /chain from head 0 holds more than 2\^32 bytes \(at descriptor 1\)/);
  });
});

describe('split device queue: ring layout from the driver', () => {
  const layouts: { name: string; patch: Partial<{ size: number; desc: number; driver: number; device: number }>; message: RegExp; clause: string }[] = [
    { name: 'size not a power of 2', patch: { size: 6 }, message: /queue size 6 is not a power of 2/, clause: '2.7' },
    { name: 'misaligned used ring', patch: { device: GPA + 0x8002 }, message: /used ring at 0x40008002 is not 4-byte aligned/, clause: '2.7.1' },
    { name: 'misaligned descriptor table', patch: { desc: GPA + 8 }, message: /descriptor table at 0x40000008 is not 16-byte aligned/, clause: '2.7.1' },
    { name: 'available ring outside memory', patch: { driver: 0x1000 }, message: /available ring at 0x1000 \(22 bytes\) is not inside one memory-table region/, clause: '2.7.1' },
  ];
  for (const l of layouts) {
    it(`${l.name} → ring-layout`, () => {
      const ram = new Ram();
      const ring = new SplitRing(ram, 8);
      const q = new SplitDeviceQueue(ram.dm, { ...ring.cfg, ...l.patch }, FEATURES);
      assert.equal(q.broken?.reason, 'ring-layout');
      assert.equal(q.broken?.clause, l.clause);
      assert.match(q.broken!.message, l.message);
      assert.equal(q.pop(q.newChain()).kind, 'broken');
    });
  }
});
