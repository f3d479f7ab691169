// What the device offers: the ring features the device queues implement, mergeable RX buffers,
// the host offloads a tap always takes from a writer with IFF_VNET_HDR (checksum, TSO, ECN), and
// the guest offloads the tap can deliver (what TUNSETOFFLOAD accepted). Features that need the
// control queue or config space (MQ, MTU, STATUS, MAC, CTRL_*) belong to the front-end: the
// number of queue pairs travels as the vhost-user protocol feature MQ + GET_QUEUE_NUM instead.
import { F, bit, featureSet, has } from '../virtio/features.ts';
import { ProtocolFeature } from '../vhost/vhost-user-codec.ts';
import { TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN } from '../sys/tun.ts';
import { TUN_F_UFO } from './port.ts';

const BASE = featureSet(
  F.F_VERSION_1,
  F.F_INDIRECT_DESC,
  F.F_EVENT_IDX,
  F.F_RING_PACKED,
  F.NET_F_MRG_RXBUF,
  F.VHOST_USER_F_PROTOCOL_FEATURES,
  F.NET_F_CSUM,
  F.NET_F_HOST_TSO4,
  F.NET_F_HOST_TSO6,
  F.NET_F_HOST_ECN,
);

export function offeredFeatures(tunOffloads: number): bigint {
  let f = BASE;
  if (tunOffloads & TUN_F_UFO) f |= bit(F.NET_F_HOST_UFO);
  if (tunOffloads & TUN_F_CSUM) {
    f |= bit(F.NET_F_GUEST_CSUM);
    if (tunOffloads & TUN_F_TSO4) f |= bit(F.NET_F_GUEST_TSO4);
    if (tunOffloads & TUN_F_TSO6) f |= bit(F.NET_F_GUEST_TSO6);
    if (tunOffloads & TUN_F_TSO_ECN && tunOffloads & (TUN_F_TSO4 | TUN_F_TSO6)) f |= bit(F.NET_F_GUEST_ECN);
    if (tunOffloads & TUN_F_UFO) f |= bit(F.NET_F_GUEST_UFO);
  }
  return f;
}

/** TUN_F_* for the negotiated features: what the guest can receive. */
export function tunOffloadsFor(features: bigint): number {
  if (!has(features, F.NET_F_GUEST_CSUM)) return 0;
  let t = TUN_F_CSUM;
  if (has(features, F.NET_F_GUEST_TSO4)) t |= TUN_F_TSO4;
  if (has(features, F.NET_F_GUEST_TSO6)) t |= TUN_F_TSO6;
  if (has(features, F.NET_F_GUEST_ECN)) t |= TUN_F_TSO_ECN;
  if (has(features, F.NET_F_GUEST_UFO)) t |= TUN_F_UFO;
  return t;
}

/** vhost-user protocol features: queue pairs, acks, reset and the status byte. */
export const OFFERED_PROTOCOL = featureSet(ProtocolFeature.MQ, ProtocolFeature.REPLY_ACK, ProtocolFeature.RESET_DEVICE, ProtocolFeature.STATUS);
