// Receive with VIRTIO_NET_F_MRG_RXBUF: one packet may span several used receive buffers; the
// first one's virtio-net header says how many (num_buffers, §5.1.6.4). The device makes them
// visible together — split: one used.idx update; packed: first buffer marked used last (§2.8.9) —
// so when the first is visible and the rest are not, that is a violation, not a wait.

import { decodeNetHdr, type NetHdr, type NetHdrSize } from '../net-header.ts';
import { RingViolation, type Used, type Virtqueue } from './types.ts';

export interface MergedPacket<T> {
  hdr: NetHdr;
  parts: Used<T>[];
  /** Sum of the parts' lengths: header + frame. */
  totalLen: number;
}

/**
 * Take the next received packet. `headerBytes` maps the first part to the bytes of its buffer
 * (at least `hdrSize`), e.g. via the token that names the buffer's GPA.
 */
export function takeMergeable<T>(q: Virtqueue<T>, headerBytes: (first: Used<T>) => Uint8Array, hdrSize: NetHdrSize = 12): MergedPacket<T> | null {
  const first = q.getUsed();
  if (!first) return null;
  if (first.len < hdrSize) {
    throw new RingViolation(`first receive buffer of a packet has len ${first.len}, shorter than the ${hdrSize}-byte virtio-net header`, '5.1.6.4.1');
  }
  const hdr = decodeNetHdr(headerBytes(first), hdrSize);
  if (hdr.numBuffers < 1) throw new RingViolation(`num_buffers is ${hdr.numBuffers}; a packet uses at least one buffer`, '5.1.6.4.1');
  const parts = [first];
  let totalLen = first.len;
  while (parts.length < hdr.numBuffers) {
    const u = q.getUsed();
    if (!u) {
      throw new RingViolation(`num_buffers is ${hdr.numBuffers} but only ${parts.length} used buffers are visible with the first`, '5.1.6.4.1');
    }
    parts.push(u);
    totalLen += u.len;
  }
  return { hdr, parts, totalLen };
}
