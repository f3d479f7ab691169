// Worker entry of one queue pair's data plane (started by control/pair-worker.ts).
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { PairDataPlane, type PairInit } from './pair.ts';
import type { WorkerCommand, WorkerEvent } from './plan.ts';
import { nameThisThread } from './thread-name.ts';

const init = workerData as PairInit & { port: MessagePort };
const post = (e: WorkerEvent) => parentPort!.postMessage(e);
nameThisThread(`aio-pair${init.pair}`);
try {
  const plane = new PairDataPlane(init, () => receiveMessageOnPort(init.port)?.message as WorkerCommand | undefined, post);
  post({ type: 'ready' });
  plane.run();
} catch (e) {
  post({ type: 'fatal', message: (e as Error).stack ?? String(e) });
}
