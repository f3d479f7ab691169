// One queue pair's data plane, run by its own Worker: the loop, and reconciling the rings with
// the plans the control plane sends. The loop never returns to the event loop: it prepares work
// (TX writes for available chains, RX reads into guest buffers, waits on kick eventfds), submits
// it with one engine call that sleeps in the kernel when there is nothing to do, handles the
// completions in a batch, then publishes used entries and notifies once per ring. The control
// plane wakes it through an eventfd and hands over plans on a MessagePort read synchronously.
import { createDeviceQueue } from '../../virtio/device/create-queue.ts';
import type { Broken } from '../../virtio/device/broken.ts';
import { F, has } from '../../virtio/features.ts';
import { ioctlPtr, IOW } from '../../sys/ioctl.ts';
import { createEngine, type Engine, type EngineName } from '../engines/index.ts';
import type { PairEnv } from './env.ts';
import { ERRNO } from './env.ts';
import { mapPlanMemory } from './memory.ts';
import { HDR_LEN, hdrFeatures } from './net-hdr.ts';
import type { PairPlan, StoppedRing, WorkerCommand, WorkerEvent } from './plan.ts';
import { RxRing } from './rx-ring.ts';
import { STAT } from './stats.ts';
import { KIND, genOf, kindOf, slotOf, tag } from './tags.ts';
import { TxRing } from './tx-ring.ts';

export interface PairInit {
  pair: number;
  tapFd: number;
  /** The tap is IFF_MULTI_QUEUE: its queue can be detached while the RX ring is not running. */
  multiQueue: boolean;
  engine: EngineName;
  /** TX writes in flight (and the most per submit). */
  batch: number;
  /** RX reads kept posted. */
  rxDepth: number;
  /** The tap's MTU: the largest frame without guest GSO offloads. */
  mtu: number;
  /** eventfd the control plane writes to wake the loop. */
  ctrlFd: number;
  stats: SharedArrayBuffer;
  /**
   * Int32 set to 1 when the process is exiting: the loop then returns at once and never sleeps
   * again (V8 cannot stop a thread that sleeps in a system call, so process.exit would hang).
   */
  quit: SharedArrayBuffer;
}

const TUNSETQUEUE = IOW('T'.charCodeAt(0), 217, 4);
const IFF_ATTACH_QUEUE = 0x0200;
const IFF_DETACH_QUEUE = 0x0400;
/** Largest packet a tap hands over with GSO on (64 KiB IP datagram + Ethernet + VLAN). */
const GSO_MAX_FRAME = 65550;

/** Thrown out of any wait once the process is exiting. */
class Quit extends Error {}

interface RingGen {
  layout: number;
  base: number;
  /** Where a ring stopped, to resume from when it restarts without a new SET_VRING_BASE. */
  resume: number | undefined;
}

export class PairDataPlane {
  private readonly engine: Engine;
  private readonly env: PairEnv;
  private readonly rx: RxRing;
  private readonly tx: TxRing;
  private readonly stats: Float64Array;
  private readonly quit: Int32Array;
  private features = 0n;
  private readonly gens: [RingGen, RingGen] = [
    { layout: -1, base: -1, resume: undefined },
    { layout: -1, base: -1, resume: undefined },
  ];
  private ctrlPosted = false;
  private ctrlPending = false;
  private exiting = false;
  private attached = true;
  private kickErrors = 0;

  constructor(
    private readonly init: PairInit,
    private readonly take: () => WorkerCommand | undefined,
    private readonly post: (e: WorkerEvent) => void,
  ) {
    this.stats = new Float64Array(init.stats);
    this.quit = new Int32Array(init.quit);
    this.engine = createEngine(init.engine, { depth: init.batch + init.rxDepth + 8 });
    this.env = {
      engine: this.engine,
      tapFd: init.tapFd,
      stats: this.stats,
      mem: null,
      hdr: hdrFeatures(0n),
      onBroken: (ring, b) => this.reportBroken(ring, b),
      log: (message) => this.post({ type: 'log', message: `pair ${init.pair}: ${message}` }),
    };
    this.rx = new RxRing(this.env, init.rxDepth);
    this.tx = new TxRing(this.env, init.batch);
  }

