// Test-only device in a Worker: returns every buffer with used len = the descriptor's len, so the
// driver can tell whether the device saw descriptor contents written before they were published.
import { parentPort, workerData } from 'node:worker_threads';
import { GuestMemory } from '../../../../harness/virtio/memory.ts';
import type { QueueLayout } from '../../../../harness/virtio/driver/types.ts';
import { PackedCompleter, SplitCompleter } from './completer.ts';

const { sab, gpa, layout, ops, base } = workerData as { sab: SharedArrayBuffer; gpa: number; layout: QueueLayout; ops: number; base: number };
const mem = new GuestMemory([{ gpa: BigInt(gpa), size: sab.byteLength, uva: 0n, mmapOffset: 0, fd: -1, bytes: new Uint8Array(sab) }]);
let done = 0;
const deadline = Date.now() + 20_000;
if (layout.kind === 'split') {
  const dev = new SplitCompleter(mem, layout, base);
  while (done < ops && Date.now() < deadline) {
    for (let t = dev.take(); t; t = dev.take()) {
      dev.complete(t.head, t.descs[0].len);
      done++;
    }
  }
} else {
  const dev = new PackedCompleter(mem, layout);
  while (done < ops && Date.now() < deadline) {
    for (let t = dev.take(); t; t = dev.take()) {
      dev.markUsed(t.head, t.descs[t.descs.length - 1].len, t.count, true);
      done++;
    }
  }
}
parentPort!.postMessage(done);
