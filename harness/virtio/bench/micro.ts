// npm run bench:micro — driver ring operations per second, split vs packed: in one thread against
// a mini device, and across a Worker that runs the mini device on the same guest memory.
// Prints ops/s and the targets (split ≥ 10 M/s one thread, ≥ 3 M/s across threads); never fails on them.
//
//   tsx harness/virtio/bench/micro.ts [--memory memfd|sab|both] [--time <ms per task>] [--size <ring>]

import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Bench, type Task } from 'tinybench';
import { UsageError, exitCodeFor, formatError } from '../../core/errors.ts';
import { GuestArena } from '../driver/arena.ts';
import { createQueue } from '../driver/create.ts';
import type { Buf, QueueKind, Virtqueue } from '../driver/types.ts';
import { F, featureSet } from '../features.ts';
import { baseline, crossThread, oneThread } from './loops.ts';
import { benchMemory, memfdProbe, type BenchMemory, type MemoryKind } from './memory.ts';
import { miniDevice } from './mini-device.ts';
import { CTRL_RUN, CTRL_STATE, CTRL_STOP, type WorkerInit } from './shared.ts';

const ONE_THREAD_OPS = 4096; // ops per tinybench iteration
const CROSS_OPS = 16384;
const MEMORY_BYTES = 4 << 20;
const TARGETS = { oneThread: 10e6, cross: 3e6 };

interface Options {
  memories: MemoryKind[];
  time: number;
  size: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({ args: argv, options: { memory: { type: 'string', default: 'auto' }, time: { type: 'string', default: '1000' }, size: { type: 'string', default: '256' } } });
  const time = Number(values.time);
  if (!Number.isInteger(time) || time < 50) throw new UsageError(`--time ${values.time} is not a whole number of milliseconds ≥ 50`, 'e.g. --time 1000');
  const size = Number(values.size);
  if (!Number.isInteger(size) || size < 64 || size > 32768 || (size & (size - 1)) !== 0) {
    throw new UsageError(`--size ${values.size} is not a power of 2 in 64..32768`, 'the same size is used for split and packed; e.g. --size 256');
  }
  const m = values.memory;
  if (!['auto', 'memfd', 'sab', 'both'].includes(m!)) throw new UsageError(`--memory ${m} is not one of auto, memfd, sab, both`);
  const memories: MemoryKind[] = m === 'both' ? ['memfd', 'sab'] : m === 'auto' ? ['memfd'] : [m as MemoryKind];
  return { memories, time, size };
}

interface Row {
  name: string;
  kind: QueueKind | '-';
  mode: string;
  memory: string;
  opsPerIter: number;
  task: Task;
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

async function startWorker(bm: BenchMemory, q: Virtqueue<number>): Promise<{ stop(): Promise<number> }> {
  const ctrl = new SharedArrayBuffer(16);
  const ctrl32 = new Int32Array(ctrl);
  Atomics.store(ctrl32, CTRL_STATE, CTRL_RUN);
  const init: WorkerInit & { entry: string } = {
    memory: bm.forWorker,
    gpa: Number(bm.mem.regions[0].gpa),
    layout: q.layout,
    ctrl,
    entry: new URL('./device-worker.ts', import.meta.url).href,
  };
  const w = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: init });
  const messages: unknown[] = [];
  const waiters: ((m: unknown) => void)[] = [];
  w.on('message', (m) => (waiters.shift() ?? ((x) => messages.push(x)))(m));
  const next = () => new Promise<unknown>((resolve, reject) => {
    if (messages.length) return resolve(messages.shift());
    waiters.push(resolve);
    w.once('error', reject);
  });
  if ((await next()) !== 'ready') throw new Error('benchmark device worker did not start');
  return {
    async stop() {
      Atomics.store(ctrl32, CTRL_STATE, CTRL_STOP);
      const done = (await next()) as { used: number };
      await w.terminate();
      return done.used;
    },
  };
}

