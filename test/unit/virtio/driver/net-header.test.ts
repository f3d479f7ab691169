import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, featureSet } from '../../../../harness/virtio/features.ts';
import {
  NET_HDR_F,
  NET_HDR_GSO,
  decodeNetHdr,
  emptyNetHdr,
  encodeNetHdr,
  gsoTypeName,
  hashReportName,
  netHdrFlagNames,
  netHdrSize,
} from '../../../../harness/virtio/net-header.ts';

test('header size follows VERSION_1 / MRG_RXBUF / HASH_REPORT (§5.1.6)', () => {
  assert.equal(netHdrSize(0n), 10);
  assert.equal(netHdrSize(featureSet(F.NET_F_MRG_RXBUF)), 12);
  assert.equal(netHdrSize(featureSet(F.F_VERSION_1)), 12);
  assert.equal(netHdrSize(featureSet(F.F_VERSION_1, F.NET_F_HASH_REPORT)), 20);
});

test('encode lays fields out little-endian at the spec offsets', () => {
  const h = { ...emptyNetHdr(), flags: NET_HDR_F.NEEDS_CSUM, gsoType: NET_HDR_GSO.TCPV4 | NET_HDR_GSO.ECN, hdrLen: 0x0136, gsoSize: 1448, csumStart: 34, csumOffset: 16, numBuffers: 3 };
  const out = new Uint8Array(12);
  encodeNetHdr(h, out);
  assert.deepEqual([...out], [0x01, 0x81, 0x36, 0x01, 0xa8, 0x05, 34, 0, 16, 0, 3, 0]);
  assert.deepEqual(decodeNetHdr(out), { ...h, hashValue: 0, hashReport: 0 });
});

test('10-byte legacy header has no num_buffers; 20-byte header carries the hash', () => {
  const ten = new Uint8Array(12).fill(0xee);
  encodeNetHdr({ ...emptyNetHdr(), numBuffers: 9 }, ten, 10);
  assert.deepEqual([...ten.subarray(10)], [0xee, 0xee], 'bytes past 10 untouched');
  assert.equal(decodeNetHdr(ten, 10).numBuffers, 0);
  const twenty = new Uint8Array(20);
  encodeNetHdr({ ...emptyNetHdr(), numBuffers: 1, hashValue: 0xdeadbeef, hashReport: 2 }, twenty, 20);
  const d = decodeNetHdr(twenty, 20);
  assert.equal(d.hashValue, 0xdeadbeef);
  assert.equal(hashReportName(d.hashReport), 'TCPv4');
});

test('decoding reads a header inside a larger buffer view and rejects short input', () => {
  const frame = new Uint8Array(64);
  frame.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0], 20);
  assert.equal(decodeNetHdr(frame.subarray(20)).numBuffers, 2);
  assert.throws(() => decodeNetHdr(new Uint8Array(11)), /needs 12 bytes, got 11/);
});

test('names for flags and GSO types, unknown bits named by number', () => {
  assert.deepEqual(netHdrFlagNames(NET_HDR_F.NEEDS_CSUM | NET_HDR_F.DATA_VALID | 0x40), ['NEEDS_CSUM', 'DATA_VALID', 'bit6']);
  assert.equal(gsoTypeName(NET_HDR_GSO.NONE), 'NONE');
  assert.equal(gsoTypeName(NET_HDR_GSO.TCPV6 | NET_HDR_GSO.ECN), 'TCPV6|ECN');
  assert.equal(gsoTypeName(NET_HDR_GSO.UDP_L4), 'UDP_L4');
  assert.equal(gsoTypeName(9), 'type9');
});
