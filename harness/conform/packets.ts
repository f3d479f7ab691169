// Frames the checks send and expect: the tagged test frames of harness/vhost/frames.ts, and IPv4
// UDP/TCP frames (198.18.0.0/24, the benchmarking range the project uses inside its own
// namespaces) with full, partial (pseudo-header only, as a sender with checksum offload leaves
// it) or deliberately wrong L4 checksums. Every frame carries a nonce so it is recognised among
// anything else on the wire.
import { DEVICE_MAC, PEER_MAC, frameNonce, testFrame } from '../vhost/frames.ts';

/** virtio-net header with VERSION_1 (§5.1.6). */
export const HDR = 12;
const MAGIC = Buffer.from('vnetbench');
export const ETH = 14;
export const IP4 = 20;
export const UDP_HDR = 8;
export const TCP_HDR = 20;
const DRIVER_IP = [198, 18, 0, 1];
const PEER_IP = [198, 18, 0, 2];

/** A tagged frame the driver transmits (toward the peer). */
export function outFrame(nonce: number, length = 64): Uint8Array {
  return testFrame(nonce, length, PEER_MAC, DEVICE_MAC);
}

/** A tagged frame the peer sends toward the device's RX. */
export function inFrame(nonce: number, length = 64): Uint8Array {
  return testFrame(nonce, length, DEVICE_MAC, PEER_MAC);
}

export type Csum = 'full' | 'partial' | 'bad';

export interface L4Options {
  nonce: number;
  /** L4 payload bytes (≥ 13: magic + nonce). */
  payload?: number;
  srcPort?: number;
  dstPort?: number;
  csum?: Csum;
  /** Toward the device (default) or from it. */
  inbound?: boolean;
}

export interface L4Frame {
  frame: Uint8Array;
  /** Offset of the L4 header (csum_start). */
  l4: number;
  /** Offset of the checksum field from the L4 header (csum_offset). */
  csumOffset: number;
}

function onesSum(b: Uint8Array, from: number, to: number, acc = 0): number {
  for (let i = from; i + 1 < to; i += 2) acc += (b[i] << 8) | b[i + 1];
  if ((to - from) & 1) acc += b[to - 1] << 8;
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
}

function ipv4(f: Uint8Array, proto: number, l4len: number): void {
  const ip = ETH;
  f[12] = 0x08;
  f[13] = 0x00;
  f[ip] = 0x45;
  new DataView(f.buffer, f.byteOffset).setUint16(ip + 2, IP4 + l4len, false);
  f[ip + 8] = 64;
  f[ip + 9] = proto;
  const [s, d] = [DRIVER_IP, PEER_IP];
  f.set(s, ip + 12);
  f.set(d, ip + 16);
  const c = ~fold(onesSum(f, ip, ip + IP4)) & 0xffff;
  f[ip + 10] = c >> 8;
  f[ip + 11] = c & 0xff;
}

/** Sum of the IPv4 pseudo header for an L4 segment of `len` bytes. */
function pseudo(f: Uint8Array, proto: number, len: number): number {
  return onesSum(f, ETH + 12, ETH + 20) + proto + len;
}

