// vhost-user: DPDK testpmd is the switch (net_vhost0 <-> net_af_packet0 on the wire, io
// forwarding) and QEMU is its vhost-user client. Guest memory must be a shared memfd so testpmd
// can map it. Under TCG the device gets vectors=0 (QEMU 7.2 segfaults in vhost_net_start with
// MSI-X without KVM). The AF_PACKET PMD cannot take GSO frames or partial checksums, so the
// wire's offloads (and our peer end's) are turned off; on a real NIC the original values are
// recorded and put back.
import os from 'node:os';
import path from 'node:path';
import { afPacket, decide, guestRequirements, qemuNetdev, testpmd as testpmdReq } from './requirements.ts';
import { withScope } from './instance.ts';
import { vectorsFor, vhostUserNetdev, virtioNetDevice } from './qemu-args.ts';
import { setOffloads } from './hostops.ts';
import type { HostTopology } from '../topology/types.ts';
import { TestpmdProcess, type TestpmdSpec } from '../vhost/testpmd-process.ts';
import type { Backend, BackendContext, BackendInstance } from './types.ts';

const OFFLOADS_OFF = { tx: 'off', tso: 'off', gso: 'off', gro: 'off' } as const;

/** sun_path holds 108 bytes with the NUL: a deep work dir falls back to the temp dir. */
export function socketPath(workDir: string, id: string): string {
  const p = path.join(workDir, `vnb-${id}-vhost-user.sock`);
  return Buffer.byteLength(p) <= 107 ? p : path.join(os.tmpdir(), `vnb-${id}-vu.sock`);
}

/**
 * testpmd in the guest namespace between its vhost-user socket and the wire. Its stdin is a pipe
 * we hold: it exits at EOF, so it also goes away on its own if the harness dies.
 */
export function testpmdSpec(topo: Pick<HostTopology, 'id' | 'wire' | 'guestNs'>, socket: string, queues: number, workDir: string): TestpmdSpec {
  return {
    socket,
    wire: topo.wire,
    netns: topo.guestNs,
    queues,
    // Also the run marker orphans.ts recognises (vnb-<id>-testpmd).
    filePrefix: `vnb-${topo.id}-testpmd`,
    logFile: path.join(workDir, 'testpmd.log'),
    mbufs: 32768,
    control: 'stdin',
  };
}

export function vhostUserBackendArgs(o: { mac: string; socket: string; queues: number; accel?: 'kvm' | 'tcg' }): string[] {
  return [
    ...vhostUserNetdev({ socket: o.socket, queues: o.queues }),
    ...virtioNetDevice({ mac: o.mac, queues: o.queues, vectors: vectorsFor(o.queues, { vhostUser: true, accel: o.accel }) }),
  ];
}

async function setup(ctx: BackendContext): Promise<BackendInstance> {
  const { topology: topo, config } = ctx;
  const queues = config.queues;
  return withScope(ctx, async (scope, defer) => {
    await setOffloads(scope, topo, topo.guestNs, topo.wire, OFFLOADS_OFF);
    if (topo.peerNs && topo.peerIf) await setOffloads(scope, topo, topo.peerNs, topo.peerIf, OFFLOADS_OFF);
    const socket = socketPath(ctx.workDir, topo.id);
    const pmd = await TestpmdProcess.start(scope, testpmdSpec(topo, socket, queues, ctx.workDir));
    defer(async () => {
      const left = await pmd.stop();
      if (left.length) throw new Error(`dpdk-testpmd: ${left.join('; ')}`);
    });
    return {
      net: {
        passFds: [],
        sharedMemory: true,
        args: () => vhostUserBackendArgs({ mac: topo.guestMac, socket, queues, accel: ctx.accel }),
      },
      processes: () => [{ pid: pmd.pid, role: 'backend' }],
      vhostWorkers: false,
      details: { socket, testpmdPid: pmd.pid, testpmdLog: path.join(ctx.workDir, 'testpmd.log') },
    };
  });
}

export const vhostUser: Backend = {
  name: 'vhost-user',
  summary: 'DPDK testpmd as a vhost-user switch (net_vhost0 <-> net_af_packet0 on the wire)',
  availability: (caps) => decide([testpmdReq(caps), qemuNetdev(caps, 'vhost-user'), afPacket(caps), ...guestRequirements(caps, 'vhost-user')]),
  setup,
};
