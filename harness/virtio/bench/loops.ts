// The measured driver loops. One "op" = one buffer made available (add + kick check) and its used
// entry consumed (pollUsed). Buffers and element arrays are made once; nothing allocates per op.

import type { Buf, Virtqueue } from '../driver/types.ts';
import type { MiniDevice } from './mini-device.ts';
import { CTRL_CALL, CTRL_KICK, LATE_MS, SLEEP_MS, SPIN_POLLS, ring, type NotifyStats } from './shared.ts';

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

/**
 * Device in another thread: reap whatever came back, and refill in batches of at least `refill`
 * free slots — refilling slot by slot makes both threads fight over the same cache lines. Kicks
 * go to the kick doorbell when kickNeeded() says so; after SPIN_POLLS empty polls the driver
 * enables interrupts and sleeps on the call doorbell. Interrupts start disabled (polling).
 */
export function crossThread(q: Virtqueue<number>, out: Buf[], ops: number, ctrl: Int32Array, stats: NotifyStats, refill = 32): void {
  let sent = 0;
  let done = 0;
  let idle = 0;
  while (done < ops) {
    if (q.numFree >= refill || q.inFlight === 0) {
      while (sent < ops && q.add(out, NONE, sent) >= 0) sent++;
      if (q.kickNeeded()) {
        ring(ctrl, CTRL_KICK);
        stats.sent++;
      }
    }
    let got = 0;
    while (q.pollUsed() >= 0) got++;
    done += got;
    if (got > 0) idle = 0;
    else if (++idle >= SPIN_POLLS) {
      idle = 0;
      const seen = Atomics.load(ctrl, CTRL_CALL);
      if (!q.enableInterrupts()) {
        stats.sleeps++;
        const late = Atomics.wait(ctrl, CTRL_CALL, seen, SLEEP_MS) === 'timed-out' && q.hasUsed();
        if (late && Atomics.wait(ctrl, CTRL_CALL, seen, LATE_MS) === 'timed-out') stats.lost++;
      }
      q.disableInterrupts();
    }
  }
  if (q.inFlight !== 0) throw new Error(`${q.inFlight} buffers still in flight after ${ops} ops`);
}

/** The same loop shape with no ring work, for the harness's own overhead (cf. ringtest's noring). */
export function baseline(ops: number): number {
  let x = 0;
  for (let i = 0; i < ops; i++) x = (x + i) | 0;
  return x;
}
