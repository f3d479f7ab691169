// Feature bits with names (virtio v1.2-cs01 §6 reserved bits, §5.1.3 net device bits, plus the
// vhost-only bits that a vhost backend may advertise). Features are bigint bitmaps.

export const F = {
  // virtio-net device features (§5.1.3)
  NET_F_CSUM: 0,
  NET_F_GUEST_CSUM: 1,
  NET_F_CTRL_GUEST_OFFLOADS: 2,
  NET_F_MTU: 3,
  NET_F_MAC: 5,
  NET_F_GUEST_TSO4: 7,
  NET_F_GUEST_TSO6: 8,
  NET_F_GUEST_ECN: 9,
  NET_F_GUEST_UFO: 10,
  NET_F_HOST_TSO4: 11,
  NET_F_HOST_TSO6: 12,
  NET_F_HOST_ECN: 13,
  NET_F_HOST_UFO: 14,
  NET_F_MRG_RXBUF: 15,
  NET_F_STATUS: 16,
  NET_F_CTRL_VQ: 17,
  NET_F_CTRL_RX: 18,
  NET_F_CTRL_VLAN: 19,
  NET_F_CTRL_RX_EXTRA: 20,
  NET_F_GUEST_ANNOUNCE: 21,
  NET_F_MQ: 22,
  NET_F_CTRL_MAC_ADDR: 23,
  // vhost-specific (not virtio): log, VHOST_NET_F_VIRTIO_NET_HDR, protocol features
  VHOST_F_LOG_ALL: 26,
  VHOST_NET_F_VIRTIO_NET_HDR: 27,
  // reserved/transport bits (§6)
  F_NOTIFY_ON_EMPTY: 24,
  F_ANY_LAYOUT: 27,
  F_INDIRECT_DESC: 28,
  F_EVENT_IDX: 29,
  VHOST_USER_F_PROTOCOL_FEATURES: 30,
  F_VERSION_1: 32,
  F_ACCESS_PLATFORM: 33,
  F_RING_PACKED: 34,
  F_IN_ORDER: 35,
  F_ORDER_PLATFORM: 36,
  F_SR_IOV: 37,
  F_NOTIFICATION_DATA: 38,
  F_NOTIF_CONFIG_DATA: 39,
  F_RING_RESET: 40,
  NET_F_GUEST_USO4: 54,
  NET_F_GUEST_USO6: 55,
  NET_F_HOST_USO: 56,
  NET_F_HASH_REPORT: 57,
  NET_F_GUEST_HDRLEN: 59,
  NET_F_RSS: 60,
  NET_F_RSC_EXT: 61,
  NET_F_STANDBY: 62,
  NET_F_SPEED_DUPLEX: 63,
} as const;

export type FeatureName = keyof typeof F;

export function bit(b: number): bigint {
  return 1n << BigInt(b);
}

export function has(features: bigint, b: number): boolean {
  return (features & bit(b)) !== 0n;
}

export function featureSet(...bits: number[]): bigint {
  return bits.reduce((acc, b) => acc | bit(b), 0n);
}

/** Names of the set bits; bits 27 and similar carry both a vhost and a virtio meaning. */
export function featureNames(features: bigint): string[] {
  const names: string[] = [];
  for (let b = 0; b < 64; b++) {
    if (!has(features, b)) continue;
    const matches = Object.entries(F)
      .filter(([, v]) => v === b)
      .map(([k]) => k);
    names.push(matches.length ? matches.join('|') : `bit${b}`);
  }
  return names;
}
