// Devices under test for `vnetbench conform --dut ...`, one shape for all:
//   reference[:FAULT]   the in-process reference virtio-net device (or a deliberately broken one)
//   testpmd             DPDK testpmd over vhost-user, started and stopped by the suite
//   vhost-user:/path    any vhost-user device already listening (not managed: no restart, no wire)
//   vhost-net-tap       kernel vhost-net with a tap backend
//   vhost-net-raw       kernel vhost-net with an AF_PACKET raw socket backend
// Each gives control sessions, guest memory of the kind its transport needs, the far end of its
// link when the suite owns it, liveness, and restart when the suite owns its lifecycle.
import fs from 'node:fs';
import path from 'node:path';
import { CapabilityError, UsageError } from '../core/errors.ts';
import { exec } from '../core/exec.ts';
import type { Ledger } from '../core/ledger.ts';
import { startDut, type Dut } from '../vhost/dut.ts';
import { memfdGuestMemory } from '../vhost/memfd-memory.ts';
import { TestpmdDut } from '../vhost/testpmd.ts';
import { vhostNetMissing } from '../vhost/vhost-kernel.ts';
import { VhostUserFrontend } from '../vhost/vhost-user-frontend.ts';
import type { Support } from '../vhost/session.ts';
import { BROKEN_NET_DEVICES, brokenNetDevice, type NetFault } from '../virtio/device/broken-net.ts';
import { ReferenceNetDevice, type ReferenceNetOptions } from '../virtio/device/reference-net.ts';
import { sharedMemory, type GuestMemory } from '../virtio/memory.ts';
import { InProcessSession } from './inprocess-session.ts';
import type { ConformTransport, ControlSession } from './types.ts';
import { FramePortWire, InProcessWire, type Wire } from './wire.ts';

export type ConformDutSpec =
  | { kind: 'reference'; fault?: NetFault }
  | { kind: 'testpmd' }
  | { kind: 'vhost-user'; path: string }
  | { kind: 'vhost-net'; backend: 'tap' | 'raw' };

const FAULTS = Object.keys(BROKEN_NET_DEVICES) as NetFault[];
export const DUT_FORMS = `testpmd, reference, reference:<fault> (${FAULTS.join(', ')}), vhost-net-tap, vhost-net-raw, vhost-user:/path/to/socket`;

/** Parse --dut; UsageError saying what is wrong and listing the accepted forms. */
export function parseConformDut(text: string): ConformDutSpec {
  const bad = (why: string) => new UsageError(`--dut ${JSON.stringify(text)}: ${why}`, `accepted forms: ${DUT_FORMS}`);
  if (text === 'testpmd') return { kind: 'testpmd' };
  if (text === 'reference') return { kind: 'reference' };
  if (text === 'vhost-net-tap') return { kind: 'vhost-net', backend: 'tap' };
  if (text === 'vhost-net-raw') return { kind: 'vhost-net', backend: 'raw' };
  if (text.startsWith('reference:')) {
    const fault = text.slice('reference:'.length);
    if (!(FAULTS as string[]).includes(fault)) throw bad(`unknown fault "${fault}"`);
    return { kind: 'reference', fault: fault as NetFault };
  }
  if (text.startsWith('vhost-user:')) {
    const p = text.slice('vhost-user:'.length);
    if (!p) throw bad('missing the socket path after "vhost-user:"');
    if (!path.isAbsolute(p)) throw bad(`socket path ${p} must be absolute`);
    return { kind: 'vhost-user', path: p };
  }
  throw bad(`unknown device "${text}"`);
}

/** The name a spec is shown under. */
export function dutName(s: ConformDutSpec): string {
  switch (s.kind) {
    case 'reference':
      return s.fault ? `reference:${s.fault}` : 'reference';
    case 'testpmd':
      return 'testpmd';
    case 'vhost-user':
      return `vhost-user:${s.path}`;
    case 'vhost-net':
      return `vhost-net-${s.backend}`;
  }
}

/** Guest memory shaped for a transport; close() releases its fd (the mapping goes with the GC). */
export interface RigMemory {
  memory: GuestMemory;
  close(): void;
}

