// Test rig for the aio-tap device, in-process and without QEMU: a run-owned namespace holding the
// tap (created by the device itself, non-persistent), an AF_PACKET socket on that tap to see what
// the device transmits and to inject what it should receive, the device server (control plane
// here, data plane in Workers), and a driver: the vhost-user front-end and the driver ring
// library over memfd guest memory. Helper, not a test.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exec } from '../../../harness/core/exec.ts';
import { Ledger } from '../../../harness/core/ledger.ts';
import { ifName, nsName, shortId } from '../../../harness/core/names.ts';
import { inNetns } from '../../../harness/sys/netns.ts';
import { packetSocket, type PacketSocket } from '../../../harness/sys/packet.ts';
import { SOL_SOCKET, setsockoptInt } from '../../../harness/sys/socket.ts';
import { eventfd, type EventFd } from '../../../harness/sys/eventfd.ts';
import { openTapPort, type TapPort } from '../../../harness/aio/port.ts';
import { AioServer } from '../../../harness/aio/server.ts';
import type { EngineName } from '../../../harness/aio/engines/types.ts';
import { VhostUserFrontend } from '../../../harness/vhost/vhost-user-frontend.ts';
import { bringUp, type BringUpResult } from '../../../harness/vhost/bringup.ts';
import { memfdGuestMemory, type MemfdGuestMemory } from '../../../harness/vhost/memfd-memory.ts';
import { GuestArena, createQueue, type Virtqueue } from '../../../harness/virtio/driver/index.ts';
import { byteView } from '../../../harness/virtio/driver/views.ts';
import { encodeNetHdr, emptyNetHdr, type NetHdr } from '../../../harness/virtio/net-header.ts';

export const HDR = 12;
export const isRoot = () => process.getuid?.() === 0;

export interface DeviceRig {
  ledger: Ledger;
  ns: string;
  tap: string;
  socket: string;
  port: TapPort;
  server: AioServer;
  /** AF_PACKET on the tap: what the device transmitted arrives here; send() reaches the device. */
  wire: PacketSocket;
  logs: string[];
  close(): Promise<void>;
}

