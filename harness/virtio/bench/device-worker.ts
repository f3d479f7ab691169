// Device half of the cross-thread benchmark: maps the same guest memory (SharedArrayBuffer, or the
// memfd by fd) and runs the mini device until told to stop. It busy-polls; after SPIN_POLLS idle
// polls it enables kicks and sleeps on the kick doorbell (a vhost-style poll-then-notify loop).

import { parentPort, workerData } from 'node:worker_threads';
import { GuestMemory } from '../memory.ts';
import type { QueueLayout } from '../driver/types.ts';
import { miniDevice } from './mini-device.ts';
import { CTRL_CALL, CTRL_KICK, CTRL_RUN, CTRL_STATE, LATE_MS, SLEEP_MS, SPIN_POLLS, ring, type NotifyStats, type WorkerInit } from './shared.ts';

const init = workerData as WorkerInit & { entry: string };
const bytes = init.memory.kind === 'sab' ? new Uint8Array(init.memory.sab) : (await import('../../sys/memfd.ts')).mapFd(init.memory.fd, init.memory.size).bytes;
const mem = new GuestMemory([{ gpa: BigInt(init.gpa), size: bytes.length, uva: 0n, mmapOffset: 0, fd: -1, bytes }]);
const ctrl = new Int32Array(init.ctrl);
const layout: QueueLayout = init.layout;
const dev = miniDevice(mem, layout);
parentPort!.postMessage('ready');
let used = 0;
let idle = 0;
const stats: NotifyStats = { sent: 0, sleeps: 0, lost: 0 };
while (Atomics.load(ctrl, CTRL_STATE) === CTRL_RUN) {
  const n = dev.step();
  if (n > 0) {
    used += n;
    idle = 0;
    if (dev.callWanted()) {
      ring(ctrl, CTRL_CALL);
      stats.sent++;
    }
  } else if (++idle >= SPIN_POLLS) {
    idle = 0;
    const seen = Atomics.load(ctrl, CTRL_KICK);
    if (!dev.enableKicks()) {
      stats.sleeps++;
      const late = Atomics.wait(ctrl, CTRL_KICK, seen, SLEEP_MS) === 'timed-out' && dev.enableKicks();
      if (late && Atomics.wait(ctrl, CTRL_KICK, seen, LATE_MS) === 'timed-out') stats.lost++;
    }
    dev.disableKicks();
  }
}
parentPort!.postMessage({ used, stats });
