// Opens a rig on a DUT: guest memory of the transport's kind, rings laid out in it (split or packed,
// any size, a preset base for wrap-around tests), kick and call eventfds, and the bring-up
// sequence of the transport (harness/vhost/bringup.ts for vhost; the virtio status sequence of
// §3.1.1 for the in-process device). close() undoes all of it, whatever state the device is in.
import { eventfd, type EventFd } from '../sys/eventfd.ts';
import { bringUp } from '../vhost/bringup.ts';
import type { DeviceSession } from '../vhost/session.ts';
import { GuestArena, allocateLayout, queueKind, checkSize, type QueueLayout } from '../virtio/driver/index.ts';
import { RawPackedRing, RawSplitRing } from '../virtio/driver/raw.ts';
import { byteView } from '../virtio/driver/views.ts';
import { F, bit, has } from '../virtio/features.ts';
import { VIRTIO_STATUS } from '../virtio/layout.ts';
import type { ConformDut, RigMemory } from './dut.ts';
import { PackedLane } from './packed-lane.ts';
import type { Rig, RigBringUp, RigQueue, RigSpec } from './rig-types.ts';
import { SplitLane } from './split-lane.ts';
import { RingWatch, type RingFinding, type ReturnedListener } from './ring-watch.ts';
import type { ControlSession } from './types.ts';
import { withTimeout } from './wait.ts';

/** Bits a vhost transport reports that are not virtio device features (vhost-user bit 30, log, vnet hdr). */
export const VHOST_ONLY_BITS = bit(F.VHOST_USER_F_PROTOCOL_FEATURES) | bit(F.VHOST_F_LOG_ALL) | bit(F.VHOST_NET_F_VIRTIO_NET_HDR);

/** Guard space around every buffer a rig hands out (never given to the device). */
export const GUARD = 64;
const DEFAULT_MEM = 4 << 20;
const CLOSE_MS = 3000;

/** The vhost encoding of where a queue starts: split avail idx; packed position | wrap << 15. */
function startBase(kind: 'split' | 'packed', base: number): number {
  return kind === 'split' ? base & 0xffff : 0x8000;
}

class RigQueueImpl implements RigQueue {
  /** Used-buffer notifications read through takeCalls/waitCall (the missing-notification judgement). */
  callsSeen = 0;

  constructor(
    readonly index: number,
    readonly layout: QueueLayout,
    readonly split: RawSplitRing | undefined,
    readonly packed: RawPackedRing | undefined,
    readonly kickFd: EventFd,
    readonly callFd: EventFd | undefined,
  ) {}
  get kind() {
    return this.layout.kind;
  }
  get size() {
    return this.layout.size;
  }
  kick(): void {
    this.kickFd.signal();
  }
  takeCalls(): number {
    const n = this.callFd ? Number(this.callFd.read()) : 0;
    this.callsSeen += n;
    return n;
  }
  async waitCall(ms: number): Promise<number> {
    if (!this.callFd) return 0;
    let n = 0;
    try {
      n = Number(await this.callFd.wait(ms));
    } catch {
      n = 0;
    }
    this.callsSeen += n;
    return n;
  }
}

class RigImpl implements Rig {
  private readonly splitLanes = new Map<number, SplitLane>();
  private readonly packedLanes = new Map<number, PackedLane>();
  private readonly watches = new Map<number, RingWatch>();
  private readonly seen: RingFinding[] = [];
  private closed = false;

  constructor(
    readonly dut: ConformDut,
    readonly session: ControlSession,
    private readonly memh: RigMemory,
    readonly arena: GuestArena,
    readonly queues: readonly RigQueue[],
    readonly up: RigBringUp,
    readonly size: number,
    private readonly base: number,
  ) {}

