// What the aio-tap device offers, from what the tap accepts (TUNSETOFFLOAD).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { offeredFeatures, tunOffloadsFor, OFFERED_PROTOCOL } from '../../../harness/aio/features.ts';
import { TUN_F_UFO } from '../../../harness/aio/port.ts';
import { F, has } from '../../../harness/virtio/features.ts';
import { rejectFeatures } from '../../../harness/virtio/device/net-features.ts';
import { TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN } from '../../../harness/sys/tun.ts';
import { protocolFeatureNames } from '../../../harness/vhost/vhost-user-codec.ts';

const FULL = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO;

test('a tap taking every offload: every guest and host offload, mergeable buffers, event idx, packed rings', () => {
  const f = offeredFeatures(FULL);
  for (const b of [F.F_VERSION_1, F.NET_F_MRG_RXBUF, F.F_EVENT_IDX, F.F_INDIRECT_DESC, F.F_RING_PACKED, F.NET_F_CSUM, F.NET_F_GUEST_CSUM, F.NET_F_GUEST_TSO4, F.NET_F_GUEST_TSO6, F.NET_F_GUEST_ECN, F.NET_F_GUEST_UFO, F.NET_F_HOST_TSO4, F.NET_F_HOST_TSO6, F.NET_F_HOST_ECN, F.NET_F_HOST_UFO, F.VHOST_USER_F_PROTOCOL_FEATURES]) {
    assert.ok(has(f, b), `bit ${b} offered`);
  }
  // Features of the front-end (control queue, config space) are never offered (F1: no prerequisite missing).
  for (const b of [F.NET_F_MQ, F.NET_F_CTRL_VQ, F.NET_F_MTU, F.NET_F_STATUS, F.NET_F_MAC, F.F_IN_ORDER]) assert.ok(!has(f, b), `bit ${b} not offered`);
  assert.equal(rejectFeatures(f, f), undefined, 'the offered set itself satisfies every prerequisite (§5.1.3.1)');
});

test('a tap without offloads towards the reader: no GUEST_* features, HOST_* still (the tap takes them from a writer)', () => {
  const f = offeredFeatures(0);
  assert.ok(!has(f, F.NET_F_GUEST_CSUM) && !has(f, F.NET_F_GUEST_TSO4) && !has(f, F.NET_F_GUEST_UFO));
  assert.ok(has(f, F.NET_F_CSUM) && has(f, F.NET_F_HOST_TSO4));
  assert.ok(!has(f, F.NET_F_HOST_UFO), 'HOST_UFO only where the tap knows UFO, as QEMU decides');
  assert.equal(rejectFeatures(f, f), undefined);
});

test('TUN_F_* follow the negotiated GUEST_* features exactly', () => {
  const bit = (b: number) => 1n << BigInt(b);
  assert.equal(tunOffloadsFor(bit(F.F_VERSION_1)), 0);
  assert.equal(tunOffloadsFor(bit(F.NET_F_GUEST_TSO4)), 0, 'no TSO without GUEST_CSUM');
  assert.equal(tunOffloadsFor(bit(F.NET_F_GUEST_CSUM) | bit(F.NET_F_GUEST_TSO6)), TUN_F_CSUM | TUN_F_TSO6);
  assert.equal(tunOffloadsFor(offeredFeatures(FULL)), FULL);
});

test('protocol features: MQ, REPLY_ACK, RESET_DEVICE, STATUS', () => {
  assert.deepEqual(protocolFeatureNames(OFFERED_PROTOCOL), ['MQ', 'REPLY_ACK', 'RESET_DEVICE', 'STATUS']);
});
