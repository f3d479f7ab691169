// Feature negotiation rules a virtio-net device enforces when the driver sets FEATURES_OK
// (§2.2.2, §3.1.1): the accepted set must be a subset of what was offered, and every feature
// needs its prerequisites (§5.1.3.1). The reference device is modern-only, so VERSION_1 is
// required as well (§6.1: a device MAY refuse to work without it).

import { F, bit, featureNames, has } from '../features.ts';

/** Each feature with the features one of which it requires (§5.1.3.1). */
export const NET_FEATURE_REQUIRES: ReadonlyArray<{ feature: number; anyOf: readonly number[] }> = [
  { feature: F.NET_F_GUEST_TSO4, anyOf: [F.NET_F_GUEST_CSUM] },
  { feature: F.NET_F_GUEST_TSO6, anyOf: [F.NET_F_GUEST_CSUM] },
  { feature: F.NET_F_GUEST_ECN, anyOf: [F.NET_F_GUEST_TSO4, F.NET_F_GUEST_TSO6] },
  { feature: F.NET_F_GUEST_UFO, anyOf: [F.NET_F_GUEST_CSUM] },
  { feature: F.NET_F_GUEST_USO4, anyOf: [F.NET_F_GUEST_CSUM] },
  { feature: F.NET_F_GUEST_USO6, anyOf: [F.NET_F_GUEST_CSUM] },
  { feature: F.NET_F_HOST_TSO4, anyOf: [F.NET_F_CSUM] },
  { feature: F.NET_F_HOST_TSO6, anyOf: [F.NET_F_CSUM] },
  { feature: F.NET_F_HOST_ECN, anyOf: [F.NET_F_HOST_TSO4, F.NET_F_HOST_TSO6] },
  { feature: F.NET_F_HOST_UFO, anyOf: [F.NET_F_CSUM] },
  { feature: F.NET_F_HOST_USO, anyOf: [F.NET_F_CSUM] },
  { feature: F.NET_F_CTRL_RX, anyOf: [F.NET_F_CTRL_VQ] },
  { feature: F.NET_F_CTRL_VLAN, anyOf: [F.NET_F_CTRL_VQ] },
  { feature: F.NET_F_GUEST_ANNOUNCE, anyOf: [F.NET_F_CTRL_VQ] },
  { feature: F.NET_F_MQ, anyOf: [F.NET_F_CTRL_VQ] },
  { feature: F.NET_F_CTRL_MAC_ADDR, anyOf: [F.NET_F_CTRL_VQ] },
  { feature: F.NET_F_RSS, anyOf: [F.NET_F_CTRL_VQ] },
  { feature: F.NET_F_RSC_EXT, anyOf: [F.NET_F_HOST_TSO4, F.NET_F_HOST_TSO6] },
];

/** Why a driver's feature set cannot be accepted, or undefined when it can. */
export function rejectFeatures(offered: bigint, accepted: bigint): string | undefined {
  const extra = accepted & ~offered;
  if (extra) return `features not offered: ${featureNames(extra).join(', ')}`;
  if (!has(accepted, F.F_VERSION_1)) return 'VIRTIO_F_VERSION_1 not accepted (this device has no legacy interface)';
  for (const rule of NET_FEATURE_REQUIRES) {
    if (has(accepted, rule.feature) && !rule.anyOf.some((b) => has(accepted, b))) {
      const need = rule.anyOf.map((b) => featureNames(bit(b))[0]).join(' or ');
      return `${featureNames(bit(rule.feature))[0]} requires ${need}`;
    }
  }
  return undefined;
}