  get transport() {
    return this.session.transport;
  }
  get offered() {
    return this.up.offered;
  }
  get features() {
    return this.up.acked & ~VHOST_ONLY_BITS;
  }
  get kind() {
    return queueKind(this.features);
  }
  get mem() {
    return this.memh.memory;
  }
  get wire() {
    return this.dut.wire;
  }
  rx(pair = 0): RigQueue {
    return this.queue(2 * pair);
  }
  tx(pair = 0): RigQueue {
    return this.queue(2 * pair + 1);
  }
  private queue(i: number): RigQueue {
    const q = this.queues[i];
    if (!q) throw new RangeError(`rig has no ring ${i} (${this.queues.length} set up)`);
    return q;
  }

  splitLane(index: number): SplitLane {
    const q = this.queue(index);
    if (!q.split) throw new RangeError(`ring ${index} is ${q.kind}, not split`);
    let l = this.splitLanes.get(index);
    if (!l) this.splitLanes.set(index, (l = new SplitLane(q.split, this.arena, this.base, () => q.kick(), this.watch(index), has(this.features, F.F_IN_ORDER))));
    return l;
  }

  /** The watch of ring `index`: what the device did there, judged whatever the check is about. */
  private watch(index: number): RingWatch {
    let w = this.watches.get(index);
    if (!w) {
      const q = this.queue(index);
      w = new RingWatch({ ring: index, size: q.size, features: this.features, mem: this.mem, split: q.split, packed: q.packed, sink: (f) => this.seen.push(f) });
      this.watches.set(index, w);
    }
    return w;
  }

  packedLane(index: number): PackedLane {
    const q = this.queue(index);
    if (!q.packed) throw new RangeError(`ring ${index} is ${q.kind}, not packed`);
    let l = this.packedLanes.get(index);
    if (!l) this.packedLanes.set(index, (l = new PackedLane(q.packed, this.arena, () => q.kick(), this.watch(index), has(this.features, F.F_IN_ORDER))));
    return l;
  }

  buffer(len: number, fill = 0): number {
    const at = this.arena.alloc(len + 2 * GUARD, 64) + GUARD;
    if (fill !== 0 && len > 0) byteView(this.mem, at, len).fill(fill);
    return at;
  }

  bytes(gpa: number, len: number): Uint8Array {
    return byteView(this.mem, gpa, len);
  }

  async startRings(): Promise<void> {
    for (const q of this.queues) await this.session.setVringKick(q.index, q.kickFd.fd);
  }

  findings(): readonly RingFinding[] {
    return this.seen;
  }

  observe(index: number, fn: ReturnedListener): void {
    this.watch(index).listen(fn);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * A ring that returned buffers the driver asked to be told about, and never signalled its call
   * eventfd in the whole session, broke N1/N3 (split) or P7 (packed). Judged at close, after a
   * short grace for a notification still on its way.
   */
  private async judgeNotifications(): Promise<void> {
    for (const [index, w] of this.watches) {
      const q = this.queues[index] as RigQueueImpl;
      const owed = w.owed;
      if (!owed || !q.callFd) continue;
      q.takeCalls(); // counted into callsSeen
      if (q.callsSeen === 0 && (await q.waitCall(100)) === 0) {
        w.finding(w.notifyRequirement, `ring ${index}: ${owed.what}, and no used-buffer notification (call eventfd) in the whole session`);
      }
    }
  }

  /**
   * Read what the device returned that the check did not (checks that read the used ring raw),
   * so the ring watches judge every used entry of the session.
   */
  private readRemaining(): void {
    for (const l of [...this.splitLanes.values(), ...this.packedLanes.values()]) l.pump();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.readRemaining();
    } catch {
      /* a dead device's memory may be gone: what was read is judged */
    }
    await this.judgeNotifications().catch(() => undefined);
    try {
      await withTimeout(this.session.close(), CLOSE_MS, `closing the session to ${this.session.label}`);
    } catch {
      /* a dead or hung device: the fds below are ours to close regardless */
    }
    for (const q of this.queues) {
      q.kickFd.close();
      q.callFd?.close();
    }
    this.memh.close();
  }
}