export interface ConformDut {
  readonly name: string;
  readonly label: string;
  readonly transport: ConformTransport;
  /** The far end of the link; undefined when the suite does not own it (see noWire). */
  readonly wire: Wire | undefined;
  readonly noWire: string | undefined;
  /** When the device cannot be driven at all on this host (all checks skip with this). */
  readonly unavailable: string | undefined;
  /** Features the device offered at start. */
  readonly offered: bigint;
  /** Queue pairs the device serves right now. */
  readonly queuePairs: number;
  /** Starts of the device process (testpmd), for the report. */
  readonly restarts: number;
  readonly versions: Record<string, string>;
  /** How the device process was started, when the suite started it. */
  readonly commandLine?: string[];
  connect(): Promise<ControlSession>;
  /** After ring setup: attach packet backends (vhost-net). */
  attach(s: ControlSession, rings: number[]): Promise<void>;
  memory(bytes: number): RigMemory;
  /** Make at least n queue pairs available (testpmd is restarted with more queues). */
  ensurePairs(n: number): Promise<Support>;
  alive(): boolean;
  /** Why the device is dead (exit status, log tail), for evidence. */
  deathNote(): string;
  restart?(): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  ledger: Ledger;
  /** testpmd start-up deadline. */
  startTimeoutMs?: number;
}

export async function startConformDut(spec: ConformDutSpec, opts: StartOptions): Promise<ConformDut> {
  switch (spec.kind) {
    case 'reference':
      return new ReferenceDut(spec.fault);
    case 'testpmd':
      return TestpmdConformDut.start(opts);
    case 'vhost-user':
      return UserSocketDut.open(spec.path);
    case 'vhost-net':
      return VhostNetConformDut.start(spec.backend, opts.ledger);
  }
}

// ---- in-process reference device ----

export class ReferenceDut implements ConformDut {
  readonly transport = 'in-process' as const;
  readonly noWire = undefined;
  readonly unavailable = undefined;
  readonly queuePairs = 1;
  readonly versions = { device: 'harness/virtio/device/reference-net.ts' };
  readonly name: string;
  readonly label: string;
  readonly wire: InProcessWire;
  readonly offered: bigint;
  restarts = 0;
  private current: InProcessSession | undefined;
  private crash: Error | undefined;

  constructor(readonly fault?: NetFault) {
    this.name = fault ? `reference:${fault}` : 'reference';
    this.label = fault ? `in-process reference device with fault ${fault}` : 'in-process reference device';
    this.wire = new InProcessWire((f) => {
      const dev = this.current?.device;
      if (!dev) return;
      try {
        dev.inject(f);
      } catch (err) {
        this.crash = err as Error;
      }
    });
    this.offered = this.newDevice({}).offered;
  }

  private newDevice(o: ReferenceNetOptions): ReferenceNetDevice {
    return this.fault ? brokenNetDevice(this.fault, o) : new ReferenceNetDevice(o);
  }

  /** Each session gets a fresh device, as a vhost-user back-end starts a fresh device per connection. */
  async connect(): Promise<ControlSession> {
    let session: InProcessSession | undefined;
    const dev = this.newDevice({
      onTx: (frame) => this.wire.transmitted(frame),
      onCall: (q) => session?.notify(q),
    });
    session = new InProcessSession(dev, this.name, (err) => (this.crash ??= err));
    this.current = session;
    return session;
  }

  async attach(): Promise<void> {}

  memory(bytes: number): RigMemory {
    return { memory: sharedMemory(bytes), close: () => {} };
  }

  async ensurePairs(n: number): Promise<Support> {
    return n <= this.queuePairs ? { ok: true } : { ok: false, reason: `the in-process reference device is built with ${this.queuePairs} queue pair` };
  }

  alive(): boolean {
    return this.crash === undefined;
  }

  deathNote(): string {
    return this.crash ? `the device threw: ${this.crash.message}` : 'running';
  }

  async restart(): Promise<void> {
    this.crash = undefined;
    this.current = undefined;
    this.restarts++;
  }

  async close(): Promise<void> {
    this.wire.close();
  }
}

// ---- DPDK testpmd ----

/** Small EAL memory and mbuf pool: testpmd listens in ~1 s instead of ~4 s, plenty for the suite. */
const TESTPMD_MEM_MB = 256;
const TESTPMD_MBUFS = ['--total-num-mbufs=16384'];

class TestpmdConformDut implements ConformDut {
  readonly name = 'testpmd';
  readonly transport = 'vhost-user' as const;
  readonly noWire = undefined;
  readonly unavailable = undefined;
  restarts = 0;
  private wireCache: FramePortWire | undefined;

  private constructor(
    private t: TestpmdDut,
    private readonly opts: StartOptions,
    readonly versions: Record<string, string>,
  ) {}

