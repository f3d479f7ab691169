// npm run bench:micro — driver ring operations per second, split vs packed: in one thread against
// a mini device, and across a Worker that runs the mini device on the same guest memory.
// Prints ops/s and the targets (split ≥ 10 M/s one thread, ≥ 3 M/s across threads); never fails on them.
//
//   tsx harness/virtio/bench/micro.ts [--memory auto|memfd|sab|both] [--time <ms per task>] [--size <ring>] [--mode all|one|cross]

import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { Bench } from 'tinybench';
import { CapabilityError, UsageError, exitCodeFor, formatError } from '../../core/errors.ts';
import { GuestArena } from '../driver/arena.ts';
import { createQueue } from '../driver/create.ts';
import type { Buf, QueueKind, Virtqueue } from '../driver/types.ts';
import { F, featureSet } from '../features.ts';
import { baseline, crossThread, oneThread } from './loops.ts';
import { benchMemory, memfdProbe, type BenchMemory, type MemoryKind } from './memory.ts';
import { miniDevice } from './mini-device.ts';
import { printResults, type Row } from './report.ts';
import { CTRL_KICK, CTRL_RUN, CTRL_STATE, CTRL_STOP, CTRL_WORDS, ring, type NotifyStats, type WorkerInit } from './shared.ts';

const ONE_THREAD_OPS = 4096; // ops per tinybench iteration
const CROSS_OPS = 16384;
const MEMORY_BYTES = 4 << 20;

interface Options {
  memories: MemoryKind[];
  /** memfd was asked for by name: no silent fallback. */
  explicitMemfd: boolean;
  time: number;
  size: number;
  mode: 'all' | 'one' | 'cross';
}

function parseOptions(argv: string[]): Options {
  let values: { memory?: string; time?: string; size?: string; mode?: string };
  try {
    ({ values } = parseArgs({ args: argv, options: { memory: { type: 'string', default: 'auto' }, time: { type: 'string', default: '1000' }, size: { type: 'string', default: '256' }, mode: { type: 'string', default: 'all' } } }));
  } catch (err) {
    throw new UsageError(`bench:micro: ${(err as Error).message}`, 'options: --memory auto|memfd|sab|both, --time <ms per task>, --size <ring size>, --mode all|one|cross');
  }
  const time = Number(values.time);
  if (!Number.isInteger(time) || time < 50) throw new UsageError(`--time ${values.time} is not a whole number of milliseconds ≥ 50`, 'e.g. --time 1000');
  const size = Number(values.size);
  if (!Number.isInteger(size) || size < 64 || size > 32768 || (size & (size - 1)) !== 0) {
    throw new UsageError(`--size ${values.size} is not a power of 2 in 64..32768`, 'the same size is used for split and packed; e.g. --size 256');
  }
  const m = values.memory;
  if (!['auto', 'memfd', 'sab', 'both'].includes(m!)) throw new UsageError(`--memory ${m} is not one of auto, memfd, sab, both`);
  const memories: MemoryKind[] = m === 'both' ? ['memfd', 'sab'] : m === 'auto' ? ['memfd'] : [m as MemoryKind];
  const mode = values.mode as Options['mode'];
  if (!['all', 'one', 'cross'].includes(mode)) throw new UsageError(`--mode ${mode} is not one of all, one, cross`, 'one = single-thread tasks, cross = Worker tasks');
  return { memories, explicitMemfd: m === 'memfd' || m === 'both', time, size, mode };
}


function features(kind: QueueKind): bigint {
  return featureSet(F.F_VERSION_1, ...(kind === 'packed' ? [F.F_RING_PACKED] : []));
}

const arenas = new Map<BenchMemory, GuestArena>();

/** A fresh queue and one 2 KiB packet buffer, each in its own part of the memory. */
function newQueue(bm: BenchMemory, kind: QueueKind, size: number): { q: Virtqueue<number>; out: Buf[] } {
  let arena = arenas.get(bm);
  if (!arena) arenas.set(bm, (arena = new GuestArena(bm.mem)));
  const q = createQueue<number>(arena, { kind, size, features: features(kind) });
  const out = [{ addr: arena.alloc(2048, 64), len: 1514 }];
  return { q, out };
}

interface RunningWorker {
  ctrl: Int32Array;
  stop(): Promise<{ used: number; stats: NotifyStats }>;
}

async function startWorker(bm: BenchMemory, q: Virtqueue<number>): Promise<RunningWorker> {
  const shared = new SharedArrayBuffer(CTRL_WORDS * 4);
  const ctrl = new Int32Array(shared);
  Atomics.store(ctrl, CTRL_STATE, CTRL_RUN);
  const init: WorkerInit & { entry: string } = {
    memory: bm.forWorker,
    gpa: Number(bm.mem.regions[0].gpa),
    layout: q.layout,
    ctrl: shared,
    entry: new URL('./device-worker.ts', import.meta.url).href,
  };
  const w = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: init });
  const failed = new Promise<never>((_, reject) => w.once('error', reject));
  const next = () => Promise.race([once(w, 'message').then(([m]) => m as unknown), failed]);
  if ((await next()) !== 'ready') throw new Error('benchmark device worker did not start');
  return {
    ctrl,
    async stop() {
      Atomics.store(ctrl, CTRL_STATE, CTRL_STOP);
      ring(ctrl, CTRL_KICK); // wake it if it sleeps
      const done = (await next()) as { used: number; stats: NotifyStats };
      await w.terminate();
      return done;
    },
  };
}

