// vhost-raw: vhost-net with an AF_PACKET raw socket as its backend (the original vhost-net
// design: VHOST_NET_SET_BACKEND accepts a tap fd or a packet socket). QEMU cannot drive it:
// the only way QEMU hands vhost-net a backend fd is `-netdev tap`, whose fd= must be a tap.
// Measured here with QEMU 7.2.22 and a packet socket passed as fd 3:
//   -netdev tap,id=n0,fd=3: Unable to query TUNGETIFF on FD 3: Inappropriate ioctl for device
// and hw/net/vhost_net.c (vhost_net_get_fd) accepts only NET_CLIENT_DRIVER_TAP ("vhost-net
// requires tap backend"). Running it would need our own vhost-user device that forwards the
// rings to /dev/vhost-net with a packet socket: out of scope, so it is never runnable.
import { CapabilityError } from '../core/errors.ts';
import { decide, vhostNet } from './requirements.ts';
import type { Availability, Backend } from './types.ts';

export const VHOST_RAW_REASON =
  'QEMU cannot give vhost-net an AF_PACKET socket: -netdev tap,fd= must be a tap ' +
  '("Unable to query TUNGETIFF on FD 3: Inappropriate ioctl for device" with QEMU 7.2) and ' +
  'QEMU\'s vhost-net takes only a tap backend ("vhost-net requires tap backend", hw/net/vhost_net.c)';

export const VHOST_RAW_FIX =
  'none in QEMU: it needs a vhost-user device that forwards to /dev/vhost-net with a packet socket backend (not part of vnetbench)';

export function vhostRawAvailability(caps: Parameters<Backend['availability']>[0]): Availability {
  const host = decide([vhostNet(caps)]);
  return {
    runnable: false,
    reason: host.runnable ? VHOST_RAW_REASON : `${VHOST_RAW_REASON}; ${host.reason}`,
    fix: host.runnable ? VHOST_RAW_FIX : `${VHOST_RAW_FIX}; ${host.fix}`,
  };
}

export const vhostRaw: Backend = {
  name: 'vhost-raw',
  summary: 'vhost-net over an AF_PACKET raw socket (not drivable from QEMU; always skipped)',
  availability: vhostRawAvailability,
  async setup() {
    throw new CapabilityError(`backend vhost-raw cannot run: ${VHOST_RAW_REASON}`, VHOST_RAW_FIX);
  },
};
