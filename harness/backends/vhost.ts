// vhost: the copy backend's tap and bridge, with the data path in the kernel's vhost-net worker
// (vhost=on): needs /dev/vhost-net.
import type { Backend } from './types.ts';
import { setupTapBackend, tapRequirements } from './copy.ts';
import { decide, vhostNet } from './requirements.ts';

export const vhost: Backend = {
  name: 'vhost',
  summary: 'tap bridged to the wire; kernel vhost-net data path (vhost=on)',
  availability: (caps) => decide([vhostNet(caps), ...tapRequirements(caps)]),
  setup: (ctx) => setupTapBackend(ctx, true),
};
