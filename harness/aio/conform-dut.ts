// The aio-tap device as a conformance DUT the suite manages end to end (harness/conform's
// ConformDut contract): the device runs as its own process in a run-owned namespace on a
// multi_queue tap, bridged to a veth as `vnetbench run` bridges it to the wire, and the suite owns
// the far end — an AF_PACKET socket on the veth's peer. So the frame checks (H*, S3, S4, S9, I*,
// M*) run, unlike for a user-named vhost-user socket. Offloads are off on the bridged veth end, so
// the kernel completes checksums and segments on the way out, as a NIC without offloads would: the
// probe sees what the wire would carry. Restart after a crash, and a restart with more queue pairs
// for the multiqueue checks, as for testpmd.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exec } from '../core/exec.ts';
import type { Ledger, LedgerScope } from '../core/ledger.ts';
import { ifName, nsName, shortId } from '../core/names.ts';
import { memfdRigMemory, type ConformDut, type RigMemory } from '../conform/dut.ts';
import type { ControlSession } from '../conform/types.ts';
import { FramePortWire, type Wire } from '../conform/wire.ts';
import { openFramePort, type FramePort } from '../vhost/frame-port.ts';
import { VhostUserFrontend } from '../vhost/vhost-user-frontend.ts';
import type { Support } from '../vhost/session.ts';
import { startAioProcess, type AioProcess } from './launch.ts';
import type { EngineName } from './engines/types.ts';

const MAX_PAIRS = 4;

export interface AioDutOptions {
  ledger: Ledger;
  engine: EngineName;
  batch?: number;
}

export class AioConformDut implements ConformDut {
  readonly transport = 'vhost-user' as const;
  readonly noWire = undefined;
  readonly unavailable = undefined;
  readonly name: string;
  restarts = 0;
  offered = 0n;
  queuePairs = 1;
  versions: Record<string, string> = {};
  private proc: AioProcess | undefined;
  private frames: FramePort | undefined;
  private wireCache: FramePortWire | undefined;
  private readonly socket: string;
  private readonly log: string;

  private constructor(
    private readonly o: AioDutOptions,
    private readonly scope: LedgerScope,
    private readonly ns: string,
    private readonly tap: string,
    private readonly probe: string,
    dir: string,
  ) {
    this.name = `aio-tap:${o.engine}`;
    this.socket = path.join(dir, 'dev.sock');
    this.log = path.join(dir, 'aio-tap.log');
  }

  /** Namespace, bridge, multi_queue tap, veth, the device process with one queue pair, the far end. */
  static async start(o: AioDutOptions): Promise<AioConformDut> {
    const scope = o.ledger.scope();
    const id = shortId();
    const ns = nsName(id, 'cf');
    const [tap, bridge, near, probe] = ['ct', 'cb', 'cd', 'cp'].map((r) => ifName(id, r)) as [string, string, string, string];
    const dir = path.join(os.tmpdir(), `vnb-${id}-cf`);
    const ip = (...a: string[]) => exec(['ip', '-n', ns, ...a]);
    scope.add({ kind: 'tmpdir', path: dir });
    fs.mkdirSync(dir);
    scope.add({ kind: 'netns', name: ns });
    await exec(['ip', 'netns', 'add', ns]);
    // No IPv6: the kernel would send DAD/MLD frames of its own into the device's RX rings.
    await exec(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    for (const l of [bridge, tap, near, probe]) scope.add({ kind: 'link', name: l, netns: ns });
    await ip('link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    await ip('tuntap', 'add', 'dev', tap, 'mode', 'tap', 'multi_queue');
    await ip('link', 'add', near, 'type', 'veth', 'peer', 'name', probe);
    await exec(['ip', 'netns', 'exec', ns, 'ethtool', '-K', near, 'tx', 'off', 'sg', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'], { nothrow: true });
    await exec(['ip', 'netns', 'exec', ns, 'ethtool', '-K', probe, 'gro', 'off'], { nothrow: true });
    for (const l of [tap, near]) await ip('link', 'set', l, 'master', bridge);
    for (const l of [bridge, tap, near, probe]) await ip('link', 'set', l, 'up');
    const dut = new AioConformDut(o, scope, ns, tap, probe, dir);
    await dut.launch(1);
    dut.frames = openFramePort(ns, probe);
    return dut;
  }

  get label(): string {
    return `aio-tap device (engine ${this.o.engine}, ${this.queuePairs} queue pair${this.queuePairs > 1 ? 's' : ''}) on tap ${this.tap} bridged to a veth in ${this.ns}, far end AF_PACKET on ${this.probe}`;
  }

  get commandLine(): string[] | undefined {
    return this.proc?.argv;
  }

  get wire(): Wire {
    this.wireCache ??= new FramePortWire(this.frames!, `AF_PACKET on ${this.probe} (veth peer of the bridge the device's tap is on) in ${this.ns}`);
    return this.wireCache;
  }

  private async launch(queues: number): Promise<void> {
    fs.rmSync(this.socket, { force: true });
    this.scope.add({ kind: 'file', path: this.socket });
    this.proc = await startAioProcess(this.scope, (argv) => ['ip', 'netns', 'exec', this.ns, ...argv], {
      socket: this.socket,
      device: { kind: 'tap', name: this.tap },
      engine: this.o.engine,
      batch: this.o.batch ?? 32,
      queues,
      logFile: this.log,
    });
    this.queuePairs = queues;
    const s = VhostUserFrontend.connect(this.socket, { replyTimeoutMs: 3000 });
    try {
      this.offered = await s.getFeatures();
    } finally {
      await s.close();
    }
  }

  async connect(): Promise<ControlSession> {
    return VhostUserFrontend.connect(this.socket, { replyTimeoutMs: 2000 });
  }

  async attach(): Promise<void> {}

  memory(bytes: number): RigMemory {
    return memfdRigMemory(bytes);
  }

  async ensurePairs(n: number): Promise<Support> {
    if (n <= this.queuePairs) return { ok: true };
    if (n > MAX_PAIRS) return { ok: false, reason: `the suite starts the aio-tap device with at most ${MAX_PAIRS} queue pairs, ${n} asked` };
    await this.proc?.stop();
    await this.launch(n);
    return { ok: true };
  }

  alive(): boolean {
    return this.proc?.alive() ?? false;
  }

  deathNote(): string {
    const tail = fs.existsSync(this.log) ? fs.readFileSync(this.log, 'utf8').trim().split('\n').slice(-6).join('\n') : '(no log)';
    return `aio-tap ${this.proc?.exitInfo() ?? 'not answering'}; last log lines:\n${tail}`;
  }

  async restart(): Promise<void> {
    await this.proc?.stop();
    await this.launch(this.queuePairs);
    this.restarts++;
  }

  async close(): Promise<void> {
    this.wireCache?.close();
    this.frames?.close();
    await this.proc?.stop();
    const left = await this.scope.release();
    if (left.length) throw new Error(`aio-tap DUT teardown left: ${left.join('; ')}`);
  }
}
