// TX (ring 2k+1): guest frames to the tap. Each available chain becomes one writev whose iovecs
// point into guest memory, behind the device's own sanitised copy of the 12-byte header; up to
// `depth` writes go out per submit, and each chain is returned (used len 0, §2.7.8) once its
// write completed. A disabled ring still consumes its buffers and discards them (vhost-user
// "ring states"). Kicks are suppressed while the ring is being drained and re-enabled, with a
// re-check, once it is empty (§2.7.10).
import { broken, type Broken } from '../../virtio/device/broken.ts';
import type { DescChain } from '../../virtio/device/chain.ts';
import type { DeviceQueue } from '../../virtio/device/queue.ts';
import { arena } from '../../sys/libc.ts';
import type { PairEnv } from './env.ts';
import { IOV_MAX, IovecArray } from './iov.ts';
import { HDR_LEN, sanitizeTxHeader } from './net-hdr.ts';
import { STAT } from './stats.ts';
import { writeNow, writevNow, lastErrno } from './sync-io.ts';
import { KIND, tag } from './tags.ts';

/** iovecs per write slot: header + the guest's segments (Linux sends ≤ MAX_SKB_FRAGS + 2). */
const SLOT_IOVS = 32;
/** The longest frame a tap takes, plus the header: the bounce buffer of the slow path. */
const BOUNCE = HDR_LEN + 65550;

interface TxSlot {
  chain: DescChain | undefined;
  iov: IovecArray;
  hdr: Uint8Array;
  hdrAddr: number;
  frameLen: number;
}

export class TxRing {
  q: DeviceQueue | null = null;
  enabled = false;
  kickFd = -1;
  callFd = -1;
  errFd = -1;
  broken: Broken | undefined;
  private readonly slots: TxSlot[];
  private readonly free: number[] = [];
  private inFlight = 0;
  /** The driver kicked (or the ring just started): look for buffers. */
  private kicked = false;
  private pushed = false;
  /** Generation of the kick wait: bumped when a wait is abandoned. */
  private kickGen = 0;
  private kickPosted = false;
  private stopping = false;
  private readonly longIov = new IovecArray(IOV_MAX);
  private bounce: { addr: number; bytes: Uint8Array } | undefined;

  constructor(
    private readonly env: PairEnv,
    depth: number,
  ) {
    const hdrs = arena(HDR_LEN * depth);
    this.slots = Array.from({ length: depth }, (_, i) => ({
      chain: undefined,
      iov: new IovecArray(SLOT_IOVS),
      hdr: hdrs.bytes.subarray(i * HDR_LEN, (i + 1) * HDR_LEN),
      hdrAddr: Number(hdrs.addr) + i * HDR_LEN,
      frameLen: 0,
    }));
    for (let i = depth - 1; i >= 0; i--) this.free.push(i);
  }

  get running(): boolean {
    return this.q !== null;
  }

  start(q: DeviceQueue): void {
    this.q = q;
    this.broken = q.broken;
    this.stopping = false;
    this.kicked = true; // buffers may be there already (a restart, or a kick before start)
    for (const s of this.slots) s.chain = q.newChain();
  }

  /** Ready to read kicks: post the wait on the kick eventfd if none is pending. */
  arm(): void {
    if (!this.q || this.stopping || this.kickPosted || this.kickFd < 0) return;
    if (this.env.engine.waitReadable(this.kickFd, 'eventfd', tag(KIND.KICK_TX, this.kickGen))) this.kickPosted = true;
  }

  /** A new kick fd (SET_VRING_KICK while running): abandon the old wait. */
  setKickFd(fd: number): void {
    if (fd === this.kickFd) return;
    this.dropKickWait();
    this.kickFd = fd;
  }

  onKick(gen: number): void {
    if (gen !== this.kickGen) return; // an abandoned wait
    this.kickPosted = false;
    this.kicked = true;
    this.env.stats[STAT.kicksTx]++;
  }

  /** More can be done without sleeping. */
  hasWork(): boolean {
    return this.q !== null && !this.broken && !this.stopping && this.kicked && this.free.length > 0;
  }

  pump(): void {
    const q = this.q;
    if (!q || this.broken || this.stopping || !this.kicked) return;
    q.disableKicks();
    while (this.free.length > 0 && this.env.engine.room() > 0) {
      const i = this.free[this.free.length - 1]!;
      const slot = this.slots[i]!;
      const r = q.pop(slot.chain!);
      if (r.kind === 'broken') return this.fail(r);
      if (r.kind === 'empty') {
        // Ask for a kick, then look once more: a buffer added before the driver saw the
        // request came without one (§2.7.10).
        if (q.enableKicks()) {
          q.disableKicks();
          continue;
        }
        if (this.q?.broken) return this.fail(this.q.broken);
        this.kicked = false;
        return;
      }
      this.free.pop();
      if (!this.transmit(i, slot)) return;
    }
  }

