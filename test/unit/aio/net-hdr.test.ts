// The virtio-net header rules of the aio-tap data plane (virtio v1.2-cs01 §5.1.6): TX headers
// are sanitised in the device's own copy, RX headers get num_buffers and legal flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixRxHeader, hdrFeatures, sanitizeTxHeader } from '../../../harness/aio/dataplane/net-hdr.ts';
import { F, featureSet } from '../../../harness/virtio/features.ts';
import { decodeNetHdr, emptyNetHdr, encodeNetHdr, type NetHdr } from '../../../harness/virtio/net-header.ts';

const hdr = (h: Partial<NetHdr>) => {
  const b = new Uint8Array(12);
  encodeNetHdr({ ...emptyNetHdr(), ...h }, b);
  return b;
};
const ALL_HOST = hdrFeatures(featureSet(F.F_VERSION_1, F.NET_F_CSUM, F.NET_F_HOST_TSO4, F.NET_F_HOST_TSO6, F.NET_F_HOST_ECN, F.NET_F_HOST_UFO));
const NONE = hdrFeatures(featureSet(F.F_VERSION_1));

test('TX: undefined flag bits, csum fields without NEEDS_CSUM and a bogus hdr_len are dropped (§5.1.6.2.2, H9/H10)', () => {
  const h = hdr({ flags: 0xfe, gsoType: 0, hdrLen: 9000, gsoSize: 77, csumStart: 5, csumOffset: 6, numBuffers: 3 });
  assert.equal(sanitizeTxHeader(h, 100, NONE), 'ok');
  assert.deepEqual(decodeNetHdr(h), { ...emptyNetHdr() });
});

test('TX: NEEDS_CSUM keeps csum_start/offset when CSUM was negotiated, and is refused when it was not', () => {
  const h = hdr({ flags: 1, csumStart: 34, csumOffset: 16, hdrLen: 54 });
  assert.equal(sanitizeTxHeader(h, 100, ALL_HOST), 'ok');
  assert.deepEqual(decodeNetHdr(h), { ...emptyNetHdr(), flags: 1, csumStart: 34, csumOffset: 16 });
  assert.equal(sanitizeTxHeader(hdr({ flags: 1 }), 100, NONE), 'csum-not-negotiated');
});

test('TX: a GSO type needs its HOST_* feature; hdr_len is clamped to the frame', () => {
  const tso = hdr({ flags: 1, gsoType: 1, gsoSize: 1448, hdrLen: 5000, csumStart: 34, csumOffset: 16 });
  assert.equal(sanitizeTxHeader(tso, 3000, ALL_HOST), 'ok');
  assert.equal(decodeNetHdr(tso).hdrLen, 3000);
  assert.equal(decodeNetHdr(tso).gsoSize, 1448);
  assert.equal(sanitizeTxHeader(hdr({ gsoType: 1 }), 3000, NONE), 'gso-not-negotiated');
  assert.equal(sanitizeTxHeader(hdr({ flags: 1, gsoType: 1 }), 3000, NONE), 'csum-not-negotiated');
  assert.equal(sanitizeTxHeader(hdr({ flags: 1, gsoType: 4 | 0x80 }), 3000, hdrFeatures(featureSet(F.NET_F_CSUM, F.NET_F_HOST_TSO6))), 'gso-not-negotiated', 'ECN needs HOST_ECN');
  assert.equal(sanitizeTxHeader(hdr({ gsoType: 0x80 }), 3000, ALL_HOST), 'gso-not-negotiated', 'ECN bit without a GSO type');
  assert.equal(sanitizeTxHeader(hdr({ flags: 1, gsoType: 5 }), 3000, ALL_HOST), 'gso-not-negotiated', 'UDP_L4 (USO) is never offered');
});

test('RX: num_buffers is written; without GUEST_CSUM the flags become 0 (§5.1.6.4.1, H1/H5)', () => {
  const h = hdr({ flags: 2, numBuffers: 0xa5a5 });
  assert.equal(fixRxHeader(h, 3, NONE), 'ok');
  assert.equal(decodeNetHdr(h).numBuffers, 3);
  assert.equal(decodeNetHdr(h).flags, 0, 'DATA_VALID from the tap is not passed to a driver without GUEST_CSUM');
  const withCsum = hdr({ flags: 2 });
  fixRxHeader(withCsum, 1, hdrFeatures(featureSet(F.NET_F_GUEST_CSUM)));
  assert.equal(decodeNetHdr(withCsum).flags, 2);
});

test('RX: a partial checksum or a GSO type the driver did not negotiate is not delivered (H5/H6)', () => {
  assert.equal(fixRxHeader(hdr({ flags: 1 }), 1, NONE), 'partial-csum-not-negotiated');
  assert.equal(fixRxHeader(hdr({ flags: 1, gsoType: 1 }), 1, hdrFeatures(featureSet(F.NET_F_GUEST_CSUM))), 'gso-not-negotiated');
  assert.equal(fixRxHeader(hdr({ flags: 1, gsoType: 1 }), 1, hdrFeatures(featureSet(F.NET_F_GUEST_CSUM, F.NET_F_GUEST_TSO4))), 'ok');
});
