// Devices under test, named on the command line with --dut:
//   testpmd                DPDK testpmd started, health-checked and stopped by the suite
//   testpmd:queues=N       the same with N queue pairs
//   vhost-user:/path       any vhost-user device already listening on /path (not managed)
//   vhost-net[:tap|packet] kernel vhost-net with a tap or an AF_PACKET raw socket backend
// One shape for all: a session factory, where frames can be injected/captured (when the suite owns
// the wire), liveness, restart after a crash (managed devices only) and close.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import type { Ledger } from '../core/ledger.ts';
import { shortId } from '../core/names.ts';
import { exec } from '../core/exec.ts';
import type { DeviceSession } from './session.ts';
import type { FramePort } from './frame-port.ts';
import { openFramePort } from './frame-port.ts';
import { TestpmdDut, type TestpmdOptions } from './testpmd.ts';
import { VhostUserFrontend, type FrontendOptions } from './vhost-user-frontend.ts';
import { VhostKernelSession } from './vhost-kernel.ts';
import { createVethNamespace, type VethNamespace } from './veth-namespace.ts';
import { inNetns } from '../sys/netns.ts';
import { openTap, type TapFd } from '../sys/tun.ts';
import { packetSocket, type PacketSocket } from '../sys/packet.ts';
import { ifName } from '../core/names.ts';

export type DutSpec =
  | { kind: 'testpmd'; queues: number }
  | { kind: 'vhost-user'; path: string }
  | { kind: 'vhost-net'; backend: 'tap' | 'packet' };

const FORMS = 'testpmd, testpmd:queues=N, vhost-user:/path/to/socket, vhost-net, vhost-net:tap, vhost-net:packet';

/** Parse a --dut value; UsageError naming the value and the accepted forms. */
export function parseDut(text: string): DutSpec {
  const bad = (why: string) => new UsageError(`--dut ${JSON.stringify(text)}: ${why}`, `accepted forms: ${FORMS}`);
  const [kind, ...restParts] = text.split(':');
  const rest = restParts.join(':');
  switch (kind) {
    case 'testpmd': {
      if (!rest) return { kind, queues: 1 };
      const m = /^queues=(\d+)$/.exec(rest);
      if (!m || +m[1] < 1 || +m[1] > 8) throw bad(`"${rest}" is not queues=N with N in 1..8`);
      return { kind, queues: +m[1] };
    }
    case 'vhost-user':
      if (!rest) throw bad('missing the socket path after "vhost-user:"');
      if (!path.isAbsolute(rest)) throw bad(`socket path ${rest} must be absolute`);
      return { kind, path: rest };
    case 'vhost-net':
      if (!rest || rest === 'tap') return { kind, backend: 'tap' };
      if (rest === 'packet') return { kind, backend: 'packet' };
      throw bad(`unknown vhost-net backend "${rest}" (tap or packet)`);
    default:
      throw bad(`unknown device kind "${kind}"`);
  }
}

export interface Dut {
  readonly spec: DutSpec;
  readonly label: string;
  /** Open a new control session to the device. */
  connect(opts?: FrontendOptions): Promise<DeviceSession>;
  /** Where the device's traffic can be injected and captured; absent for unmanaged sockets. */
  readonly frames?: FramePort;
  /** After bring-up: attach packet backends (vhost-net SET_BACKEND); a no-op for vhost-user. */
  attach(session: DeviceSession, rings: number[]): Promise<void>;
  alive(): boolean;
  /** Start the device again after a crash; absent when the suite does not own its lifecycle. */
  restart?(): Promise<void>;
  close(): Promise<void>;
}

export async function startDut(spec: DutSpec, ledger: Ledger, opts: TestpmdOptions = {}): Promise<Dut> {
  switch (spec.kind) {
    case 'testpmd':
      return testpmdDut(spec, await TestpmdDut.start(ledger, { ...opts, queues: spec.queues }));
    case 'vhost-user':
      return userSocketDut(spec);
    case 'vhost-net':
      return vhostNetDut(spec, ledger);
  }
}

function testpmdDut(spec: DutSpec, t: TestpmdDut): Dut {
  return {
    spec,
    label: t.label,
    frames: t.frames,
    connect: async (o) => t.connect(o),
    attach: async () => {},
    alive: () => t.alive(),
    restart: () => t.restart(),
    close: () => t.close(),
  };
}

function isSocket(p: string): boolean {
  try {
    return fs.statSync(p).isSocket();
  } catch {
    return false;
  }
}

function userSocketDut(spec: Extract<DutSpec, { kind: 'vhost-user' }>): Dut {
  if (!fs.existsSync(spec.path)) {
    throw new UsageError(`--dut vhost-user:${spec.path}: no such file`, 'start the device first and give the path of its listening socket');
  }
  if (!isSocket(spec.path)) throw new UsageError(`--dut vhost-user:${spec.path}: not a unix socket`, 'give the path of the device\'s listening socket');
  return {
    spec,
    label: `vhost-user ${spec.path}`,
    connect: async (o) => VhostUserFrontend.connect(spec.path, o),
    attach: async () => {},
    alive: () => isSocket(spec.path),
    close: async () => {},
  };
}

/**
 * Kernel vhost-net. The capability check comes first, so on a host without /dev/vhost-net nothing
 * is created. The backend sits in a run-owned namespace: a tap (frames seen through an AF_PACKET
 * socket on the tap itself) or a raw AF_PACKET socket on one end of a veth pair (frames seen on the
 * other end).
 */
async function vhostNetDut(spec: Extract<DutSpec, { kind: 'vhost-net' }>, ledger: Ledger): Promise<Dut> {
  await VhostKernelSession.open().close(); // throws CapabilityError when /dev/vhost-net is missing
  const id = shortId();
  const wire: VethNamespace = await createVethNamespace(ledger, id, 'vn');
  let tap: TapFd | undefined;
  let raw: PacketSocket | undefined;
  let frames: FramePort;
  if (spec.backend === 'tap') {
    const name = ifName(id, 't');
    ledger.add({ kind: 'link', name, netns: wire.ns });
    tap = inNetns(wire.ns, () => openTap(name, { vnetHdr: true, vnetHdrSize: 12 }));
    await exec(['ip', '-n', wire.ns, 'link', 'set', name, 'up']);
    frames = openFramePort(wire.ns, name);
  } else {
    raw = inNetns(wire.ns, () => packetSocket(wire.dutIf));
    frames = openFramePort(wire.ns, wire.probeIf);
  }
  const backendFd = (tap?.fd ?? raw?.fd)!;
  return {
    spec,
    label: `vhost-net (${spec.backend})`,
    frames,
    connect: async () => VhostKernelSession.open(),
    attach: async (s, rings) => {
      if (!(s instanceof VhostKernelSession)) throw new Error('vhost-net DUT: attach needs a vhost-net session');
      for (const i of rings) await s.setBackend(i, backendFd);
    },
    alive: () => true,
    close: async () => {
      frames.close();
      tap?.close();
      raw?.close();
      await exec(['ip', 'netns', 'del', wire.ns], { nothrow: true });
      for (const l of [wire.dutIf, wire.probeIf, ...(tap ? [tap.name] : [])]) ledger.removed({ kind: 'link', name: l, netns: wire.ns });
      ledger.removed({ kind: 'netns', name: wire.ns });
    },
  };
}