  static async start(opts: StartOptions): Promise<TestpmdConformDut> {
    const t = await TestpmdDut.start(opts.ledger, testpmdOptions(1, opts));
    return new TestpmdConformDut(t, opts, { 'dpdk-dev': await dpdkVersion() });
  }

  get label(): string {
    return `${this.t.label} (${this.queuePairs} queue pair${this.queuePairs > 1 ? 's' : ''}, af_packet port on ${this.t.wire.dutIf} in ${this.t.wire.ns})`;
  }
  get offered(): bigint {
    return this.t.offeredFeatures ?? 0n;
  }
  get queuePairs(): number {
    return this.queues;
  }
  private queues = 1;

  /** testpmd's argv, as its log records it at the latest start. */
  get commandLine(): string[] | undefined {
    try {
      const lines = [...fs.readFileSync(this.t.logPath, 'utf8').matchAll(/^=== start \d+ at \S+: (.*)$/gm)];
      return lines.pop()?.[1].split(' ');
    } catch {
      return undefined;
    }
  }

  get wire(): Wire {
    this.wireCache ??= new FramePortWire(this.t.frames, `AF_PACKET on ${this.t.wire.probeIf} (veth peer of testpmd's af_packet port) in ${this.t.wire.ns}`);
    return this.wireCache;
  }

  async connect(): Promise<ControlSession> {
    return this.t.connect({ replyTimeoutMs: 2000 });
  }

  async attach(): Promise<void> {}

  memory(bytes: number): RigMemory {
    const m = memfdGuestMemory({ size: pageRound(bytes), name: 'vnb-conform' });
    return { memory: m.memory, close: () => m.close() };
  }

  async ensurePairs(n: number): Promise<Support> {
    if (n <= this.queues) return { ok: true };
    if (n > 8) return { ok: false, reason: `testpmd is started with at most 8 queue pairs, ${n} asked` };
    // A different queue count is a different testpmd: its af_packet port fans frames out by flow
    // hash over all queues, so single-pair checks run on a one-queue instance and this one is
    // started only for the checks that need it.
    this.wireCache?.close();
    this.wireCache = undefined;
    await this.t.close();
    this.t = await TestpmdDut.start(this.opts.ledger, testpmdOptions(n, this.opts));
    this.queues = n;
    return { ok: true };
  }

  alive(): boolean {
    return this.t.alive();
  }

  deathNote(): string {
    const e = this.t.exitInfo();
    const how = e ? (e.signal ? `killed by ${e.signal}` : `exited with code ${e.code}`) : 'not answering';
    return `testpmd ${how}; log tail:\n${this.t.logTail(8)}`;
  }

  async restart(): Promise<void> {
    await this.t.restart();
    this.restarts++;
  }

  async close(): Promise<void> {
    this.wireCache?.close();
    await this.t.close();
  }
}

function testpmdOptions(queues: number, o: StartOptions) {
  return { queues, memMb: TESTPMD_MEM_MB, extraArgs: TESTPMD_MBUFS, startTimeoutMs: o.startTimeoutMs ?? 30_000 };
}

async function dpdkVersion(): Promise<string> {
  const r = await exec(['dpkg-query', '-W', '-f', '${Version}', 'dpdk-dev'], { nothrow: true });
  return r.code === 0 ? r.stdout.trim() : 'unknown';
}

function pageRound(n: number): number {
  return Math.ceil(n / 4096) * 4096;
}

// ---- a vhost-user socket the user names ----

class UserSocketDut implements ConformDut {
  readonly transport = 'vhost-user' as const;
  readonly wire = undefined;
  readonly noWire = 'the suite does not own the far end of a user-named vhost-user device (no frames can be injected or captured)';
  readonly unavailable = undefined;
  readonly restarts = 0;
  readonly versions = {};
  readonly name: string;
  readonly label: string;

  private constructor(
    private readonly sock: string,
    readonly offered: bigint,
    readonly queuePairs: number,
  ) {
    this.name = `vhost-user:${sock}`;
    this.label = `vhost-user device at ${sock} (not managed by the suite)`;
  }

  static async open(sock: string): Promise<UserSocketDut> {
    if (!fs.existsSync(sock)) throw new UsageError(`--dut vhost-user:${sock}: no such file`, 'start the device first and give the path of its listening socket');
    if (!isSocket(sock)) throw new UsageError(`--dut vhost-user:${sock}: not a unix socket`, "give the path of the device's listening socket");
    const s = VhostUserFrontend.connect(sock, { replyTimeoutMs: 3000 });
    try {
      const offered = await s.getFeatures();
      let pairs = 1;
      if ((offered & (1n << 30n)) !== 0n) {
        const proto = await s.getProtocolFeatures();
        if (proto & 1n) {
          await s.setProtocolFeatures(proto & 1n);
          pairs = Math.max(1, await s.getQueueNum());
        }
      }
      return new UserSocketDut(sock, offered, pairs);
    } finally {
      await s.close();
    }
  }

