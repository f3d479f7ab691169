// RX (ring 2k): tap packets into guest buffers, read in place. Each read is one readv whose iovecs
// are guest buffers: with MRG_RXBUF as many buffers as cover the largest packet the tap can
// deliver (§5.1.6.4: a packet may span buffers), otherwise exactly one buffer. With io_uring the
// reads stay posted and the kernel fills them as packets arrive; with Linux AIO they are posted
// when the tap is readable. On completion the device writes num_buffers (the tap leaves it),
// returns the buffers the packet filled — consecutively, all but the last full — and keeps the
// rest for the next read.
//
// A tap silently truncates a packet longer than the read and returns what it copied, so every read
// ends with device-owned bytes past the guest buffers: a packet that reaches them did not fit.
// Normally that is one byte (a packet longer than the largest the tap can send is dropped). When
// the guest is short of buffers (MRG_RXBUF only) the device may post one short read, alone; its
// device-owned tail is a bounce buffer big enough for the rest of any packet, and a packet that
// spills into it waits there until the driver posts more buffers, is copied into them, and is
// delivered whole. So running low on buffers delays packets instead of losing them.
//
// Buffers the device took from the ring but has not returned wait in `pool`, in the order they
// were taken. When the ring stops (GET_VRING_BASE), the ones taken last are given back to the ring
// (unpop), so no buffer is lost; any others are returned with used len 0 (the driver drops them
// as short packets), never left owned by the device.
import { broken, type Broken } from '../../virtio/device/broken.ts';
import type { DescChain } from '../../virtio/device/chain.ts';
import type { DeviceQueue } from '../../virtio/device/queue.ts';
import { arena, type Arena } from '../../sys/libc.ts';
import { ERRNO, type PairEnv } from './env.ts';
import { IOV_MAX, IovecArray } from './iov.ts';
import { HDR_LEN, fixRxHeader } from './net-hdr.ts';
import { STAT } from './stats.ts';
import { KIND, tag } from './tags.ts';

/** Header + the shortest Ethernet frame: a read holding less cannot take any packet. */
const MIN_READ = HDR_LEN + 60;

interface RxBuf {
  chain: DescChain;
  /** Pop order, for giving buffers back to the ring in reverse. */
  seq: number;
}

interface ReadSlot {
  bufs: RxBuf[];
  iov: IovecArray;
  /** Writable guest bytes behind the iovecs. */
  cap: number;
  /** Bytes of the bounce buffer behind them (a short read), 0 otherwise. */
  spillCap: number;
}

/** A packet that filled a short read's buffers and the rest of which waits in the bounce buffer. */
interface Spilled {
  bufs: RxBuf[];
  /** Bytes of the packet in the bounce buffer, and how many of them are placed already. */
  spill: number;
  placed: number;
  extra: RxBuf[];
  extraLens: number[];
  total: number;
}

export interface RxSizes {
  /** Bytes of the largest packet the tap may deliver, header included. */
  maxPacket: number;
}

export class RxRing {
  q: DeviceQueue | null = null;
  enabled = false;
  kickFd = -1;
  callFd = -1;
  errFd = -1;
  broken: Broken | undefined;
  /** Bytes a read should cover (MRG_RXBUF: the largest packet; else one buffer, whatever its size). */
  need = 0;
  private mrg = false;
  private readonly reads: ReadSlot[];
  private readonly freeReads: number[] = [];
  private inFlight = 0;
  private pool: RxBuf[] = [];
  private spare: RxBuf[] = [];
  private popSeq = 0;
  /** No buffers to post: wait for a kick or for buffers a read hands back. */
  private starved = false;
  private kickGen = 0;
  private kickPosted = false;
  /** Linux AIO: whether a read may find a packet; cleared by -EAGAIN, set by a readiness poll. */
  private tapReadable = true;
  private tapWaitPosted = false;
  private tapGen = 0;
  private stopping = false;
  private pushed = false;
  private spilled: Spilled | undefined;
  private readonly lens: number[] = [];
  private readonly hdrScratch = new Uint8Array(HDR_LEN);
  /** The one-byte tail of full-size reads (see the file comment). */
  private readonly overflow = arena(8);
  private bounce: Arena | undefined;

  constructor(
    private readonly env: PairEnv,
    depth: number,
  ) {
    this.reads = Array.from({ length: depth }, () => ({ bufs: [], iov: new IovecArray(IOV_MAX), cap: 0, spillCap: 0 }));
    for (let i = depth - 1; i >= 0; i--) this.freeReads.push(i);
  }

  get running(): boolean {
    return this.q !== null;
  }

