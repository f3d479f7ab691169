// `--wire loopback`: the device reflects what it transmits into its own RX (testpmd's io forwarding
// on one port, a back-end looped to itself). The far end is then the check's own session: a frame
// is injected by transmitting it on TX ring 1, and what the device transmits is captured from RX
// ring 0 — from the check's RX buffers when it posted some, else from buffers the wire posts
// itself before the check transmits (drain) or captures. The wire's buffers are marked foreign in
// the lanes, so a check never sees their used entries; every ring watch still judges them. A
// device fills RX buffers in the order they were made available, so before a frame is injected
// toward buffers the check posted after the wire's, filler frames use up the wire's first.
import { TimeoutError } from '../core/errors.ts';
import { F, has } from '../virtio/features.ts';
import { byteView } from '../virtio/driver/views.ts';
import { HDR, inFrame, nonce, nonceOf } from './packets.ts';
import type { Rig } from './rig-types.ts';
import type { ChainRecord } from './ring-watch.ts';
import type { Elem } from './split-lane.ts';
import { sleep } from './wait.ts';
import { shiftMatching, type InjectOffload, type Wire } from './wire.ts';

/** Receive buffers the wire posts to capture: jumbo frames fit one. */
const CAPTURE_BUFS = 16;
const CAPTURE_LEN = HDR + 9018;

interface Lane {
  add(elems: readonly Elem[], opts?: { foreign?: boolean }): number;
  kick(): void;
  pump(): void;
  readonly inFlight: number;
}

export class LoopbackWire implements Wire {
  readonly describe = 'loopback: the device reflects its TX into its own RX (frames injected on TX ring 1, captured from RX ring 0)';
  readonly offloads = false;
  readonly sharesRings = true;
  private rig: Rig | undefined;
  private frames: Uint8Array[] = [];
  /** MRG_RXBUF: a packet spread over buffers, and how many are still to come. */
  private partial: { parts: Uint8Array[]; left: number } | undefined;
  /** The wire's RX buffers the device holds. */
  private wireRx = 0;
  /** Nonces of filler frames (dropped when captured). */
  private readonly fillers = new Set<number>();

  /** Every rig a check opens: the newest open one is the wire's. */
  bind(rig: Rig): void {
    this.rig = rig;
    this.frames = [];
    this.partial = undefined;
    this.wireRx = 0;
    rig.observe(0, (e, chain) => {
      if (this.rig !== rig) return;
      if (chain?.foreign) this.wireRx--;
      this.received(e, chain);
    });
  }

  private current(what: string): Rig {
    const rig = this.rig;
    if (!rig || rig.isClosed) throw new Error(`the loopback wire has no open session to ${what} through (open a rig first)`);
    return rig;
  }

  private lane(rig: Rig, index: number): Lane {
    return rig.kind === 'packed' ? rig.packedLane(index) : rig.splitLane(index);
  }

  inject(frame: Uint8Array, offload?: InjectOffload): void {
    if (offload) throw new Error('the loopback wire carries no offload metadata (check wire.offloads first)');
    const rig = this.current('inject a frame');
    // The check's RX buffers come after the wire's: fill the wire's first (counted after reading
    // what the device already returned).
    this.lane(rig, 0).pump();
    if (this.wireRx > 0 && this.lane(rig, 0).inFlight > this.wireRx) {
      for (let k = 0; k < this.wireRx; k++) {
        const n = nonce();
        this.fillers.add(n);
        this.transmit(rig, inFrame(n, 60));
      }
    }
    this.transmit(rig, frame);
  }

  private transmit(rig: Rig, frame: Uint8Array): void {
    const at = rig.buffer(HDR + frame.length);
    byteView(rig.mem, at, HDR).fill(0);
    byteView(rig.mem, at + HDR, frame.length).set(frame);
    const tx = this.lane(rig, 1);
    tx.add([{ addr: at, len: HDR + frame.length }], { foreign: true });
    tx.kick();
  }

  async passOffloads(): Promise<void> {}

  /** Buffers on RX for frames about to be transmitted, unless the check has its own posted. */
  private capture(rig: Rig): void {
    const rx = this.lane(rig, 0);
    const own = rx.inFlight - this.wireRx;
    if (own > 0 || this.wireRx >= CAPTURE_BUFS / 2) return;
    try {
      for (let k = this.wireRx; k < CAPTURE_BUFS; k++) {
        rx.add([{ addr: rig.buffer(CAPTURE_LEN), len: CAPTURE_LEN, write: true }], { foreign: true });
        this.wireRx++;
      }
      rx.kick();
    } catch {
      /* ring or guest memory full: the check's own buffers are what the device fills then */
    }
  }

  /** A used RX entry: the frame after the header, reassembled over MRG_RXBUF buffers. */
  private received(e: { len: number }, chain: ChainRecord | undefined): void {
    const rig = this.rig!;
    const elems = chain?.elems?.filter((x) => x.write);
    if (!elems?.length) return;
    const bytes = new Uint8Array(Math.min(e.len, elems.reduce((n, x) => n + x.len, 0)));
    let at = 0;
    for (const x of elems) {
      const n = Math.min(x.len, bytes.length - at);
      if (n <= 0) break;
      bytes.set(byteView(rig.mem, x.addr, n), at);
      at += n;
    }
    if (this.partial) {
      this.partial.parts.push(bytes);
      if (--this.partial.left === 0) this.complete();
      return;
    }
    if (bytes.length < HDR) return;
    const nb = bytes[10] | (bytes[11] << 8);
    const parts = [bytes.subarray(HDR)];
    if (has(rig.features, F.NET_F_MRG_RXBUF) && nb > 1 && nb <= rig.size) this.partial = { parts, left: nb - 1 };
    else this.keep(parts[0].slice());
  }

  private keep(frame: Uint8Array): void {
    const n = nonceOf(frame);
    if (n !== undefined && this.fillers.delete(n)) return;
    this.frames.push(frame);
  }

  private complete(): void {
    const parts = this.partial!.parts;
    this.partial = undefined;
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    this.keep(out);
  }

  async expect(match: (f: Uint8Array) => boolean, timeoutMs: number): Promise<Uint8Array> {
    const rig = this.current('capture');
    this.capture(rig);
    const deadline = Date.now() + timeoutMs;
    const seen = { skipped: 0 };
    for (;;) {
      const f = shiftMatching(this.frames, match, seen);
      if (f) return f;
      if (Date.now() >= deadline) throw new TimeoutError('a matching frame reflected into RX ring 0', timeoutMs, `${seen.skipped} other frames seen`);
      if (!rig.isClosed) this.lane(rig, 0).pump();
      if (!this.frames.length) await sleep(1);
    }
  }

  async collect(ms: number): Promise<Uint8Array[]> {
    const rig = this.current('capture');
    this.capture(rig);
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!rig.isClosed) this.lane(rig, 0).pump();
      await sleep(1);
    }
    const out = this.frames;
    this.frames = [];
    return out;
  }

  /** Forget frames captured so far, and make sure frames about to be transmitted have somewhere to land. */
  drain(): void {
    this.frames = [];
    const rig = this.rig;
    if (rig && !rig.isClosed) this.capture(rig);
  }

  close(): void {
    this.frames = [];
    this.rig = undefined;
  }
}
