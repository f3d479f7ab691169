// Building blocks the checks share: feature sets, TX and RX buffers in guest memory, waiting for
// frames at the far end, and reading received packets back. Each helper does one step a check
// would otherwise spell out; verdicts stay in the checks.
import type { PackedLane } from '../../harness/conform/packed-lane.ts';
import { HDR, hasNonce } from '../../harness/conform/packets.ts';
import type { Rig } from '../../harness/conform/rig-types.ts';
import type { AddOptions, Elem, SplitLane, UsedEntry } from '../../harness/conform/split-lane.ts';
import type { Wire } from '../../harness/conform/wire.ts';
import type { CheckContext } from '../../harness/conform/types.ts';
import { F, featureSet, has } from '../../harness/virtio/features.ts';
import { decodeNetHdr, emptyNetHdr, encodeNetHdr, type NetHdr } from '../../harness/virtio/net-header.ts';

export { HDR };
export const V1 = featureSet(F.F_VERSION_1);
/** VERSION_1 plus the given bits. */
export const v1 = (...bits: number[]): bigint => V1 | featureSet(...bits);
export const PACKED = F.F_RING_PACKED;

/** How long a device gets to use a buffer it should use, and to stay quiet when it should. */
export const USE_MS = 2000;
export const QUIET_MS = 300;

export type Lane = SplitLane | PackedLane;

/** The lane of ring `index` in the rig's format. */
export function laneOf(rig: Rig, index: number): Lane {
  return rig.kind === 'packed' ? rig.packedLane(index) : rig.splitLane(index);
}

export function hdrBytes(h: Partial<NetHdr> = {}): Uint8Array {
  const b = new Uint8Array(HDR);
  encodeNetHdr({ ...emptyNetHdr(), ...h }, b, 12);
  return b;
}

/** One device-readable buffer holding header ‖ frame. */
export function txBuffer(rig: Rig, frame: Uint8Array, hdr: Partial<NetHdr> = {}): Elem {
  const len = HDR + frame.length;
  const at = rig.buffer(len);
  rig.bytes(at, HDR).set(hdrBytes(hdr));
  rig.bytes(at + HDR, frame.length).set(frame);
  return { addr: at, len };
}

/** Header ‖ frame cut into device-readable pieces of the given sizes (the rest in a last piece). */
export function txPieces(rig: Rig, frame: Uint8Array, sizes: readonly number[], hdr: Partial<NetHdr> = {}): Elem[] {
  const all = new Uint8Array(HDR + frame.length);
  all.set(hdrBytes(hdr), 0);
  all.set(frame, HDR);
  const out: Elem[] = [];
  let at = 0;
  for (const s of [...sizes, all.length]) {
    const n = Math.min(s, all.length - at);
    if (n <= 0) break;
    const g = rig.buffer(n);
    rig.bytes(g, n).set(all.subarray(at, at + n));
    out.push({ addr: g, len: n });
    at += n;
  }
  return out;
}

/** Transmit one buffer on pair 0's TX ring and kick. Returns the id. */
export function send(rig: Rig, elems: readonly Elem[], opts: AddOptions = {}): number {
  const lane = laneOf(rig, 1);
  const id = lane.add(elems, opts);
  lane.kick();
  return id;
}

export interface RxBuf {
  id: number;
  addr: number;
  len: number;
}

/** Post `count` RX buffers of `len` writable bytes filled with `fill` on ring `index`, then kick. */
export function postRx(rig: Rig, count: number, len: number, fill = 0xa5, index = 0): RxBuf[] {
  const lane = laneOf(rig, index);
  const out: RxBuf[] = [];
  for (let k = 0; k < count; k++) {
    const addr = rig.buffer(len, fill);
    out.push({ id: lane.add([{ addr, len, write: true }]), addr, len });
  }
  lane.kick();
  return out;
}

/** A frame at the far end carrying `nonce`, or undefined after ms. */
export async function captured(wire: Wire, n: number, ms = USE_MS): Promise<Uint8Array | undefined> {
  try {
    return await wire.expect(hasNonce(n), ms);
  } catch {
    return undefined;
  }
}

/** What landed in one RX buffer: the header and the bytes after it, as far as used.len says. */
export function readRx(rig: Rig, buf: RxBuf, used: UsedEntry): { hdr: NetHdr; data: Uint8Array; raw: Uint8Array } {
  const len = Math.min(used.len, buf.len);
  const raw = rig.bytes(buf.addr, buf.len).slice();
  return { hdr: decodeNetHdr(raw.subarray(0, HDR)), data: raw.subarray(HDR, Math.max(HDR, len)), raw };
}

/** Used entries on ring `index` until `n` arrived or ms passed. */
export function usedOn(rig: Rig, index: number, n: number, ms = USE_MS): Promise<UsedEntry[]> {
  return laneOf(rig, index).waitUsed(n, ms);
}

export function bufById(bufs: readonly RxBuf[], id: number): RxBuf | undefined {
  return bufs.find((b) => b.id === id);
}

export function offers(rig: Rig, bit: number): boolean {
  return has(rig.offered, bit);
}

export function negotiated(rig: Rig, bit: number): boolean {
  return has(rig.features, bit);
}

/** "3 of 4" style summaries. */
export function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}


/** The ring formats a check can cover on this device: split, and packed when offered. */
export function formats(ctx: CheckContext): ('split' | 'packed')[] {
  return has(ctx.offered, F.F_RING_PACKED) ? ['split', 'packed'] : ['split'];
}