export async function startDevice(o: { engine: EngineName; queues?: number; batch?: number; rxDepth?: number; mtu?: number }): Promise<DeviceRig> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-aio-state-'));
  const prevState = process.env.VNETBENCH_STATE_DIR;
  process.env.VNETBENCH_STATE_DIR = stateDir;
  const id = shortId();
  const ledger = Ledger.create(id);
  const ns = nsName(id, 'aio');
  const tap = ifName(id, 'at');
  const dir = path.join(os.tmpdir(), `vnb-${id}-aio`);
  const socket = path.join(dir, 'dev.sock');
  const logs: string[] = [];
  ledger.add({ kind: 'tmpdir', path: dir });
  fs.mkdirSync(dir);
  ledger.add({ kind: 'netns', name: ns });
  await exec(['ip', 'netns', 'add', ns]);
  await exec(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  const queues = o.queues ?? 1;
  // The tap exists (persistent) before the device opens it, so its MTU can be set first.
  ledger.add({ kind: 'link', name: tap, netns: ns });
  await exec(['ip', '-n', ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap', ...(queues > 1 ? ['multi_queue'] : [])]);
  if (o.mtu) await exec(['ip', '-n', ns, 'link', 'set', tap, 'mtu', String(o.mtu)]);
  const port = inNetns(ns, () => openTapPort(tap, queues));
  await exec(['ip', '-n', ns, 'link', 'set', tap, 'up']);
  const wire = inNetns(ns, () => packetSocket(tap));
  // Room for a burst of frames before the test reads them (SO_RCVBUFFORCE: root may exceed rmem_max).
  setsockoptInt(wire.fd, SOL_SOCKET, 33, 8 << 20, 'SO_RCVBUFFORCE');
  const batch = o.batch ?? 16;
  // AIO_TEST_LOG=1 prints the device's log as it happens (debugging a test).
  const log = (m: string) => {
    logs.push(m);
    if (process.env.AIO_TEST_LOG) process.stderr.write(`${new Date().toISOString().slice(11, 23)} [device ${id}] ${m}\n`);
  };
  const server = await AioServer.start({ socket, port, engine: o.engine, batch, rxDepth: o.rxDepth ?? Math.min(batch, 8), log, verbose: Boolean(process.env.AIO_TEST_LOG) });
  const served = server.serve().catch((e: Error) => logs.push(`serve failed: ${e.message}`));
  return {
    ledger,
    ns,
    tap,
    socket,
    port,
    server,
    wire,
    logs,
    async close() {
      await server.close();
      await served;
      wire.close();
      port.close();
      const left = await ledger.teardown();
      process.env.VNETBENCH_STATE_DIR = prevState;
      fs.rmSync(stateDir, { recursive: true, force: true });
      assert.deepEqual(left, [], 'ledger teardown left nothing');
      const nsList = (await exec(['ip', 'netns', 'list'])).stdout;
      assert.ok(!nsList.includes(ns), `namespace ${ns} removed`);
      assert.equal(fs.existsSync(socket), false, 'socket removed');
    },
  };
}

export interface Driver {
  session: VhostUserFrontend;
  mem: MemfdGuestMemory;
  arena: GuestArena;
  rx: Virtqueue<number>[];
  tx: Virtqueue<number>[];
  kicks: EventFd[];
  calls: EventFd[];
  errs: EventFd[];
  up: BringUpResult;
  close(): Promise<void>;
}

/** Connect and bring the device up with `pairs` queue pairs of `size` entries. */
export async function connectDriver(socket: string, o: { features: bigint; pairs?: number; size?: number; memBytes?: number; enable?: number[]; errFds?: boolean }): Promise<Driver> {
  const pairs = o.pairs ?? 1;
  const size = o.size ?? 256;
  const mem = memfdGuestMemory({ size: o.memBytes ?? 16 << 20 });
  const arena = new GuestArena(mem.memory);
  const session = VhostUserFrontend.connect(socket);
  const offered = await session.getFeatures();
  const features = offered & o.features;
  const rx: Virtqueue<number>[] = [];
  const tx: Virtqueue<number>[] = [];
  for (let p = 0; p < pairs; p++) {
    rx.push(createQueue<number>(arena, { size, features }));
    tx.push(createQueue<number>(arena, { size, features }));
  }
  const rings = [...Array(2 * pairs).keys()].map((i) => (i % 2 === 0 ? rx[i >> 1]! : tx[i >> 1]!));
  const kicks = rings.map(() => eventfd());
  const calls = rings.map(() => eventfd());
  const errs = rings.map(() => eventfd());
  const up = await bringUp(session, {
    features,
    memory: mem.memory,
    rings: rings.map((q, i) => ({
      index: i,
      num: q.size,
      desc: BigInt(q.layout.desc),
      avail: BigInt(q.layout.driver),
      used: BigInt(q.layout.device),
      kickFd: kicks[i]!.fd,
      callFd: calls[i]!.fd,
      base: q.deviceStart().base,
    })),
    ...(o.enable ? { enable: o.enable } : {}),
  });
  if (o.errFds !== false) for (let i = 0; i < rings.length; i++) await session.setVringErr(i, errs[i]!.fd);
  return {
    session,
    mem,
    arena,
    rx,
    tx,
    kicks,
    calls,
    errs,
    up,
    async close() {
      await session.close();
      for (const e of [...kicks, ...calls, ...errs]) e.close();
      mem.close();
    },
  };
}

/** Put header + frame into one TX buffer and make it available; kick if asked to. */
export function sendFrame(d: Driver, frame: Uint8Array, token: number, hdr: Partial<NetHdr> = {}, pair = 0): number {
  const at = d.arena.alloc(HDR + frame.length, 16);
  const h = new Uint8Array(HDR);
  encodeNetHdr({ ...emptyNetHdr(), ...hdr }, h);
  byteView(d.mem.memory, at, HDR).set(h);
  byteView(d.mem.memory, at + HDR, frame.length).set(frame);
  const head = d.tx[pair]!.add([{ addr: at, len: HDR + frame.length }], [], token);
  assert.ok(head >= 0, 'TX ring has room');
  if (d.tx[pair]!.kickNeeded()) d.kicks[2 * pair + 1]!.signal();
  return at;
}

/** Post `count` RX buffers of `len` bytes each, filled with a canary; returns their GPAs (token = index). */
export function postRx(d: Driver, count: number, len: number, pair = 0, canary = 0xa5): number[] {
  const bufs: number[] = [];
  for (let i = 0; i < count; i++) {
    const at = d.arena.alloc(len, 64);
    byteView(d.mem.memory, at, len).fill(canary);
    assert.ok(d.rx[pair]!.add([], [{ addr: at, len }], i) >= 0, 'RX ring has room');
    bufs.push(at);
  }
  if (d.rx[pair]!.kickNeeded()) d.kicks[2 * pair]!.signal();
  return bufs;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll a queue's used ring until `n` entries arrived (or the deadline). */
export async function waitUsed(q: Virtqueue<number>, n: number, timeoutMs = 5000): Promise<{ id: number; len: number; token: number }[]> {
  const out: { id: number; len: number; token: number }[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n && Date.now() < deadline) {
    const u = q.getUsed();
    if (u) out.push({ id: u.id, len: u.len, token: u.token });
    else await sleep(2);
  }
  return out;
}