function l4Frame(proto: 6 | 17, o: L4Options): L4Frame {
  const hdr = proto === 17 ? UDP_HDR : TCP_HDR;
  const payload = Math.max(o.payload ?? 64, MAGIC.length + 4);
  const l4 = ETH + IP4;
  const f = new Uint8Array(Math.max(60, l4 + hdr + payload));
  const l4len = hdr + payload;
  f.set(o.inbound === false ? PEER_MAC : DEVICE_MAC, 0);
  f.set(o.inbound === false ? DEVICE_MAC : PEER_MAC, 6);
  ipv4(f, proto, l4len);
  const dv = new DataView(f.buffer, f.byteOffset);
  dv.setUint16(l4, o.srcPort ?? 40000, false);
  dv.setUint16(l4 + 2, o.dstPort ?? 5001, false);
  const csumOffset = proto === 17 ? 6 : 16;
  if (proto === 17) dv.setUint16(l4 + 4, l4len, false);
  else {
    dv.setUint32(l4 + 4, 1, false); // seq
    f[l4 + 12] = 0x50; // data offset 5 words
    f[l4 + 13] = 0x18; // PSH|ACK
    dv.setUint16(l4 + 14, 0xffff, false);
  }
  const p = l4 + hdr;
  f.set(MAGIC, p);
  dv.setUint32(p + MAGIC.length, o.nonce >>> 0, false);
  for (let i = p + MAGIC.length + 4; i < l4 + l4len; i++) f[i] = i & 0xff;
  const ps = pseudo(f, proto, l4len);
  const full = ~fold(onesSum(f, l4, l4 + l4len, ps)) & 0xffff;
  const value = o.csum === 'partial' ? fold(ps) : o.csum === 'bad' ? (full ^ 0x5a5a) || 1 : full || 0xffff;
  dv.setUint16(l4 + csumOffset, value, false);
  return { frame: f, l4, csumOffset };
}

export function udpFrame(o: L4Options): L4Frame {
  return l4Frame(17, o);
}

export function tcpFrame(o: L4Options): L4Frame {
  return l4Frame(6, o);
}

/** L4 checksum state of an IPv4 UDP/TCP frame; undefined for anything else. */
export function l4Checksum(f: Uint8Array): 'ok' | 'bad' | undefined {
  if (f.length < ETH + IP4 || f[12] !== 0x08 || f[13] !== 0x00 || (f[ETH] & 0xf0) !== 0x40) return undefined;
  const proto = f[ETH + 9];
  if (proto !== 6 && proto !== 17) return undefined;
  const ihl = (f[ETH] & 0x0f) * 4;
  const total = (f[ETH + 2] << 8) | f[ETH + 3];
  const l4 = ETH + ihl;
  const l4len = total - ihl;
  if (l4 + l4len > f.length) return 'bad';
  if (proto === 17 && f[l4 + 6] === 0 && f[l4 + 7] === 0) return 'ok'; // UDP without a checksum
  return fold(onesSum(f, l4, l4 + l4len, pseudo(f, proto, l4len))) === 0xffff ? 'ok' : 'bad';
}

/** The nonce of any frame the suite built (tagged test frame or UDP/TCP), else undefined. */
export function nonceOf(f: Uint8Array): number | undefined {
  const t = frameNonce(f);
  if (t !== undefined) return t;
  if (f.length < ETH + IP4 || f[12] !== 0x08 || f[13] !== 0x00) return undefined;
  const proto = f[ETH + 9];
  const p = ETH + IP4 + (proto === 17 ? UDP_HDR : proto === 6 ? TCP_HDR : -1000);
  if (p < 0 || p + MAGIC.length + 4 > f.length) return undefined;
  if (!Buffer.from(f.buffer, f.byteOffset + p, MAGIC.length).equals(MAGIC)) return undefined;
  return new DataView(f.buffer, f.byteOffset).getUint32(p + MAGIC.length, false);
}

export const hasNonce = (n: number) => (f: Uint8Array) => nonceOf(f) === n;

/** A run of nonces unlikely to meet anything left on the wire from an earlier check. */
let nonceSeq = (Date.now() & 0xffff) << 12;
export function nonce(): number {
  nonceSeq = (nonceSeq + 1) >>> 0;
  return nonceSeq;
}

/** First differing byte of two frames, for evidence. */
export function firstDiff(a: Uint8Array, b: Uint8Array): string {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return `byte ${i}: expected 0x${hex2(a[i])}, got 0x${hex2(b[i])}`;
  }
  return a.length === b.length ? 'identical' : `length: expected ${a.length}, got ${b.length}`;
}

function hex2(v: number): string {
  return v.toString(16).padStart(2, '0');
}

export function hex(b: Uint8Array, max = 32): string {
  const s = Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, max)).toString('hex');
  return b.length > max ? `${s}…` : s;
}
