// aio-tap: our vhost-user device (harness/aio) doing batched asynchronous I/O between guest
// memory and a tap bridged to the wire, as the copy backend's tap is. The device runs as its own
// process in the guest-side namespace; QEMU connects to its socket with -netdev vhost-user over a
// shared memfd memory backend (vectors=0 under TCG, see qemu-args.ts). Its threads are the
// 'backend' CPU class.
import path from 'node:path';
import type { HostCapabilities } from '../doctor/capabilities.ts';
import { startAioProcess } from '../aio/launch.ts';
import type { AioOptions } from '../aio/options.ts';
import { withScope } from './instance.ts';
import { accel, bridge, decide, netns, qemuNetdev, root, tun, veth, type Requirement } from './requirements.ts';
import { setupTapBridge } from './tap-bridge.ts';
import { vhostUserBackendArgs } from './vhost-user.ts';
import type { Backend, BackendContext, BackendInstance } from './types.ts';

/** io_uring or Linux AIO: at least one engine must work here (the run config picks which). */
export function aioEngine(caps: HostCapabilities): Requirement {
  const ok = caps.ioUring.ok || caps.linuxAio.ok;
  return {
    ok,
    name: caps.ioUring.ok ? 'io_uring' : 'Linux AIO',
    missing: 'neither io_uring nor Linux AIO works',
    evidence: `${caps.ioUring.evidence}; ${caps.linuxAio.evidence}`,
    fix: 'allow io_uring (sysctl kernel.io_uring_disabled=0, install liburing2) or Linux AIO (fs.aio-max-nr, libaio1)',
  };
}

export function aioSocketPath(workDir: string, id: string): string {
  const p = path.join(workDir, `vnb-${id}-aio.sock`);
  return Buffer.byteLength(p) <= 107 ? p : path.join('/tmp', `vnb-${id}-aio.sock`);
}

/** Shared with aio-macvtap: start the device on `device`, hand QEMU the vhost-user arguments. */
export async function startAioBackend(
  ctx: BackendContext,
  scope: Parameters<Parameters<typeof withScope>[1]>[0],
  defer: Parameters<Parameters<typeof withScope>[1]>[1],
  device: AioOptions['device'],
): Promise<Omit<BackendInstance, 'close'>> {
  const { topology: topo, config } = ctx;
  const engine = config.aio.engine;
  const socket = aioSocketPath(ctx.workDir, topo.id);
  const logFile = path.join(ctx.workDir, 'aio-tap.log');
  scope.add({ kind: 'file', path: socket });
  const proc = await startAioProcess(scope, (argv) => topo.inGuestNs(argv), { socket, device, engine, batch: config.aio.batch, queues: config.queues, logFile, statsInterval: 5, verbose: process.env.VNETBENCH_AIO_VERBOSE === '1' });
  defer(() => proc.stop());
  return {
    net: {
      passFds: [],
      sharedMemory: true,
      args: () => vhostUserBackendArgs({ mac: topo.guestMac, socket, queues: config.queues, accel: ctx.accel }),
    },
    processes: () => [{ pid: proc.pid, role: 'backend' }],
    vhostWorkers: false,
    details: { socket, pid: proc.pid, engine, batch: config.aio.batch, log: logFile, [device.kind]: device.name },
  };
}

async function setup(ctx: BackendContext): Promise<BackendInstance> {
  return withScope(ctx, async (scope, defer) => {
    const tb = await setupTapBridge(scope, ctx.topology, ctx.config.queues, 'aio-tap');
    const parts = await startAioBackend(ctx, scope, defer, { kind: 'tap', name: tb.tap });
    return { ...parts, details: { ...parts.details, bridge: tb.bridge, ...(tb.netns ? { netns: tb.netns } : {}) } };
  });
}

export const aioTap: Backend = {
  name: 'aio-tap',
  summary: 'vnetbench vhost-user device: guest buffers to a bridged tap with batched io_uring / Linux AIO readv/writev',
  availability: (caps) => decide([aioEngine(caps), tun(caps), bridge(caps), root(caps), netns(caps), veth(caps), qemuNetdev(caps, 'vhost-user'), accel(caps)]),
  setup,
};