function addTasks(bench: Bench, rows: Row[], bm: BenchMemory, size: number): void {
  for (const kind of ['split', 'packed'] as const) {
    for (const burst of [1, 32]) {
      const { q, out } = newQueue(bm, kind, size);
      const dev = miniDevice(bm.mem, q.layout);
      const name = `${kind} 1-thread burst ${burst} [${bm.kind}]`;
      bench.add(name, () => oneThread(q, dev, out, burst, ONE_THREAD_OPS));
      rows.push({ name, kind, mode: `one thread, burst ${burst}`, memory: bm.kind, opsPerIter: ONE_THREAD_OPS, task: bench.getTask(name)! });
    }
  }
  for (const kind of ['split', 'packed'] as const) {
    // A fresh queue and device Worker per phase (warmup, run), stopped right after it so no
    // spinning Worker competes with the next task for the CPU.
    let ring = newQueue(bm, kind, size);
    let worker: { stop(): Promise<number> } | undefined;
    const stop = async () => {
      await worker?.stop();
      worker = undefined;
    };
    const name = `${kind} across Worker [${bm.kind}]`;
    bench.add(name, () => crossThread(ring.q, ring.out, CROSS_OPS), {
      beforeAll: async () => {
        ring = newQueue(bm, kind, size);
        worker = await startWorker(bm, ring.q);
      },
      afterAll: stop,
    });
    rows.push({ name, kind, mode: 'across a Worker', memory: bm.kind, opsPerIter: CROSS_OPS, task: bench.getTask(name)! });
    stoppers.push(stop);
  }
}

const stoppers: (() => Promise<void>)[] = [];

/** ops/s from the mean iteration time. */
function opsPerSec(row: Row): number | string {
  const r = row.task.result;
  if (r.state === 'completed') return (row.opsPerIter * 1000) / r.period;
  if (r.state === 'errored') return `error: ${r.error.message}`;
  return r.state;
}

function fmt(v: number | string): string {
  return typeof v === 'number' ? `${(v / 1e6).toFixed(2)} M/s` : v;
}

function printResults(rows: Row[], noMemfd: string | null): void {
  console.log('\nvirtio driver ring micro-benchmark (op = add one buffer + kick check + reap its used entry)');
  const load = loadavg()[0];
  const cpus = availableParallelism();
  console.log(`host: ${cpus} CPUs, 1-min load ${load.toFixed(2)}, node ${process.versions.node}`);
  if (load > cpus - 1) console.log(`warning: load ${load.toFixed(1)} on ${cpus} CPUs — spinning driver and device threads lose their CPU; cross-thread figures will be low`);
  if (noMemfd) console.log(`memfd memory not available (${noMemfd}); used SharedArrayBuffer`);
  console.table(
    rows.map((row) => {
      const r = row.task.result;
      return {
        task: row.name,
        'ops/s': fmt(opsPerSec(row)),
        'rme %': r.state === 'completed' ? r.latency.rme.toFixed(1) : '-',
        samples: r.state === 'completed' ? r.latency.samplesCount : 0,
      };
    }),
  );
  const best = (pred: (r: Row) => boolean) =>
    Math.max(0, ...rows.filter(pred).map(opsPerSec).filter((v): v is number => typeof v === 'number'));
  const one = best((r) => r.kind === 'split' && r.mode.startsWith('one thread'));
  const cross = best((r) => r.kind === 'split' && r.mode === 'across a Worker');
  const verdict = (v: number, t: number) => (v >= t ? 'met' : 'NOT met');
  console.log(`target split one thread ≥ ${TARGETS.oneThread / 1e6} M/s: best ${fmt(one)} — ${verdict(one, TARGETS.oneThread)}`);
  console.log(`target split across threads ≥ ${TARGETS.cross / 1e6} M/s: best ${fmt(cross)} — ${verdict(cross, TARGETS.cross)}`);
}

async function run(argv: string[]): Promise<void> {
  const opts = parseOptions(argv);
  const noMemfd = opts.memories.includes('memfd') ? await memfdProbe() : null;
  const memories = noMemfd ? (['sab'] as MemoryKind[]) : opts.memories;
  // Few minimum iterations: a cross-thread iteration can take 100 ms on a loaded 2-core host.
  const bench = new Bench({ time: opts.time, warmupTime: Math.min(300, opts.time), iterations: 8, warmupIterations: 2, throws: true });
  const rows: Row[] = [];
  bench.add('baseline (loop only)', () => baseline(ONE_THREAD_OPS));
  rows.push({ name: 'baseline (loop only)', kind: '-', mode: 'baseline', memory: '-', opsPerIter: ONE_THREAD_OPS, task: bench.getTask('baseline (loop only)')! });
  const held: BenchMemory[] = [];
  try {
    for (const kind of memories) {
      const bm = await benchMemory(kind, MEMORY_BYTES);
      held.push(bm);
      addTasks(bench, rows, bm, opts.size);
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