  start(q: DeviceQueue, mrg: boolean, sizes: RxSizes): void {
    this.q = q;
    this.broken = q.broken;
    this.mrg = mrg;
    this.need = mrg ? sizes.maxPacket : 1;
    this.stopping = false;
    this.starved = false;
    this.tapReadable = true;
    if (mrg && (!this.bounce || this.bounce.bytes.length < this.need)) this.bounce = arena(this.need + 1);
  }

  arm(): void {
    if (!this.q || this.stopping || this.kickPosted || this.kickFd < 0) return;
    if (this.env.engine.waitReadable(this.kickFd, 'eventfd', tag(KIND.KICK_RX, this.kickGen))) this.kickPosted = true;
  }

  setKickFd(fd: number): void {
    if (fd === this.kickFd) return;
    this.dropKickWait();
    this.kickFd = fd;
  }

  onKick(gen: number): void {
    if (gen !== this.kickGen) return;
    this.kickPosted = false;
    this.starved = false;
    this.env.stats[STAT.kicksRx]++;
  }

  onTapReady(gen: number): void {
    if (gen !== this.tapGen) return;
    this.tapWaitPosted = false;
    this.tapReadable = true;
  }

  private active(): boolean {
    return this.q !== null && !this.broken && !this.stopping && this.enabled;
  }

  hasWork(): boolean {
    return this.active() && !this.starved && this.freeReads.length > 0 && (this.env.engine.asyncReads || this.tapReadable);
  }

  /** Post reads until every read slot is busy or the guest's buffers run out. */
  fill(): void {
    if (!this.active()) return;
    if (this.starved) return;
    // A spilled packet goes first; nothing else is read until it is delivered (packet order).
    if (this.spilled && !this.placeSpill()) return;
    const engine = this.env.engine;
    if (!engine.asyncReads && !this.tapReadable) return this.waitForTap();
    let posted = 0;
    while (this.freeReads.length > 0 && engine.room() > 0) {
      const i = this.freeReads[this.freeReads.length - 1]!;
      const r = this.collect(this.reads[i]!);
      if (r === 'broken') return;
      if (r === 'post') {
        this.freeReads.pop();
        const slot = this.reads[i]!;
        engine.readv(this.env.tapFd, slot.iov.addr, slot.iov.count, tag(KIND.READ, 0, i));
        this.env.stats[STAT.readsPosted]++;
        this.inFlight++;
        posted++;
        if (slot.spillCap > 0) break; // a short read is posted alone
        continue;
      }
      if (this.outOfBuffers()) return;
    }
    if (posted > 0) this.q!.disableKicks();
  }

  /**
   * No buffers for another read. While a read is pending its completion brings the loop back, and
   * the ring is looked at again then: no kick needed (each one costs the guest an exit). With
   * nothing pending, ask for a kick, and look again in case the driver added buffers before it saw
   * the request (§2.7.10). Returns true when the caller should stop.
   */
  private outOfBuffers(): boolean {
    const q = this.q!;
    if (this.inFlight === 0 && q.enableKicks()) return false;
    if (q.broken) {
      this.fail(q.broken);
      return true;
    }
    this.starved = true;
    this.env.stats[STAT.rxNoBuffers]++;
    return true;
  }

  /** Gather buffers for one read: 'post' it, 'wait' for more buffers, or the ring 'broken'. */
  private collect(slot: ReadSlot): 'post' | 'wait' | 'broken' {
    const mem = this.env.mem!;
    slot.iov.reset();
    slot.cap = 0;
    slot.spillCap = 0;
    while (slot.cap < this.need) {
      const b = this.takeBuffer();
      if (b === undefined) break;
      if (b === null) return this.giveBack(slot, 'broken');
      const wl = b.chain.writable;
      if (wl.totalLen < HDR_LEN && !this.mrg) {
        // Cannot hold even the header: hand it back empty rather than retry it forever.
        this.returnNow(b, 0);
        continue;
      }
      if (slot.iov.count + wl.count > slot.iov.capacity - 1) {
        this.pool.unshift(b);
        break;
      }
      for (let k = 0; k < wl.count; k++) slot.iov.push(mem.hostAddr[wl.region[k]!]! + wl.offset[k]!, wl.len[k]!);
      slot.bufs.push(b);
      slot.cap += wl.totalLen;
      if (!this.mrg) break;
    }
    if (slot.bufs.length === 0) return 'wait';
    if (slot.cap >= this.need) {
      slot.iov.push(Number(this.overflow.addr), 1);
      return 'post';
    }
    // Short of a full packet's worth: posted only when no other read is pending, with the bounce
    // buffer behind it for whatever does not fit (see the file comment).
    if (this.inFlight > 0 || slot.cap < MIN_READ) return this.giveBack(slot, 'wait');
    slot.spillCap = this.need - slot.cap;
    slot.iov.push(Number(this.bounce!.addr), slot.spillCap + 1);
    return 'post';
  }

