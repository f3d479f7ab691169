// copy: a tap bridged to the wire and QEMU's userspace virtio-net (vhost=off): every packet is
// copied by QEMU's main loop between guest memory and the tap.
import fs from 'node:fs';
import type { HostCapabilities } from '../doctor/capabilities.ts';
import { withScope } from './instance.ts';
import { tapNetdev, virtioNetDevice, vectorsFor } from './qemu-args.ts';
import { decide, guestRequirements, tapBridge } from './requirements.ts';
import { setupTapBridge } from './tap-bridge.ts';
import { openVhostNet } from './vhost-net.ts';
import type { Backend, BackendContext, BackendInstance } from './types.ts';

export function tapRequirements(caps: HostCapabilities) {
  return [...tapBridge(caps), ...guestRequirements(caps, 'tap')];
}

/** QEMU arguments of the tap backends, given the child's vhost fd (if any). */
export function tapBackendArgs(o: { tap: string; mac: string; queues: number; vhost: boolean; vhostFds: number[] }): string[] {
  return [
    ...tapNetdev({ kind: 'ifname', ifname: o.tap, queues: o.queues }, { on: o.vhost, fds: o.vhostFds }),
    ...virtioNetDevice({ mac: o.mac, queues: o.queues, vectors: vectorsFor(o.queues) }),
  ];
}

/** Shared with `vhost`: the same tap and bridge, vhost on or off. */
export function setupTapBackend(ctx: BackendContext, vhost: boolean): Promise<BackendInstance> {
  const queues = ctx.config.queues;
  return withScope(ctx, async (scope, defer) => {
    // Opened first, so a host without vhost-net fails before anything is created. One queue
    // pair: QEMU gets our fd. Several: QEMU 7.2 takes vhostfds= only with fds=, so with ifname=
    // it opens /dev/vhost-net itself (vhost=on alone); the probe open still checks it works.
    const vhostFds = vhost ? openVhostNet(1) : [];
    if (queues > 1) vhostFds.splice(0).forEach((fd) => fs.closeSync(fd));
    defer(() => vhostFds.splice(0).forEach((fd) => fs.closeSync(fd)));
    const tb = await setupTapBridge(scope, ctx.topology, queues, vhost ? 'vhost' : 'copy');
    const mac = ctx.topology.guestMac;
    return {
      net: {
        passFds: [...vhostFds],
        sharedMemory: false,
        args: (childFds) => tapBackendArgs({ tap: tb.tap, mac, queues, vhost, vhostFds: childFds.slice(0, vhostFds.length) }),
      },
      processes: () => [],
      vhostWorkers: vhost,
      details: { tap: tb.tap, bridge: tb.bridge, ...(tb.netns ? { netns: tb.netns } : {}), multiQueue: queues > 1 },
    };
  });
}

export const copy: Backend = {
  name: 'copy',
  summary: 'tap bridged to the wire; QEMU userspace virtio-net (vhost=off)',
  availability: (caps) => decide(tapRequirements(caps)),
  setup: (ctx) => setupTapBackend(ctx, false),
};
