// struct virtio_net_hdr (virtio v1.2-cs01 §5.1.6): precedes every packet in both directions.
// 12 bytes when VERSION_1 or MRG_RXBUF is negotiated (num_buffers present), 10 bytes for a legacy
// device without MRG_RXBUF, 20 bytes with HASH_REPORT (hash_value, hash_report, padding). All fields
// little-endian.

import { F, has } from './features.ts';

export const NET_HDR_F = {
  NEEDS_CSUM: 1,
  DATA_VALID: 2,
  RSC_INFO: 4,
} as const;

export const NET_HDR_GSO = {
  NONE: 0,
  TCPV4: 1,
  UDP: 3,
  TCPV6: 4,
  UDP_L4: 5,
  /** Flag bit ORed into gso_type (needs GUEST_ECN / HOST_ECN). */
  ECN: 0x80,
} as const;

/** hash_report values (§5.1.6.4.3.4). */
export const NET_HASH_REPORT = {
  NONE: 0,
  IPv4: 1,
  TCPv4: 2,
  UDPv4: 3,
  IPv6: 4,
  TCPv6: 5,
  UDPv6: 6,
  IPv6_EX: 7,
  TCPv6_EX: 8,
  UDPv6_EX: 9,
} as const;

export interface NetHdr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  /** With RSC_INFO on receive this field carries rsc.segments. */
  csumStart: number;
  /** With RSC_INFO on receive this field carries rsc.dup_acks. */
  csumOffset: number;
  /** Buffers this packet spans with MRG_RXBUF; must be 1 otherwise (§5.1.6.4.1). */
  numBuffers: number;
  hashValue: number;
  hashReport: number;
}

export type NetHdrSize = 10 | 12 | 20;

/** Header length for the negotiated features. */
export function netHdrSize(features: bigint): NetHdrSize {
  if (has(features, F.NET_F_HASH_REPORT)) return 20;
  if (has(features, F.F_VERSION_1) || has(features, F.NET_F_MRG_RXBUF)) return 12;
  return 10;
}

export function emptyNetHdr(): NetHdr {
  return { flags: 0, gsoType: NET_HDR_GSO.NONE, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0, numBuffers: 0, hashValue: 0, hashReport: 0 };
}

function view(bytes: Uint8Array, size: NetHdrSize, what: string): DataView {
  if (bytes.length < size) throw new RangeError(`${what} a ${size}-byte virtio-net header needs ${size} bytes, got ${bytes.length}`);
  return new DataView(bytes.buffer, bytes.byteOffset, size);
}

/** Write `h` into the first `size` bytes of `out` (fields beyond `size` are not written). */
export function encodeNetHdr(h: NetHdr, out: Uint8Array, size: NetHdrSize = 12): void {
  const v = view(out, size, 'encoding');
  v.setUint8(0, h.flags);
  v.setUint8(1, h.gsoType);
  v.setUint16(2, h.hdrLen, true);
  v.setUint16(4, h.gsoSize, true);
  v.setUint16(6, h.csumStart, true);
  v.setUint16(8, h.csumOffset, true);
  if (size >= 12) v.setUint16(10, h.numBuffers, true);
  if (size >= 20) {
    v.setUint32(12, h.hashValue, true);
    v.setUint16(16, h.hashReport, true);
    v.setUint16(18, 0, true);
  }
}

export function decodeNetHdr(bytes: Uint8Array, size: NetHdrSize = 12): NetHdr {
  const v = view(bytes, size, 'decoding');
  return {
    flags: v.getUint8(0),
    gsoType: v.getUint8(1),
    hdrLen: v.getUint16(2, true),
    gsoSize: v.getUint16(4, true),
    csumStart: v.getUint16(6, true),
    csumOffset: v.getUint16(8, true),
    numBuffers: size >= 12 ? v.getUint16(10, true) : 0,
    hashValue: size >= 20 ? v.getUint32(12, true) : 0,
    hashReport: size >= 20 ? v.getUint16(16, true) : 0,
  };
}

/** Names of the set flag bits; undefined bits show as bitN (a device must ignore them on TX, §5.1.6.2.2). */
export function netHdrFlagNames(flags: number): string[] {
  const names: string[] = [];
  for (let b = 0; b < 8; b++) {
    if (!(flags & (1 << b))) continue;
    const hit = Object.entries(NET_HDR_F).find(([, v]) => v === 1 << b);
    names.push(hit ? hit[0] : `bit${b}`);
  }
  return names;
}

/** e.g. "TCPV4", "TCPV6|ECN", "type9". */
export function gsoTypeName(gsoType: number): string {
  const base = gsoType & ~NET_HDR_GSO.ECN;
  const hit = Object.entries(NET_HDR_GSO).find(([k, v]) => k !== 'ECN' && v === base);
  const name = hit ? hit[0] : `type${base}`;
  return gsoType & NET_HDR_GSO.ECN ? `${name}|ECN` : name;
}

export function hashReportName(report: number): string {
  const hit = Object.entries(NET_HASH_REPORT).find(([, v]) => v === report);
  return hit ? hit[0] : `report${report}`;
}