/** Bring up a device session as `spec` describes; on any failure everything opened is closed. */
export async function openRig(dut: ConformDut, spec: RigSpec): Promise<Rig> {
  const kind = queueKind(spec.features);
  const size = spec.size ?? 256;
  checkSize(kind, size);
  const pairs = spec.pairs ?? 1;
  const base = kind === 'split' ? (spec.base ?? 0) & 0xffff : 0;
  const memh = dut.memory(spec.memBytes ?? DEFAULT_MEM);
  const arena = new GuestArena(memh.memory);
  const queues: RigQueue[] = [];
  let session: ControlSession | undefined;
  try {
    for (let i = 0; i < 2 * pairs; i++) queues.push(makeQueue(arena, i, kind, size, base, spec.callFds !== false));
    session = await dut.connect();
    const rings = queues.map((q) => ({
      index: q.index,
      num: size,
      desc: BigInt(q.layout.desc),
      avail: BigInt(q.layout.driver),
      used: BigInt(q.layout.device),
      kickFd: q.kickFd.fd,
      callFd: q.callFd?.fd ?? null,
      base: startBase(kind, base),
      startRing: spec.startRings,
    }));
    const plan = { features: spec.features, memory: memh.memory, rings, enable: spec.enable, driverOk: spec.driverOk };
    const up = session.transport === 'in-process' ? await bringUpInProcess(session, plan) : await bringUp(session as DeviceSession, plan);
    if (session.transport === 'vhost-net') await dut.attach(session, rings.map((r) => r.index));
    // DPDK acks SET_STATUS before it starts the device (new_device runs after the reply): one more
    // round trip makes sure the data path is live before the check starts.
    if (session.transport === 'vhost-user' && spec.driverOk !== false) await session.getFeatures();
    return new RigImpl(dut, session, memh, arena, queues, up, size, base);
  } catch (err) {
    if (session) await withTimeout(session.close(), CLOSE_MS, 'closing a failed session').catch(() => undefined);
    for (const q of queues) {
      q.kickFd.close();
      q.callFd?.close();
    }
    memh.close();
    throw err;
  }
}

function makeQueue(arena: GuestArena, index: number, kind: 'split' | 'packed', size: number, base: number, withCall: boolean): RigQueue {
  const layout = allocateLayout(arena, kind, size, 16, false);
  let split: RawSplitRing | undefined;
  let packed: RawPackedRing | undefined;
  if (kind === 'split') {
    split = new RawSplitRing(arena.mem, layout);
    // A preset base goes into both indices, and used_event, so the first used buffer notifies (S7).
    split.setAvailIdx(base);
    split.setUsedIdx(base);
    split.setUsedEvent(base);
  } else {
    packed = new RawPackedRing(arena.mem, layout);
  }
  return new RigQueueImpl(index, layout, split, packed, eventfd(), withCall ? eventfd() : undefined);
}

interface InProcessPlan {
  features: bigint;
  memory: RigMemory['memory'];
  rings: { index: number; num: number; desc: bigint; avail: bigint; used: bigint; kickFd: number; callFd: number | null; base: number; startRing?: boolean }[];
  driverOk?: boolean;
}

/** The virtio status sequence (§3.1.1) against the in-process device. */
async function bringUpInProcess(s: ControlSession, plan: InProcessPlan): Promise<RigBringUp> {
  const t0 = performance.now();
  const { ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK } = VIRTIO_STATUS;
  const offered = await s.getFeatures();
  await s.setStatus(ACKNOWLEDGE);
  await s.setStatus(ACKNOWLEDGE | DRIVER);
  const acked = offered & plan.features;
  await s.setFeatures(acked);
  await s.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
  const statusAfterFeaturesOk = await s.getStatus();
  await s.setMemTable(plan.memory);
  for (const r of plan.rings) {
    await s.setVringNum(r.index, r.num);
    await s.setVringBase(r.index, r.base);
    await s.setVringAddr({ index: r.index, desc: r.desc, avail: r.avail, used: r.used });
    if (r.startRing !== false) await s.setVringKick(r.index, r.kickFd);
    await s.setVringCall(r.index, r.callFd);
  }
  if (plan.driverOk !== false) await s.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
  return { offered, acked, statusAfterFeaturesOk, durationMs: Math.round(performance.now() - t0) };
}