  /** Start one chain: false when the ring broke. */
  private transmit(i: number, slot: TxSlot): boolean {
    const c = slot.chain!;
    const rd = c.readable;
    if (rd.totalLen < HDR_LEN) {
      this.free.push(i);
      this.fail(broken('device-buffer', '5.1.6.2', `transmit buffer (id ${c.id}) has ${rd.totalLen} device-readable bytes, less than the ${HDR_LEN}-byte virtio-net header`));
      return false;
    }
    if (!this.enabled) return this.complete(i, slot, STAT.txDiscarded);
    rd.gather(slot.hdr, 0, 0);
    slot.frameLen = rd.totalLen - HDR_LEN;
    if (sanitizeTxHeader(slot.hdr, slot.frameLen, this.env.hdr) !== 'ok') return this.complete(i, slot, STAT.txBadHeader);
    if (!this.buildIov(slot.iov, slot.hdrAddr, c, SLOT_IOVS)) {
      this.writeLong(slot);
      return this.complete(i, slot, STAT.txLongChains);
    }
    this.env.engine.writev(this.env.tapFd, slot.iov.addr, slot.iov.count, tag(KIND.WRITE, 0, i));
    this.env.stats[STAT.writesPosted]++;
    this.inFlight++;
    return true;
  }

  /** Return a chain at once (not written, or written synchronously), counting why. */
  private complete(i: number, slot: TxSlot, stat: number): boolean {
    this.env.stats[stat]++;
    this.q!.push(slot.chain!, 0);
    this.pushed = true;
    this.free.push(i);
    return true;
  }

  /** iovecs: our header copy, then the guest's segments after its 12 header bytes. */
  private buildIov(iov: IovecArray, hdrAddr: number, c: DescChain, cap: number): boolean {
    const mem = this.env.mem!;
    const rd = c.readable;
    iov.reset();
    iov.push(hdrAddr, HDR_LEN);
    let skip = HDR_LEN;
    for (let k = 0; k < rd.count; k++) {
      const len = rd.len[k]!;
      if (skip >= len) {
        skip -= len;
        continue;
      }
      if (iov.count === cap) return false;
      iov.push(mem.hostAddr[rd.region[k]!]! + rd.offset[k]! + skip, len - skip);
      skip = 0;
    }
    return true;
  }

  /** A chain with more segments than a slot holds: one synchronous writev, or a bounce copy. */
  private writeLong(slot: TxSlot): void {
    const c = slot.chain!;
    let n: number;
    if (this.buildIov(this.longIov, slot.hdrAddr, c, IOV_MAX)) {
      n = writevNow(this.env.tapFd, this.longIov.addr, this.longIov.count);
    } else {
      if (!this.bounce) {
        const a = arena(BOUNCE);
        this.bounce = { addr: Number(a.addr), bytes: a.bytes };
      }
      const len = Math.min(BOUNCE, c.readable.totalLen);
      this.bounce.bytes.set(slot.hdr, 0);
      c.readable.gather(this.bounce.bytes.subarray(HDR_LEN, len), 0, HDR_LEN);
      n = writeNow(this.env.tapFd, this.bounce.addr, len);
    }
    this.account(n < 0 ? -lastErrno() : n, slot.frameLen);
  }

  /** A write finished (every write belongs to the current queue: a stop waits for them all). */
  onWrite(i: number, res: number): void {
    const slot = this.slots[i]!;
    this.inFlight--;
    this.account(res, slot.frameLen);
    // A ring that broke meanwhile refuses the push (the queue is dead); the slot is free anyway.
    this.q?.push(slot.chain!, 0);
    this.pushed = true;
    this.free.push(i);
  }

  private account(res: number, frameLen: number): void {
    const s = this.env.stats;
    if (res < 0) {
      if (s[STAT.txErrors]++ < 5) this.env.log(`tx: tap write failed: errno ${-res}`);
      return;
    }
    s[STAT.txPackets]++;
    s[STAT.txBytes] += frameLen;
  }

  /** Publish used entries and notify the driver if it asked (§2.7.7.2). */
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

  /** Stop taking buffers; writes in flight still complete. */
  beginStop(): void {
    this.stopping = true;
    this.dropKickWait();
  }

  idle(): boolean {
    return this.inFlight === 0;
  }

  describeInFlight(): string {
    return `${this.inFlight} in flight, ${this.free.length} free`;
  }

  /** After beginStop() and idle(): flush, forget the queue, return where it stopped. */
  finishStop(): number {
    const q = this.q!;
    this.finish();
    const base = q.base();
    this.q = null;
    this.stopping = false;
    this.kicked = false;
    return base;
  }

  private dropKickWait(): void {
    if (this.kickPosted) this.env.engine.cancel(tag(KIND.KICK_TX, this.kickGen));
    this.kickPosted = false;
    this.kickGen = (this.kickGen + 1) & 0xff;
  }

  private fail(b: Broken): void {
    if (this.broken) return;
    this.broken = b;
    this.env.onBroken(1, b);
    if (this.errFd >= 0) this.env.engine.notify(this.errFd);
  }
}
