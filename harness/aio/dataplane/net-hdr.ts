// The virtio-net header on its way through the device (virtio v1.2-cs01 §5.1.6), 12 bytes with
// VERSION_1: flags u8, gso_type u8, hdr_len u16, gso_size u16, csum_start u16, csum_offset u16,
// num_buffers u16, all little-endian. The tap (IFF_VNET_HDR, TUNSETVNETHDRSZ 12) takes and gives
// the same layout, so the header passes through — but not blindly:
//  - TX: the device reads the guest's header into its own 12 bytes and sanitises them before the
//    tap sees them: undefined flag bits and the csum fields without NEEDS_CSUM are ignored
//    (§5.1.6.2.2), hdr_len is not trusted, and a GSO type the driver did not negotiate is refused.
//    The guest's buffer is never written (§2.7.5.1).
//  - RX: the tap leaves num_buffers untouched, so the device writes it (§5.1.6.4), and without
//    GUEST_CSUM the flags must be zero (§5.1.6.4.1), whatever the tap reported.
import { F, has } from '../../virtio/features.ts';

export const HDR_LEN = 12;
const NEEDS_CSUM = 1;
const GSO_NONE = 0;
const GSO_TCPV4 = 1;
const GSO_UDP = 3;
const GSO_TCPV6 = 4;
const GSO_ECN = 0x80;

/** The offload features a header is checked against, from the negotiated set. */
export interface HdrFeatures {
  csum: boolean;
  hostTso4: boolean;
  hostTso6: boolean;
  hostEcn: boolean;
  hostUfo: boolean;
  guestCsum: boolean;
  guestTso4: boolean;
  guestTso6: boolean;
  guestEcn: boolean;
  guestUfo: boolean;
  mrgRxbuf: boolean;
}

export function hdrFeatures(features: bigint): HdrFeatures {
  return {
    csum: has(features, F.NET_F_CSUM),
    hostTso4: has(features, F.NET_F_HOST_TSO4),
    hostTso6: has(features, F.NET_F_HOST_TSO6),
    hostEcn: has(features, F.NET_F_HOST_ECN),
    hostUfo: has(features, F.NET_F_HOST_UFO),
    guestCsum: has(features, F.NET_F_GUEST_CSUM),
    guestTso4: has(features, F.NET_F_GUEST_TSO4),
    guestTso6: has(features, F.NET_F_GUEST_TSO6),
    guestEcn: has(features, F.NET_F_GUEST_ECN),
    guestUfo: has(features, F.NET_F_GUEST_UFO),
    mrgRxbuf: has(features, F.NET_F_MRG_RXBUF),
  };
}

const u16 = (h: Uint8Array, o: number) => h[o] | (h[o + 1] << 8);
const setU16 = (h: Uint8Array, o: number, v: number) => {
  h[o] = v & 0xff;
  h[o + 1] = (v >> 8) & 0xff;
};

export type TxVerdict = 'ok' | 'gso-not-negotiated' | 'csum-not-negotiated';

/**
 * Sanitise a TX header in place (the device's own copy). `frameLen` is the frame after the
 * header. Returns why the frame must be dropped, or 'ok'.
 */
export function sanitizeTxHeader(h: Uint8Array, frameLen: number, f: HdrFeatures): TxVerdict {
  const needsCsum = (h[0] & NEEDS_CSUM) !== 0;
  if (needsCsum && !f.csum) return 'csum-not-negotiated'; // §5.1.6.2.1
  const gso = h[1] & ~GSO_ECN;
  const ecn = (h[1] & GSO_ECN) !== 0;
  if (ecn && gso === GSO_NONE) return 'gso-not-negotiated'; // the ECN bit qualifies a GSO type
  if (gso !== GSO_NONE) {
    const ok = (gso === GSO_TCPV4 && f.hostTso4) || (gso === GSO_TCPV6 && f.hostTso6) || (gso === GSO_UDP && f.hostUfo);
    if (!ok || (ecn && !f.hostEcn)) return 'gso-not-negotiated';
  }
  h[0] &= NEEDS_CSUM; // undefined bits are ignored (§5.1.6.2.2)
  if (gso === GSO_NONE) {
    // hdr_len is only a hint without GSO and must not be trusted (§5.1.6.2.2): the tap would
    // refuse a frame shorter than a bogus hdr_len.
    setU16(h, 2, 0);
    setU16(h, 4, 0);
  } else if (u16(h, 2) > frameLen) {
    setU16(h, 2, frameLen);
  }
  if (!needsCsum) {
    setU16(h, 6, 0);
    setU16(h, 8, 0);
  }
  setU16(h, 10, 0);
  return 'ok';
}

export type RxVerdict = 'ok' | 'partial-csum-not-negotiated' | 'gso-not-negotiated';

/** Fix an RX header read from the tap (in place): num_buffers, and flags per the features. */
export function fixRxHeader(h: Uint8Array, numBuffers: number, f: HdrFeatures): RxVerdict {
  const gso = h[1] & ~GSO_ECN;
  if (gso !== GSO_NONE || h[1] & GSO_ECN) {
    const ok = (gso === GSO_TCPV4 && f.guestTso4) || (gso === GSO_TCPV6 && f.guestTso6) || (gso === GSO_UDP && f.guestUfo);
    if (!ok || (h[1] & GSO_ECN && !f.guestEcn)) return 'gso-not-negotiated';
  }
  if (!f.guestCsum) {
    // A partial checksum cannot be handed to a driver that did not negotiate GUEST_CSUM.
    if (h[0] & NEEDS_CSUM) return 'partial-csum-not-negotiated';
    h[0] = 0; // §5.1.6.4.1: flags zero without GUEST_CSUM (the tap may say DATA_VALID)
  }
  setU16(h, 10, numBuffers);
  return 'ok';
}
