// The control plane's handle on one queue pair's Worker: starts it, sends plans (a message on its
// port, then a write on its control eventfd to wake the loop out of its kernel wait), and matches
// the Worker's acknowledgements to the requests. A Worker that dies takes the device down with a
// precise error: the data plane never fails quietly.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { eventfd, type EventFd } from '../../sys/eventfd.ts';
import { TimeoutError } from '../../core/errors.ts';
import type { PairInit } from '../dataplane/pair.ts';
import type { PairPlan, StoppedRing, WorkerCommand, WorkerEvent } from '../dataplane/plan.ts';
import { newStatsBuffer } from '../dataplane/stats.ts';

const BOOT = fileURLToPath(new URL('../dataplane/boot.mjs', import.meta.url));

/**
 * A data-plane thread sleeps inside a system call (io_uring_enter, io_getevents), where V8 cannot
 * stop it: process.exit() would wait for it forever. So on exit every live Worker is woken through
 * its control eventfd; back in JavaScript it is terminated at once.
 */
const live = new Set<PairWorker>();
process.on('exit', () => {
  for (const w of live) w.quitNow();
});
const ENTRY = new URL('../dataplane/worker.ts', import.meta.url).href;
const ACK_TIMEOUT_MS = 10_000;

export interface PairEvents {
  onBroken(ring: 0 | 1, e: Extract<WorkerEvent, { type: 'broken' }>): void;
  onLog(message: string): void;
  /** The Worker died or failed: the device cannot go on. */
  onFatal(message: string): void;
}

export type PairSettings = Omit<PairInit, 'ctrlFd' | 'stats' | 'quit'>;

export class PairWorker {
  readonly stats: SharedArrayBuffer;
  private readonly quit = new SharedArrayBuffer(4);
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly ctrl: EventFd;
  private readonly acks = new Map<number, { resolve: (s: StoppedRing[]) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private dead: Error | undefined;
  private stopping = false;
  private readonly exited: Promise<void>;

  private constructor(
    readonly pair: number,
    settings: PairSettings,
    private readonly events: PairEvents,
    ready: (err?: Error) => void,
  ) {
    this.stats = newStatsBuffer();
    this.ctrl = eventfd();
    const channel = new MessageChannel();
    this.port = channel.port1;
    const init: PairInit & { port: MessagePort; entry: string } = { ...settings, ctrlFd: this.ctrl.fd, stats: this.stats, quit: this.quit, port: channel.port2, entry: ENTRY };
    this.worker = new Worker(BOOT, { workerData: init, transferList: [channel.port2], name: `aio-pair${pair}` });
    live.add(this);
    this.worker.on('message', (e: WorkerEvent) => this.onEvent(e, ready));
    this.worker.on('error', (e) => this.die(`pair ${pair} data plane crashed: ${e.stack ?? e.message}`, ready));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        live.delete(this);
        this.die(`pair ${pair} data plane exited (code ${code})`, ready);
        resolve();
      }),
    );
  }

  static start(pair: number, settings: PairSettings, events: PairEvents): Promise<PairWorker> {
    return new Promise((resolve, reject) => {
      const w: PairWorker = new PairWorker(pair, settings, events, (err) => (err ? reject(err) : resolve(w)));
    });
  }

  /** Send the pair's plan; resolves with the rings the Worker stopped once it has applied it. */
  apply(plan: PairPlan): Promise<StoppedRing[]> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.acks.delete(plan.seq);
        reject(new TimeoutError(`queue pair ${this.pair}'s data plane to apply plan ${plan.seq}`, ACK_TIMEOUT_MS));
      }, ACK_TIMEOUT_MS);
      this.acks.set(plan.seq, { resolve, reject, timer });
      this.send({ type: 'plan', plan });
    });
  }

  /** Stop the loop (rings are stopped, buffers handed back) and wait for the thread to end. */
  /** Make the loop return and never sleep again, then interrupt its kernel wait. */
  quitNow(): void {
    Atomics.store(new Int32Array(this.quit), 0, 1);
    this.ctrl.signal();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (!this.dead) this.send({ type: 'exit' });
    const t = setTimeout(() => {
      this.quitNow();
      void this.worker.terminate();
    }, 5000);
    await this.exited;
    clearTimeout(t);
    this.ctrl.close();
  }

  private send(cmd: WorkerCommand): void {
    this.port.postMessage(cmd);
    this.ctrl.signal();
  }

  private onEvent(e: WorkerEvent, ready: (err?: Error) => void): void {
    switch (e.type) {
      case 'ready':
        return ready();
      case 'ack': {
        const w = this.acks.get(e.seq);
        if (!w) return;
        clearTimeout(w.timer);
        this.acks.delete(e.seq);
        return w.resolve(e.stopped);
      }
      case 'broken':
        return this.events.onBroken(e.ring, e);
      case 'log':
        return this.events.onLog(e.message);
      case 'fatal':
        return this.die(`pair ${this.pair} data plane failed: ${e.message}`, ready);
    }
  }

  private die(message: string, ready: (err?: Error) => void): void {
    if (this.dead) return;
    this.dead = new Error(message);
    ready(this.dead);
    for (const w of this.acks.values()) {
      clearTimeout(w.timer);
      w.reject(this.dead);
    }
    this.acks.clear();
    if (!this.stopping) this.events.onFatal(message);
  }
}
