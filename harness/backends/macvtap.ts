// macvtap: a macvtap on the wire (bridge mode by default; vepa and passthru from
// config.macvtapMode), its /dev/tapN opened by the harness and passed to QEMU as fd(s);
// QEMU's userspace virtio-net moves the packets (vhost=off).
import fs from 'node:fs';
import type { HostCapabilities } from '../doctor/capabilities.ts';
import { withScope } from './instance.ts';
import { setupMacvtap } from './macvtap-device.ts';
import { tapNetdev, virtioNetDevice, vectorsFor } from './qemu-args.ts';
import { decide, guestRequirements, macvtap as macvtapReq } from './requirements.ts';
import { openVhostNet } from './vhost-net.ts';
import type { Backend, BackendContext, BackendInstance } from './types.ts';

export function macvtapRequirements(caps: HostCapabilities) {
  return [macvtapReq(caps), ...guestRequirements(caps, 'tap')];
}

/** QEMU arguments given the child's fds: the macvtap queues first, then the vhost-net fds. */
export function macvtapBackendArgs(o: { mac: string; queues: number; vhost: boolean; childFds: number[] }): string[] {
  return [
    ...tapNetdev(
      { kind: 'fds', fds: o.childFds.slice(0, o.queues) },
      { on: o.vhost, fds: o.vhost ? o.childFds.slice(o.queues, 2 * o.queues) : [] },
    ),
    ...virtioNetDevice({ mac: o.mac, queues: o.queues, vectors: vectorsFor(o.queues) }),
  ];
}

/** Shared with `macvtap-vhost`. fds passed: the macvtap queues first, then the vhost-net fds. */
export function setupMacvtapBackend(ctx: BackendContext, vhost: boolean): Promise<BackendInstance> {
  const queues = ctx.config.queues;
  return withScope(ctx, async (scope, defer) => {
    // vhost-net first: a host without it fails before anything is created.
    const vhostFds = vhost ? openVhostNet(queues) : [];
    defer(() => vhostFds.splice(0).forEach((fd) => fs.closeSync(fd)));
    const dev = await setupMacvtap(scope, ctx.topology, ctx.config.macvtapMode, queues);
    defer(() => dev.closeFds());
    return {
      net: {
        passFds: [...dev.fds, ...vhostFds],
        sharedMemory: false,
        args: (childFds) => macvtapBackendArgs({ mac: ctx.topology.guestMac, queues, vhost, childFds }),
      },
      processes: () => [],
      vhostWorkers: vhost,
      details: {
        macvtap: dev.name,
        ...(dev.netns ? { netns: dev.netns } : {}),
        mode: ctx.config.macvtapMode,
        ifindex: dev.ifindex,
        node: dev.node,
        nodeCreatedByUs: dev.createdNode,
        devnum: `${dev.devnum.major}:${dev.devnum.minor}`,
      },
    };
  });
}

export const macvtap: Backend = {
  name: 'macvtap',
  summary: 'macvtap on the wire (bridge/vepa/passthru), /dev/tapN fd passed to QEMU; userspace virtio-net',
  availability: (caps) => decide(macvtapRequirements(caps)),
  setup: (ctx) => setupMacvtapBackend(ctx, false),
};