  run(): void {
    try {
      this.loop();
    } catch (e) {
      if (!(e instanceof Quit)) throw e;
    }
  }

  private loop(): void {
    // Nothing reads this queue until its RX ring runs: keep the tap from queueing packets on it.
    if (this.init.multiQueue) this.setAttached(false);
    for (;;) {
      if (Atomics.load(this.quit, 0)) return; // the process is exiting: the kernel cleans up
      if (this.ctrlPending) {
        this.ctrlPending = false;
        this.handleCommands();
        if (this.exiting) break;
      }
      // Posted after the commands: applying a plan may wait for completions, and the control
      // wait can complete (and be used up) during that wait.
      if (!this.ctrlPosted) this.ctrlPosted = this.engine.waitReadable(this.init.ctrlFd, 'eventfd', tag(KIND.CTRL, 0));
      this.tx.arm();
      this.rx.arm();
      this.tx.pump();
      this.rx.fill();
      // Chains returned without I/O (discarded, refused) are published before the loop sleeps.
      this.rx.finish();
      this.tx.finish();
      const block = !this.ctrlPending && this.ctrlPosted && !this.tx.hasWork() && !this.rx.hasWork() && !Atomics.load(this.quit, 0);
      this.stats[STAT.loops]++;
      if (block) this.stats[STAT.sleeps]++;
      this.stats[STAT.completions] += this.engine.run(block, this.dispatch);
      this.rx.finish();
      this.tx.finish();
      this.stats[STAT.syscalls] = this.engine.syscalls();
    }
    this.shutdown();
  }

  private readonly dispatch = (t: number, res: number): void => {
    switch (kindOf(t)) {
      case KIND.CTRL:
        this.ctrlPosted = false;
        this.ctrlPending = true;
        return;
      case KIND.KICK_RX:
      case KIND.KICK_TX:
        return this.onKick(kindOf(t) === KIND.KICK_RX ? this.rx : this.tx, genOf(t), res);
      case KIND.READ:
        return this.rx.onRead(slotOf(t), res);
      case KIND.WRITE:
        return this.tx.onWrite(slotOf(t), res);
      case KIND.TAP_READY:
        return this.rx.onTapReady(genOf(t));
    }
  };

  private onKick(ring: RxRing | TxRing, gen: number, res: number): void {
    if (res < 0 && res !== -ERRNO.ECANCELED) {
      // A kick fd that fails would fail again at once: stop waiting on it rather than spin.
      if (this.kickErrors++ < 5) this.env.log(`kick eventfd wait failed: errno ${-res}; the ring now runs only when other events wake it`);
      ring.setKickFd(-1);
      return;
    }
    ring.onKick(gen);
  }

  private handleCommands(): void {
    for (let cmd = this.take(); cmd; cmd = this.take()) {
      if (cmd.type === 'exit') {
        this.exiting = true;
        return;
      }
      const stopped = this.apply(cmd.plan);
      this.post({ type: 'ack', seq: cmd.plan.seq, stopped });
    }
  }

  /** Bring both rings to the plan; returns the rings this stopped (for GET_VRING_BASE). */
  private apply(plan: PairPlan): StoppedRing[] {
    const features = BigInt(plan.features);
    const memChanged = (plan.memory?.version ?? -1) !== (this.env.mem?.version ?? -1);
    const featuresChanged = features !== this.features;
    const stopped: StoppedRing[] = [];
    for (const r of [0, 1] as const) {
      const want = plan.rings[r];
      const g = this.gens[r];
      if (!this.ring(r).running) continue;
      const restart = !want.running || memChanged || featuresChanged || want.layoutGeneration !== g.layout || want.baseGeneration !== g.base;
      if (!restart) continue;
      const base = this.stopRing(r);
      g.resume = base;
      if (!want.running) stopped.push({ ring: r, base });
    }
    if (memChanged) this.env.mem = plan.memory ? mapPlanMemory(plan.memory) : null;
    if (featuresChanged) {
      this.features = features;
      this.env.hdr = hdrFeatures(features);
    }
    for (const r of [0, 1] as const) this.applyRing(r, plan);
    this.syncTapQueue();
    return stopped;
  }

