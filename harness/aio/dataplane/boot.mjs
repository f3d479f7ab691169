// Workers do not inherit tsx's loader hooks from the main thread: register them, then load the
// TypeScript entry named in workerData.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
