// macvtap-vhost: the macvtap backend with the data path in the kernel's vhost-net worker
// (vhost=on, /dev/vhost-net fds opened by the harness and passed as vhostfd(s)=).
import type { Backend } from './types.ts';
import { macvtapRequirements, setupMacvtapBackend } from './macvtap.ts';
import { decide, vhostNet } from './requirements.ts';

export const macvtapVhost: Backend = {
  name: 'macvtap-vhost',
  summary: 'macvtap on the wire, fds passed to QEMU; kernel vhost-net data path (vhost=on)',
  availability: (caps) => decide([vhostNet(caps), ...macvtapRequirements(caps)]),
  setup: (ctx) => setupMacvtapBackend(ctx, true),
};
