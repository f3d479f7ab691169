import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedMemory } from '../../../../harness/virtio/memory.ts';
import { GuestArena, RingViolation, SplitQueue, takeMergeable } from '../../../../harness/virtio/driver/index.ts';
import { F, featureSet } from '../../../../harness/virtio/features.ts';
import { emptyNetHdr, encodeNetHdr } from '../../../../harness/virtio/net-header.ts';
import { byteView } from '../../../../harness/virtio/driver/views.ts';
import { SplitCompleter } from './completer.ts';

const FEATURES = featureSet(F.F_VERSION_1, F.NET_F_MRG_RXBUF);

function setup() {
  const arena = new GuestArena(sharedMemory(1 << 20));
  const q = SplitQueue.create<number>(arena, { size: 16, features: FEATURES });
  const bufs = Array.from({ length: 8 }, () => arena.alloc(1024, 64));
  for (const gpa of bufs) q.add([], [{ addr: gpa, len: 1024 }], gpa);
  const dev = new SplitCompleter(arena.mem, q.layout);
  return { arena, q, dev, bufs, header: (u: { token: number }) => byteView(arena.mem, u.token, 12) };
}

test('a packet spanning num_buffers receive buffers comes back as one (§5.1.6.4)', () => {
  const { arena, q, dev, header } = setup();
  const takes = [dev.take()!, dev.take()!, dev.take()!];
  encodeNetHdr({ ...emptyNetHdr(), numBuffers: 3 }, byteView(arena.mem, takes[0].descs[0].addr, 12));
  dev.complete(takes[0].head, 1024);
  dev.complete(takes[1].head, 1024);
  dev.complete(takes[2].head, 300);
  const p = takeMergeable(q, header)!;
  assert.equal(p.hdr.numBuffers, 3);
  assert.equal(p.parts.length, 3);
  assert.equal(p.totalLen, 2348);
  assert.equal(takeMergeable(q, header), null);
});

test('num_buffers larger than the visible buffers is a violation, with the clause', () => {
  const { arena, q, dev, header } = setup();
  const t = dev.take()!;
  encodeNetHdr({ ...emptyNetHdr(), numBuffers: 2 }, byteView(arena.mem, t.descs[0].addr, 12));
  dev.complete(t.head, 500);
  assert.throws(() => takeMergeable(q, header), (e: unknown) => e instanceof RingViolation && e.clause === '5.1.6.4.1' && /only 1 used buffers/.test(e.message));
});

test('num_buffers 0 and a first buffer shorter than the header are violations', () => {
  const { arena, q, dev, header } = setup();
  const t = dev.take()!;
  encodeNetHdr({ ...emptyNetHdr(), numBuffers: 0 }, byteView(arena.mem, t.descs[0].addr, 12));
  dev.complete(t.head, 60);
  assert.throws(() => takeMergeable(q, header), /num_buffers is 0/);
  const t2 = dev.take()!;
  dev.complete(t2.head, 11);
  assert.throws(() => takeMergeable(q, header), /len 11, shorter than the 12-byte/);
});