  private applyRing(r: 0 | 1, plan: PairPlan): void {
    const want = plan.rings[r];
    const ring = this.ring(r);
    const g = this.gens[r];
    ring.callFd = want.callFd;
    ring.errFd = want.errFd;
    ring.setKickFd(want.kickFd);
    if (r === 0) {
      this.rx.setEnabled(want.enabled);
      // A disabled RX ring gets nothing after the control plane's reply: let cancelled reads land.
      if (!want.enabled) this.drain(this.rx, 'disable RX');
    } else {
      this.tx.enabled = want.enabled;
    }
    if (!want.running || ring.running || !this.env.mem || !want.layout) return;
    const base = g.resume !== undefined && want.baseGeneration === g.base ? g.resume : want.base;
    g.layout = want.layoutGeneration;
    g.base = want.baseGeneration;
    g.resume = undefined;
    const q = createDeviceQueue(this.env.mem.device, { ...want.layout, base }, this.features);
    if (r === 0) this.rx.start(q, has(this.features, F.NET_F_MRG_RXBUF), { maxPacket: this.maxPacket() });
    else this.tx.start(q);
    if (q.broken) {
      this.reportBroken(r, q.broken);
      if (want.errFd >= 0) this.engine.notify(want.errFd);
    }
  }

  /** Header + the largest frame the tap may deliver with the negotiated guest offloads. */
  private maxPacket(): number {
    const f = this.features;
    const gso = has(f, F.NET_F_GUEST_TSO4) || has(f, F.NET_F_GUEST_TSO6) || has(f, F.NET_F_GUEST_UFO);
    return HDR_LEN + (gso ? GSO_MAX_FRAME : this.init.mtu + 18);
  }

  private ring(r: 0 | 1): RxRing | TxRing {
    return r === 0 ? this.rx : this.tx;
  }

  /** Stop a ring: no new work, wait for what is in flight, hand back held buffers. */
  private stopRing(r: 0 | 1): number {
    const ring = this.ring(r);
    ring.beginStop();
    this.drain(ring, `stop ring ${r}`);
    return ring.finishStop();
  }

  /**
   * Wait until the ring's cancelled or finishing operations have completed. Each one completes
   * (-ECANCELED or its result); a process that is exiting stops waiting at once.
   */
  private drain(ring: RxRing | TxRing, what: string): void {
    for (let turns = 0; !ring.idle(); turns++) {
      if (Atomics.load(this.quit, 0)) throw new Quit();
      if (turns > 0 && turns % 1000 === 0) this.env.log(`${what}: still waiting for operations to complete after ${turns} wake-ups (${ring.describeInFlight()})`);
      this.engine.run(true, this.dispatch);
    }
  }

  /** A multi-queue tap's queue is attached exactly while the RX ring runs enabled (M1). */
  private syncTapQueue(): void {
    if (!this.init.multiQueue) return;
    this.setAttached(this.rx.running && this.rx.enabled);
  }

  private setAttached(on: boolean): void {
    if (on === this.attached) return;
    const ifr = new Uint8Array(40);
    new DataView(ifr.buffer).setInt16(16, on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE, true);
    try {
      ioctlPtr(this.init.tapFd, TUNSETQUEUE, ifr, on ? 'TUNSETQUEUE attach' : 'TUNSETQUEUE detach');
      this.attached = on;
    } catch (e) {
      this.env.log((e as Error).message);
    }
  }

  private reportBroken(ring: 0 | 1, b: Broken): void {
    this.post({ type: 'broken', ring, reason: b.reason, clause: b.clause, message: b.message });
  }

  private shutdown(): void {
    for (const r of [0, 1] as const) if (this.ring(r).running) this.stopRing(r);
    this.rx.finish();
    this.tx.finish();
    this.engine.run(false, () => {}); // submit the last notifications
    this.engine.close();
  }
}
