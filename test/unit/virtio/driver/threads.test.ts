import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { sharedMemory } from '../../../../harness/virtio/memory.ts';
import { GuestArena, createQueue, type QueueKind } from '../../../../harness/virtio/driver/index.ts';
import { F, featureSet } from '../../../../harness/virtio/features.ts';

// A device in another thread must see each descriptor as written before avail.idx / the first
// flags were published, and the driver must see each used entry's len as written before used.idx /
// the used flags. Every buffer carries a different len; the device echoes it back.
for (const kind of ['split', 'packed'] as QueueKind[]) {
  test(`${kind}: descriptors and used entries cross threads intact (Atomics publication)`, async () => {
    const ops = 20_000;
    const mem = sharedMemory(1 << 20);
    const arena = new GuestArena(mem);
    const features = featureSet(F.F_VERSION_1, ...(kind === 'packed' ? [F.F_RING_PACKED] : []));
    const base = kind === 'split' ? 0xff00 : 0; // split also crosses the 0xFFFF wrap
    const q = createQueue<number>(arena, { size: kind === 'split' ? 64 : 61, features, base });
    const buf = arena.alloc(4096, 64);
    const w = new Worker(new URL('../../../../harness/virtio/bench/worker-boot.mjs', import.meta.url), {
      workerData: { sab: mem.regions[0].bytes.buffer, gpa: Number(mem.regions[0].gpa), layout: q.layout, ops, base, entry: new URL('./echo-device-worker.ts', import.meta.url).href },
    });
    const result = once(w, 'message');
    const elem = [{ addr: buf, len: 0 }];
    let sent = 0;
    let done = 0;
    const deadline = Date.now() + 20_000;
    while (done < ops && Date.now() < deadline) {
      while (sent < ops) {
        elem[0].len = 1 + (sent % 4000);
        if (q.add([], elem, sent) < 0) break;
        sent++;
      }
      for (let id = q.pollUsed(); id >= 0; id = q.pollUsed()) {
        assert.equal(q.lastToken, done, 'in order from a device that completes in order');
        assert.equal(q.lastLen, 1 + (done % 4000));
        done++;
      }
      if (done < sent) await new Promise((r) => setImmediate(r)); // let the event loop breathe
    }
    const [deviceDone] = await result;
    await w.terminate();
    assert.equal(done, ops);
    assert.equal(deviceDone, ops);
    assert.equal(q.inFlight, 0);
  });
}
