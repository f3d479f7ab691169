// The measured driver loops. One "op" = one buffer made available (add + kick check) and its used
// entry consumed (pollUsed). Buffers and element arrays are made once; nothing allocates per op.

import type { Buf, Virtqueue } from '../driver/types.ts';
import type { MiniDevice } from './mini-device.ts';

const NONE: Buf[] = [];

/** Driver and mini device in one thread: add `burst` buffers, let the device mark them, reap them. */
export function oneThread(q: Virtqueue<number>, dev: MiniDevice, out: Buf[], burst: number, ops: number): void {
  for (let done = 0; done < ops; done += burst) {
    for (let i = 0; i < burst; i++) {
      if (q.add(out, NONE, i) < 0) throw new Error(`ring full after ${i} of a burst of ${burst}`);
    }
    q.kickNeeded();
    dev.step();
    for (let i = 0; i < burst; i++) {
      if (q.pollUsed() < 0) throw new Error(`device returned ${i} of ${burst} buffers`);
    }
  }
}

/** Device in another thread: keep the ring as full as possible and reap whatever comes back. */
export function crossThread(q: Virtqueue<number>, out: Buf[], ops: number): void {
  let sent = 0;
  let done = 0;
  while (done < ops) {
    let added = false;
    while (sent < ops && q.add(out, NONE, sent) >= 0) {
      sent++;
      added = true;
    }
    if (added) q.kickNeeded();
    while (q.pollUsed() >= 0) done++;
  }
  if (q.inFlight !== 0) throw new Error(`${q.inFlight} buffers still in flight after ${ops} ops`);
}

/** The same loop shape with no ring work, for the harness's own overhead (cf. ringtest's noring). */
export function baseline(ops: number): number {
  let x = 0;
  for (let i = 0; i < ops; i++) x = (x + i) | 0;
  return x;
}