const noStats = (): NotifyStats => ({ sent: 0, sleeps: 0, lost: 0 });

function addTasks(bench: Bench, rows: Row[], bm: BenchMemory, size: number, mode: Options['mode']): void {
  if (mode !== 'cross') addOneThreadTasks(bench, rows, bm, size);
  if (mode !== 'one') addCrossTasks(bench, rows, bm, size);
}

function addOneThreadTasks(bench: Bench, rows: Row[], bm: BenchMemory, size: number): void {
  for (const kind of ['split', 'packed'] as const) {
    for (const burst of [1, 32]) {
      const { q, out } = newQueue(bm, kind, size);
      const dev = miniDevice(bm.mem, q.layout);
      const name = `${kind} 1-thread burst ${burst} [${bm.kind}]`;
      bench.add(name, () => oneThread(q, dev, out, burst, ONE_THREAD_OPS), { async: false });
      rows.push({ name, kind, mode: `one thread, burst ${burst}`, memory: bm.kind, opsPerIter: ONE_THREAD_OPS, task: bench.getTask(name)! });
    }
  }
}

function addCrossTasks(bench: Bench, rows: Row[], bm: BenchMemory, size: number): void {
  for (const kind of ['split', 'packed'] as const) {
    // A fresh queue and device Worker per phase (warmup, run), stopped right after it so no
    // spinning Worker competes with the next task for the CPU. Notification counts are the run phase's.
    let ring = newQueue(bm, kind, size);
    let worker: RunningWorker | undefined;
    let ctrl: Int32Array = new Int32Array(CTRL_WORDS);
    const row: Row = { name: `${kind} across Worker [${bm.kind}]`, kind, mode: 'across a Worker', memory: bm.kind, opsPerIter: CROSS_OPS, task: undefined!, driver: noStats(), device: noStats() };
    const stop = async () => {
      const w = worker;
      worker = undefined;
      if (w) row.device = (await w.stop()).stats;
    };
    // async: false, or tinybench calls the task once to see whether it returns a promise — before
    // beforeAll has started the device, so the driver would wait forever.
    bench.add(row.name, () => crossThread(ring.q, ring.out, CROSS_OPS, ctrl, row.driver!), {
      async: false,
      beforeAll: async () => {
        ring = newQueue(bm, kind, size);
        ring.q.disableInterrupts(); // the driver polls first
        worker = await startWorker(bm, ring.q);
        ctrl = worker.ctrl;
        row.driver = noStats();
      },
      afterAll: stop,
    });
    row.task = bench.getTask(row.name)!;
    rows.push(row);
    stoppers.push(stop);
  }
}

const stoppers: (() => Promise<void>)[] = [];

async function run(argv: string[]): Promise<void> {
  const opts = parseOptions(argv);
  const noMemfd = opts.memories.includes('memfd') ? await memfdProbe() : null;
  if (noMemfd && opts.explicitMemfd) throw new CapabilityError(`memfd guest memory is not available: ${noMemfd}`, 'run with --memory sab, or fix the cause above');
  const memories = noMemfd ? (['sab'] as MemoryKind[]) : opts.memories;
  // Few minimum iterations: a cross-thread iteration can take 100 ms on a loaded 2-core host.
  const bench = new Bench({ time: opts.time, warmupTime: Math.min(300, opts.time), iterations: 8, warmupIterations: 2, throws: true });
  bench.addEventListener('cycle', (evt) => process.stderr.write(`  done: ${evt.task?.name}\n`));
  const rows: Row[] = [];
  bench.add('baseline (loop only)', () => baseline(ONE_THREAD_OPS), { async: false });
  rows.push({ name: 'baseline (loop only)', kind: '-', mode: 'baseline', memory: '-', opsPerIter: ONE_THREAD_OPS, task: bench.getTask('baseline (loop only)')! });
  const held: BenchMemory[] = [];
  try {
    for (const kind of memories) {
      const bm = await benchMemory(kind, MEMORY_BYTES);
      held.push(bm);
      addTasks(bench, rows, bm, opts.size, opts.mode);
    }
    await bench.run();
  } finally {
    for (const stop of stoppers) await stop();
    for (const bm of held) bm.close();
  }
  printResults(rows, noMemfd);
}

try {
  await run(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`Error: ${formatError(err)}\n`);
  process.exitCode = exitCodeFor(err);
}
