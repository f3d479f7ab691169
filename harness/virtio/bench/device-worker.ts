// Device half of the cross-thread benchmark: maps the same guest memory (SharedArrayBuffer, or the
// memfd by fd) and runs the mini device until told to stop.

import { parentPort, workerData } from 'node:worker_threads';
import { GuestMemory } from '../memory.ts';
import type { QueueLayout } from '../driver/types.ts';
import { miniDevice } from './mini-device.ts';
import type { WorkerInit } from './shared.ts';
import { CTRL_RUN, CTRL_STATE } from './shared.ts';

const init = workerData as WorkerInit & { entry: string };
const bytes = init.memory.kind === 'sab' ? new Uint8Array(init.memory.sab) : (await import('../../sys/memfd.ts')).mapFd(init.memory.fd, init.memory.size).bytes;
const mem = new GuestMemory([{ gpa: BigInt(init.gpa), size: bytes.length, uva: 0n, mmapOffset: 0, fd: -1, bytes }]);
const ctrl = new Int32Array(init.ctrl);
const layout: QueueLayout = init.layout;
const dev = miniDevice(mem, layout);
parentPort!.postMessage('ready');
let used = 0;
while (Atomics.load(ctrl, CTRL_STATE) === CTRL_RUN) used += dev.step();
parentPort!.postMessage({ used });