  async connect(): Promise<ControlSession> {
    return VhostUserFrontend.connect(this.sock, { replyTimeoutMs: 2000 });
  }
  async attach(): Promise<void> {}
  memory(bytes: number): RigMemory {
    const m = memfdGuestMemory({ size: pageRound(bytes), name: 'vnb-conform' });
    return { memory: m.memory, close: () => m.close() };
  }
  async ensurePairs(n: number): Promise<Support> {
    return n <= this.queuePairs ? { ok: true } : { ok: false, reason: `the device reports ${this.queuePairs} queue pair(s) (GET_QUEUE_NUM)` };
  }
  alive(): boolean {
    return isSocket(this.sock);
  }
  deathNote(): string {
    return isSocket(this.sock) ? 'socket present' : `socket ${this.sock} is gone`;
  }
  async close(): Promise<void> {}
}

function isSocket(p: string): boolean {
  try {
    return fs.statSync(p).isSocket();
  } catch {
    return false;
  }
}

// ---- kernel vhost-net ----

/**
 * Kernel vhost-net. On a host without /dev/vhost-net nothing is created: the DUT reports itself
 * unavailable and every check is skipped with that reason.
 */
class VhostNetConformDut implements ConformDut {
  readonly transport = 'vhost-net' as const;
  readonly noWire = undefined;
  readonly queuePairs = 1;
  readonly restarts = 0;
  readonly versions: Record<string, string> = {};
  readonly name: string;
  readonly label: string;

  private constructor(
    readonly backend: 'tap' | 'raw',
    private readonly dut: Dut | undefined,
    readonly unavailable: string | undefined,
    readonly offered: bigint,
  ) {
    this.name = `vhost-net-${backend}`;
    this.label = `kernel vhost-net with ${backend === 'tap' ? 'a tap' : 'an AF_PACKET raw socket'} backend`;
  }

  static async start(backend: 'tap' | 'raw', ledger: Ledger): Promise<VhostNetConformDut> {
    const missing = vhostNetMissing();
    if (missing) return new VhostNetConformDut(backend, undefined, missing, 0n);
    try {
      const dut = await startDut({ kind: 'vhost-net', backend: backend === 'tap' ? 'tap' : 'packet' }, ledger);
      const s = await dut.connect();
      let offered = 0n;
      try {
        await s.setOwner();
        offered = await s.getFeatures();
      } finally {
        await s.close();
      }
      return new VhostNetConformDut(backend, dut, undefined, offered);
    } catch (err) {
      if (err instanceof CapabilityError) return new VhostNetConformDut(backend, undefined, err.message, 0n);
      throw err;
    }
  }

  private wireCache: FramePortWire | undefined;
  get wire(): Wire | undefined {
    if (!this.dut?.frames) return undefined;
    this.wireCache ??= new FramePortWire(this.dut.frames, `AF_PACKET on ${this.dut.frames.ifname} in ${this.dut.frames.ns}`);
    return this.wireCache;
  }

  async connect(): Promise<ControlSession> {
    if (!this.dut) throw new CapabilityError(this.unavailable ?? 'vhost-net unavailable');
    return this.dut.connect();
  }
  async attach(s: ControlSession, rings: number[]): Promise<void> {
    await this.dut?.attach(s as Parameters<Dut['attach']>[0], rings);
  }
  memory(bytes: number): RigMemory {
    // The kernel dereferences user addresses in this process: the table carries the real mapping.
    const m = memfdGuestMemory({ size: pageRound(bytes), uva: 'process', name: 'vnb-conform' });
    return { memory: m.memory, close: () => m.close() };
  }
  async ensurePairs(n: number): Promise<Support> {
    return n <= 1 ? { ok: true } : { ok: false, reason: 'vhost-net serves one queue pair per open fd; the suite opens one' };
  }
  alive(): boolean {
    return this.dut?.alive() ?? true;
  }
  deathNote(): string {
    return this.unavailable ?? 'kernel device';
  }
  async close(): Promise<void> {
    this.wireCache?.close();
    await this.dut?.close();
  }
}
