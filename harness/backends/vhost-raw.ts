// vhost-raw: vhost-net with an AF_PACKET raw socket as its backend (the original vhost-net
// design: VHOST_NET_SET_BACKEND accepts a tap fd or a packet socket). QEMU cannot drive it:
// the only way QEMU hands vhost-net a backend fd is `-netdev tap`, whose fd= must be a tap.
// Measured here with QEMU 7.2.22 and a packet socket passed as fd 3:
//   -netdev tap,id=n0,fd=3: Unable to query TUNGETIFF on FD 3: Inappropriate ioctl for device
// and hw/net/vhost_net.c (vhost_net_get_fd) accepts only NET_CLIENT_DRIVER_TAP ("vhost-net
// requires tap backend"). Running it would need our own vhost-user device that forwards the
// rings to /dev/vhost-net with a packet socket: out of scope, so it is never runnable.
import { CapabilityError } from '../core/errors.ts';
import type { HostCapabilities } from '../doctor/capabilities.ts';
import { afPacket, decide, guestRequirements, vhostNet, type Requirement } from './requirements.ts';
import type { Availability, Backend } from './types.ts';

/** The requirement no host meets: listed first, since it decides whatever else the host has. */
const QEMU_PACKET_BACKEND: Requirement = {
  ok: false,
  name: 'QEMU passing vhost-net a packet socket',
  missing: 'QEMU cannot give vhost-net an AF_PACKET socket',
  evidence:
    '-netdev tap,fd= must be a tap ' +
    '("Unable to query TUNGETIFF on FD 3: Inappropriate ioctl for device" with QEMU 7.2) and ' +
    'QEMU\'s vhost-net takes only a tap backend ("vhost-net requires tap backend", hw/net/vhost_net.c)',
  fix: 'none in QEMU: it needs a vhost-user device that forwards to /dev/vhost-net with a packet socket backend (not part of vnetbench)',
};

export const VHOST_RAW_REASON = `${QEMU_PACKET_BACKEND.missing}: ${QEMU_PACKET_BACKEND.evidence}`;
export const VHOST_RAW_FIX = QEMU_PACKET_BACKEND.fix;

export function vhostRawAvailability(caps: HostCapabilities): Availability {
  return decide([QEMU_PACKET_BACKEND, vhostNet(caps), afPacket(caps), ...guestRequirements(caps, 'tap')]);
}

export const vhostRaw: Backend = {
  name: 'vhost-raw',
  summary: 'vhost-net over an AF_PACKET raw socket (not drivable from QEMU; always skipped)',
  availability: vhostRawAvailability,
  async setup() {
    throw new CapabilityError(`backend vhost-raw cannot run: ${VHOST_RAW_REASON}`, VHOST_RAW_FIX);
  },
};
