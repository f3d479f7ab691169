// Parsers for what QEMU's monitor prints while a stall is diagnosed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featureNames, parseXpHalfwords } from '../../../harness/guest/virtio-state.ts';

test('xp /Nhx output: every halfword, across lines, CRLF or LF', () => {
  assert.deepEqual(parseXpHalfwords('000000007ffd1000: 0x0001 0xce5d\r\n'), [1, 0xce5d]);
  assert.deepEqual(parseXpHalfwords('0000000000001000: 0x0000 0x0001 0x0002 0x0003 0x0004 0x0005 0x0006 0x0007\n0000000000001010: 0xffff\n'), [0, 1, 2, 3, 4, 5, 6, 7, 0xffff]);
  assert.deepEqual(parseXpHalfwords('Cannot access memory\r\n'), []);
});

test('feature names are the part before the colon, transports and device features together', () => {
  const status = {
    'guest-features': {
      transports: ['VIRTIO_RING_F_EVENT_IDX: Used & avail. event fields enabled', 'VIRTIO_F_VERSION_1: Device compliant for v1 spec (legacy)'],
      'dev-features': ['VIRTIO_NET_F_MRG_RXBUF: Driver can merge receive buffers'],
    },
  };
  assert.deepEqual(featureNames(status), ['VIRTIO_RING_F_EVENT_IDX', 'VIRTIO_F_VERSION_1', 'VIRTIO_NET_F_MRG_RXBUF']);
  assert.deepEqual(featureNames({}), []);
});
