// DPDK testpmd as a vhost-user device under test. testpmd runs inside a run-owned namespace with
// two ports in io-forward mode: port 0 is the vhost-user device (net_vhost0, socket server) and
// port 1 an af_packet port on one end of a veth pair. Frames the driver puts on TX ring 1 come out
// of the other veth end, where the suite captures them; frames the suite injects there land in
// the driver's RX ring 0. Hugepages are not needed (--no-huge), nor any PCI device.
//
// Everything is recorded in the ledger before it is created (the process right after spawn, with
// its start time), and close() removes it all; the ledger covers crashes and signals.
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import type { Ledger } from '../core/ledger.ts';
import { exec } from '../core/exec.ts';
import { shortId, PREFIX } from '../core/names.ts';
import { CapabilityError } from '../core/errors.ts';
import { createVethNamespace, type VethNamespace } from './veth-namespace.ts';
import { openFramePort, type FramePort } from './frame-port.ts';
import { TESTPMD, TestpmdProcess, logTail, type ExitInfo } from './testpmd-process.ts';
import { VhostUserFrontend, type FrontendOptions } from './vhost-user-frontend.ts';

export { TESTPMD, type ExitInfo };

export interface TestpmdOptions {
  /** Queue pairs of the vhost port (and of the af_packet port). Default 1. */
  queues?: number;
  /** EAL core list; testpmd's forwarding core spins at 100 % on the second one. Default "0,1". */
  lcores?: string;
  /** EAL memory in MB without hugepages. Default 1024. */
  memMb?: number;
  /** Deadline for the socket to appear. Default 30 s. */
  startTimeoutMs?: number;
  /** Connect and ask GET_FEATURES once the socket exists (default true). */
  probe?: boolean;
  /** Extra testpmd application arguments (after `--`). */
  extraArgs?: string[];
}

export class TestpmdDut {
  private proc: TestpmdProcess | undefined;
  private lastExit: ExitInfo | undefined;
  private starts = 0;
  /** Milliseconds from spawn to a listening socket, for each start. */
  readonly startTimes: number[] = [];
  /** Milliseconds the health probe (connect + GET_FEATURES) took, for each start. */
  readonly probeTimes: number[] = [];
  /** Features the device offered to the health probe. */
  offeredFeatures: bigint | undefined;

  private constructor(
    private readonly ledger: Ledger,
    readonly id: string,
    readonly wire: VethNamespace,
    readonly workDir: string,
    readonly frames: FramePort,
    private readonly opts: Required<Omit<TestpmdOptions, 'extraArgs'>> & { extraArgs: string[] },
  ) {}

  get socketPath(): string {
    return path.join(this.workDir, 'vhost.sock');
  }
  get logPath(): string {
    return path.join(this.workDir, 'testpmd.log');
  }
  get pid(): number | undefined {
    return this.proc?.pid;
  }
  get label(): string {
    return `testpmd ${this.socketPath}`;
  }

  /** Namespace, veth pair, work dir, testpmd, frame port; throws CapabilityError if testpmd is absent. */
  static async start(ledger: Ledger, options: TestpmdOptions = {}): Promise<TestpmdDut> {
    const opts = {
      queues: options.queues ?? 1,
      lcores: options.lcores ?? '0,1',
      memMb: options.memMb ?? 1024,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
      probe: options.probe ?? true,
      extraArgs: options.extraArgs ?? [],
    };
    if (!Number.isInteger(opts.queues) || opts.queues < 1 || opts.queues > 8) {
      throw new RangeError(`testpmd queues must be 1..8, got ${opts.queues}`);
    }
    const which = await exec(['sh', '-c', 'command -v "$0"', TESTPMD], { nothrow: true });
    if (which.code !== 0) throw new CapabilityError(`${TESTPMD} not found`, 'install the Debian package dpdk-dev');
    const id = shortId();
    const workDir = path.join(os.tmpdir(), `${PREFIX}-${id}-testpmd`);
    ledger.add({ kind: 'tmpdir', path: workDir });
    fs.mkdirSync(workDir, { mode: 0o700 });
    const wire = await createVethNamespace(ledger, id);
    const frames = openFramePort(wire.ns, wire.probeIf);
    const dut = new TestpmdDut(ledger, id, wire, workDir, frames, opts);
    try {
      await dut.startProcess();
    } catch (err) {
      await dut.close();
      throw err;
    }
    return dut;
  }

  private async startProcess(): Promise<void> {
    this.starts++;
    this.lastExit = undefined;
    this.proc = await TestpmdProcess.start(this.ledger, {
      socket: this.socketPath,
      wire: this.wire.dutIf,
      netns: this.wire.ns,
      queues: this.opts.queues,
      // EAL runtime files go to /run/dpdk/<prefix>; one prefix per start.
      filePrefix: `${PREFIX}${this.id}p${this.starts}`,
      logFile: this.logPath,
      lcores: this.opts.lcores,
      memMiB: this.opts.memMb,
      control: 'signal',
      extraArgs: this.opts.extraArgs,
      startTimeoutMs: this.opts.startTimeoutMs,
      attempt: this.starts,
    });
    this.startTimes.push(this.proc.startMs);
    if (this.opts.probe) {
      const p0 = performance.now();
      await this.probe();
      this.probeTimes.push(Math.round(performance.now() - p0));
    }
  }

  /** Health check: the socket answers GET_FEATURES. */
  private async probe(): Promise<void> {
    const s = VhostUserFrontend.connect(this.socketPath, { replyTimeoutMs: 5000 });
    try {
      this.offeredFeatures = await s.getFeatures();
    } finally {
      await s.close();
    }
  }

  /** A new front-end session on the device. */
  connect(opts: FrontendOptions = {}): VhostUserFrontend {
    return VhostUserFrontend.connect(this.socketPath, opts);
  }

  /** testpmd is running (same pid and start time as when we started it). */
  alive(): boolean {
    return this.proc?.alive() ?? false;
  }

  /** How testpmd ended, when it has. */
  exitInfo(): ExitInfo | undefined {
    return this.proc?.exitInfo() ?? this.lastExit;
  }

  logTail(lines: number): string {
    return logTail(this.logPath, lines);
  }

  /** Stop testpmd (SIGTERM to its process group, SIGKILL if it lingers) and remove its socket and runtime dir. */
  async stopProcess(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    // What cannot be removed stays in the ledger for teardown.
    await proc.stop();
    this.lastExit = proc.exitInfo();
    this.proc = undefined;
  }

  /** After a crash (or to get a fresh device): stop whatever is left and start again. */
  async restart(): Promise<void> {
    await this.stopProcess();
    await this.startProcess();
  }

  /** Stop testpmd and remove the namespace, links and work directory. */
  async close(): Promise<void> {
    await this.stopProcess();
    this.frames.close();
    const r = await exec(['ip', 'netns', 'del', this.wire.ns], { nothrow: true });
    if (r.code === 0 || /No such file/.test(r.stderr)) {
      this.ledger.removed({ kind: 'link', name: this.wire.probeIf, netns: this.wire.ns });
      this.ledger.removed({ kind: 'link', name: this.wire.dutIf, netns: this.wire.ns });
      this.ledger.removed({ kind: 'netns', name: this.wire.ns });
    }
    fs.rmSync(this.workDir, { recursive: true, force: true });
    this.ledger.removed({ kind: 'tmpdir', path: this.workDir });
  }
}