  /** The oldest held buffer, else the next chain from the ring: undefined when empty, null when broken. */
  private takeBuffer(): RxBuf | undefined | null {
    const b = this.pool.shift() ?? this.popOne();
    if (b && this.mrg && b.chain.writable.totalLen < HDR_LEN) {
      this.pool.unshift(b);
      this.fail(broken('device-buffer', '5.1.6.3.1', `receive buffer (id ${b.chain.id}) has ${b.chain.writable.totalLen} device-writable bytes; with MRG_RXBUF each buffer must hold the ${HDR_LEN}-byte header`));
      return null;
    }
    return b;
  }

  private popOne(): RxBuf | undefined | null {
    const q = this.q!;
    const b = this.spare.pop() ?? { chain: q.newChain(), seq: 0 };
    const r = q.pop(b.chain);
    if (r.kind === 'chain') {
      b.seq = this.popSeq++;
      return b;
    }
    this.spare.push(b);
    if (r.kind === 'empty') return undefined;
    this.fail(r);
    return null;
  }

  private giveBack<T>(slot: ReadSlot, result: T): T {
    if (slot.bufs.length) this.pool = merge(slot.bufs, this.pool);
    slot.bufs = [];
    slot.iov.reset();
    slot.cap = 0;
    return result;
  }

  onRead(i: number, res: number): void {
    const slot = this.reads[i]!;
    this.inFlight--;
    this.freeReads.push(i);
    this.starved = false; // buffers come back to the pool or were used: worth another look
    // A ring disabled meanwhile gets nothing more (vhost-user ring states): the packet is dropped.
    const live = this.q !== null && !this.broken && this.enabled;
    if (!live || res < HDR_LEN || res > slot.cap + slot.spillCap) {
      this.readFailed(res, slot.cap + slot.spillCap);
      this.giveBack(slot, undefined);
      return;
    }
    if (res > slot.cap) return this.startSpill(slot, res);
    this.deliver(slot, res);
  }

  private readFailed(res: number, cap: number): void {
    const s = this.env.stats;
    if (res === -ERRNO.EAGAIN) this.tapReadable = false;
    else if (res === -ERRNO.ECANCELED) return;
    else if (res > cap) s[STAT.rxTruncated]++;
    else if (res >= HDR_LEN) s[STAT.rxDropped]++; // a whole packet for a ring disabled or broken meanwhile
    else if (s[STAT.rxErrors]++ < 5) this.env.log(`rx: tap read returned ${res}`);
  }

  /** A packet of `res` bytes (header included) landed in the slot's buffers. */
  private deliver(slot: ReadSlot, res: number): void {
    const bufs = slot.bufs;
    let left = res;
    let k = 0;
    while (left > 0) {
      const use = Math.min(bufs[k]!.chain.writable.totalLen, left);
      this.lens[k++] = use;
      left -= use;
    }
    if (this.fixHeader(bufs[0]!.chain, k) !== 'ok') {
      this.dropBadHeader();
      this.giveBack(slot, undefined);
      return;
    }
    const q = this.q!;
    for (let j = 0; j < k; j++) {
      q.push(bufs[j]!.chain, this.lens[j]!);
      this.spare.push(bufs[j]!);
    }
    slot.bufs = bufs.slice(k);
    this.giveBack(slot, undefined);
    this.delivered(res);
  }

  private delivered(res: number): void {
    this.pushed = true;
    this.env.stats[STAT.rxPackets]++;
    this.env.stats[STAT.rxBytes] += res - HDR_LEN;
  }

  private dropBadHeader(): void {
    if (this.env.stats[STAT.rxErrors]++ < 5) this.env.log('rx: dropped a packet whose header the driver did not negotiate');
  }

  /** The packet filled the short read's buffers; the rest is in the bounce buffer. */
  private startSpill(slot: ReadSlot, res: number): void {
    this.spilled = { bufs: slot.bufs, spill: res - slot.cap, placed: 0, extra: [], extraLens: [], total: res };
    slot.bufs = [];
    this.giveBack(slot, undefined);
    this.env.stats[STAT.rxSpilled]++;
    this.placeSpill();
  }

