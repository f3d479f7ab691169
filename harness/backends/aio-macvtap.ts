// aio-macvtap: the aio-tap vhost-user device on a macvtap on the wire (config.macvtapMode)
// instead of a bridged tap. The harness makes the macvtap and its device node; the device
// process opens the node itself, once per queue pair (each open is a macvtap queue, so the
// harness closes its own fds first: an open fd nobody reads would take a share of the packets).
import { withScope } from './instance.ts';
import { setupMacvtap } from './macvtap-device.ts';
import { accel, decide, macvtap as macvtapReq, netns, qemuNetdev, root, veth } from './requirements.ts';
import { aioEngine, startAioBackend } from './aio-tap.ts';
import type { Backend, BackendContext, BackendInstance } from './types.ts';

async function setup(ctx: BackendContext): Promise<BackendInstance> {
  return withScope(ctx, async (scope, defer) => {
    const dev = await setupMacvtap(scope, ctx.topology, ctx.config.macvtapMode, ctx.config.queues);
    dev.closeFds();
    const parts = await startAioBackend(ctx, scope, defer, { kind: 'macvtap', name: dev.name, node: dev.node });
    return { ...parts, details: { ...parts.details, mode: ctx.config.macvtapMode, node: dev.node, ...(dev.netns ? { netns: dev.netns } : {}) } };
  });
}

export const aioMacvtap: Backend = {
  name: 'aio-macvtap',
  summary: 'vnetbench vhost-user device on a macvtap (bridge/vepa/passthru) with batched io_uring / Linux AIO',
  availability: (caps) => decide([aioEngine(caps), macvtapReq(caps), root(caps), netns(caps), veth(caps), qemuNetdev(caps, 'vhost-user'), accel(caps)]),
  setup,
};
