// The memory guard finds device writes outside the allowed ranges and names where they landed;
// the frame builder's checksums are right, and a partial checksum completes to a right one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryGuard, UNLABELLED, describeChanges } from '../../../harness/conform/guard.ts';
import { l4Checksum, nonceOf, outFrame, tcpFrame, udpFrame } from '../../../harness/conform/packets.ts';
import { sharedMemory } from '../../../harness/virtio/memory.ts';

test('guard: changes outside allowed ranges, grouped in runs, labelled', () => {
  const mem = sharedMemory(3 * 4096);
  const base = Number(mem.regions[0].gpa);
  const bytes = mem.regions[0].bytes;
  const g = new MemoryGuard(mem).allow(base + 100, 50).label('TX buffer 0', base + 4096, 64).arm();
  bytes.fill(7, 100, 150); // allowed
  bytes.fill(9, 4096 + 10, 4096 + 14); // inside the labelled range
  bytes[8000] = 1; // nowhere in particular
  const c = g.changes();
  assert.deepEqual(
    c.map((x) => [x.gpa - base, x.bytes, x.where]),
    [
      [4106, 4, 'TX buffer 0 (+10)'],
      [8000, 1, UNLABELLED],
    ],
  );
  assert.match(describeChanges(c), /4 byte\(s\) at GPA 0x[0-9a-f]+ in TX buffer 0 \(\+10\): 0{16} → 0909090900000000/);
  g.rebase(base + 8000, 1);
  assert.equal(g.changes().length, 1, 'rebased bytes are the new baseline');
});

test('packets: full checksums verify, partial and wrong ones do not, and completing a partial one works', () => {
  for (const mk of [udpFrame, tcpFrame]) {
    assert.equal(l4Checksum(mk({ nonce: 1 }).frame), 'ok');
    assert.equal(l4Checksum(mk({ nonce: 1, csum: 'bad' }).frame), 'bad');
    const p = mk({ nonce: 7, csum: 'partial', payload: 101 });
    assert.equal(l4Checksum(p.frame), 'bad');
    // What a device does with NEEDS_CSUM: sum from csum_start to the end, store at csum_start + csum_offset.
    const f = p.frame.slice();
    let acc = 0;
    for (let i = p.l4; i + 1 < f.length; i += 2) acc += (f[i] << 8) | f[i + 1];
    if ((f.length - p.l4) & 1) acc += f[f.length - 1] << 8;
    while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
    const c = ~acc & 0xffff;
    f[p.l4 + p.csumOffset] = c >> 8;
    f[p.l4 + p.csumOffset + 1] = c & 0xff;
    assert.equal(l4Checksum(f), 'ok');
    assert.equal(nonceOf(p.frame), 7);
  }
  assert.equal(nonceOf(outFrame(0xabcdef)), 0xabcdef);
  assert.equal(l4Checksum(outFrame(1)), undefined, 'not IP');
});