  /** Copy what waits in the bounce buffer into further buffers; deliver once it all fits. */
  private placeSpill(): boolean {
    const s = this.spilled!;
    while (s.placed < s.spill) {
      const b = this.takeBuffer();
      if (b === null) return false;
      if (b === undefined) {
        this.outOfBuffers();
        return false;
      }
      const wl = b.chain.writable;
      const n = Math.min(wl.totalLen, s.spill - s.placed);
      wl.scatter(this.bounce!.bytes, 0, s.placed, s.placed + n);
      s.extra.push(b);
      s.extraLens.push(n);
      s.placed += n;
    }
    this.spilled = undefined;
    const all = [...s.bufs, ...s.extra];
    if (this.fixHeader(all[0]!.chain, all.length) !== 'ok') {
      this.dropBadHeader();
      this.pool = merge(all.sort((a, b) => a.seq - b.seq), this.pool);
      return true;
    }
    const q = this.q!;
    s.bufs.forEach((b) => q.push(b.chain, b.chain.writable.totalLen));
    s.extra.forEach((b, j) => q.push(b.chain, s.extraLens[j]!));
    for (const b of all) this.spare.push(b);
    this.delivered(s.total);
    return true;
  }

  /** num_buffers and flags, in place when the header is contiguous, through a copy otherwise. */
  private fixHeader(c: DescChain, numBuffers: number): string {
    const wl = c.writable;
    if (wl.len[0]! >= HDR_LEN) {
      const off = wl.offset[0]!;
      return fixRxHeader(this.env.mem!.device.bytes[wl.region[0]!]!.subarray(off, off + HDR_LEN), numBuffers, this.env.hdr);
    }
    wl.gather(this.hdrScratch, 0, 0);
    const v = fixRxHeader(this.hdrScratch, numBuffers, this.env.hdr);
    wl.scatter(this.hdrScratch, 0);
    return v;
  }

  private returnNow(b: RxBuf, len: number): void {
    this.q!.push(b.chain, len);
    this.spare.push(b);
    this.pushed = true;
  }

  finish(): void {
    const q = this.q;
    if (!this.pushed || !q) return;
    this.pushed = false;
    q.flush();
    if (q.needsNotify() && this.callFd >= 0) {
      this.env.engine.notify(this.callFd);
      this.env.stats[STAT.calls]++;
    }
  }

  /** Stop reading (ring disabled or stopping): cancel the reads; their buffers come back. */
  cancelReads(): void {
    const free = new Set(this.freeReads);
    for (let i = 0; i < this.reads.length; i++) if (!free.has(i)) this.env.engine.cancel(tag(KIND.READ, 0, i));
    if (this.tapWaitPosted) this.env.engine.cancel(tag(KIND.TAP_READY, this.tapGen));
    this.tapWaitPosted = false;
    this.tapGen = (this.tapGen + 1) & 0xff;
    this.dropSpill();
  }

  /** A spilled packet that can no longer be delivered: its buffers go back to the pool. */
  private dropSpill(): void {
    const s = this.spilled;
    if (!s) return;
    this.spilled = undefined;
    this.pool = merge([...s.bufs, ...s.extra].sort((a, b) => a.seq - b.seq), this.pool);
  }

  setEnabled(on: boolean): void {
    if (on === this.enabled) return;
    this.enabled = on;
    if (!on) this.cancelReads();
    this.starved = false;
  }

  beginStop(): void {
    this.stopping = true;
    this.cancelReads();
    this.dropKickWait();
  }

  idle(): boolean {
    return this.inFlight === 0;
  }

  describeInFlight(): string {
    return `${this.inFlight} in flight, ${this.freeReads.length} free`;
  }

  /** After beginStop() and idle(): give every held buffer back, flush, return where the ring stopped. */
  finishStop(): number {
    const q = this.q!;
    this.dropSpill();
    const held = this.pool.sort((a, b) => b.seq - a.seq);
    for (const b of held) {
      if (b.seq === this.popSeq - 1 && !q.broken) {
        q.unpop(b.chain);
        this.popSeq--;
      } else {
        q.push(b.chain, 0);
        this.pushed = true;
      }
      this.spare.push(b);
    }
    this.pool = [];
    this.finish();
    const base = q.base();
    this.q = null;
    this.stopping = false;
    return base;
  }

  private waitForTap(): void {
    if (this.tapWaitPosted) return;
    if (this.env.engine.waitReadable(this.env.tapFd, 'fd', tag(KIND.TAP_READY, this.tapGen))) this.tapWaitPosted = true;
  }

  private dropKickWait(): void {
    if (this.kickPosted) this.env.engine.cancel(tag(KIND.KICK_RX, this.kickGen));
    this.kickPosted = false;
    this.kickGen = (this.kickGen + 1) & 0xff;
  }

  private fail(b: Broken): void {
    if (this.broken) return;
    this.broken = b;
    this.cancelReads();
    this.env.onBroken(0, b);
    if (this.errFd >= 0) this.env.engine.notify(this.errFd);
  }
}

/** Merge two lists sorted by seq. */
function merge(a: RxBuf[], b: RxBuf[]): RxBuf[] {
  if (b.length === 0) return a.slice();
  const out: RxBuf[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(a[i]!.seq < b[j]!.seq ? a[i++]! : b[j++]!);
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}
