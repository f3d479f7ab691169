// DPDK testpmd as a vhost-user device under test. testpmd runs inside a run-owned namespace with
// two ports in io-forward mode: port 0 is the vhost-user device (net_vhost0, socket server) and
// port 1 an af_packet port on one end of a veth pair. Frames the driver puts on TX ring 1 come out
// of the other veth end, where the suite captures them; frames the suite injects there land in
// the driver's RX ring 0. Hugepages are not needed (--no-huge), nor any PCI device.
//
// Everything is recorded in the ledger before it is created (the process right after spawn, with
// its start time), and close() removes it all; the ledger covers crashes and signals.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { processStartTime, type Ledger, type LedgerObject } from '../core/ledger.ts';
import { exec } from '../core/exec.ts';
import { shortId, PREFIX } from '../core/names.ts';
import { TimeoutError, CapabilityError } from '../core/errors.ts';
import { createVethNamespace, type VethNamespace } from './veth-namespace.ts';
import { openFramePort, type FramePort } from './frame-port.ts';
import { VhostUserFrontend, type FrontendOptions } from './vhost-user-frontend.ts';

export const TESTPMD = 'dpdk-testpmd';
/** EAL's runtime directory for root (lib/eal/unix eal_get_runtime_dir). */
const DPDK_RUN = '/var/run/dpdk';

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

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

export class TestpmdDut {
  private child: ChildProcess | undefined;
  private proc: Extract<LedgerObject, { kind: 'process' }> | undefined;
  private exit: ExitInfo | undefined;
  private exited: Promise<void> = Promise.resolve();
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
  /** EAL runtime files go to <DPDK_RUN>/<prefix>; one prefix per start. */
  private get filePrefix(): string {
    return `${PREFIX}${this.id}p${this.starts}`;
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

  private argv(): string[] {
    const q = this.opts.queues;
    const vhost = `net_vhost0,iface=${this.socketPath},queues=${q}`;
    const afp = `net_af_packet0,iface=${this.wire.dutIf}${q > 1 ? `,qpairs=${q}` : ''}`;
    return [
      'ip', 'netns', 'exec', this.wire.ns,
      // --in-memory would avoid the runtime dir but is refused with --no-huge (legacy-mem).
      TESTPMD, '--no-huge', '-m', String(this.opts.memMb), '--no-pci', '--no-telemetry',
      '--file-prefix', this.filePrefix, '-l', this.opts.lcores,
      '--vdev', vhost, '--vdev', afp,
      // --stats-period keeps testpmd running without a terminal on stdin.
      '--', '--forward-mode=io', '--auto-start', '--stats-period', '10',
      ...(q > 1 ? [`--rxq=${q}`, `--txq=${q}`] : []),
      ...this.opts.extraArgs,
    ];
  }

  private async startProcess(): Promise<void> {
    if (this.socketPath.includes(',')) throw new Error(`socket path ${this.socketPath} contains a comma (breaks --vdev parsing)`);
    this.starts++;
    const argv = this.argv();
    const log = fs.openSync(this.logPath, 'a');
    fs.writeSync(log, `\n=== start ${this.starts} at ${new Date().toISOString()}: ${argv.join(' ')}\n`);
    this.ledger.add({ kind: 'file', path: this.socketPath });
    this.recordRuntimeDir();
    const t0 = performance.now();
    // detached: its own process group, so stop() and the ledger can signal testpmd and nothing else.
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not spawn ${TESTPMD} (ip netns exec failed to start)`);
    const startTime = processStartTime(pid);
    this.exit = undefined;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      }),
    );
    if (startTime === undefined) {
      await this.exited;
      throw new Error(`${TESTPMD} exited at once (${describeExit(this.exit)}):\n${this.logTail(15)}`);
    }
    this.proc = { kind: 'process', pid, startTime, comm: TESTPMD };
    this.ledger.add(this.proc);
    this.child = child;
    await this.waitForSocket(t0);
    this.startTimes.push(Math.round(performance.now() - t0));
    if (this.opts.probe) {
      const p0 = performance.now();
      await this.probe();
      this.probeTimes.push(Math.round(performance.now() - p0));
    }
  }

  private async waitForSocket(t0: number): Promise<void> {
    const deadline = t0 + this.opts.startTimeoutMs;
    for (;;) {
      if (this.exit) throw new Error(`${TESTPMD} exited during start-up (${describeExit(this.exit)}):\n${this.logTail(15)}`);
      if (isSocket(this.socketPath)) return;
      if (performance.now() > deadline) {
        throw new TimeoutError(`${TESTPMD} to create ${this.socketPath}`, this.opts.startTimeoutMs, this.logTail(5));
      }
      await new Promise((r) => setTimeout(r, 20));
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
    return this.proc !== undefined && this.exit === undefined && processStartTime(this.proc.pid) === this.proc.startTime;
  }

  /** How testpmd ended, when it has. */
  exitInfo(): ExitInfo | undefined {
    return this.exit;
  }

  logTail(lines: number): string {
    try {
      return fs.readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Stop testpmd: SIGTERM to its process group, SIGKILL after 5 s. */
  async stopProcess(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    if (this.alive()) {
      signalGroup(proc.pid, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const killed = await Promise.race([
        this.exited.then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 5000))),
      ]);
      clearTimeout(timer);
      if (!killed) {
        signalGroup(proc.pid, 'SIGKILL');
        await this.exited;
      }
    }
    await this.exited;
    this.ledger.removed(proc);
    this.proc = undefined;
    this.child = undefined;
    // testpmd unlinks its socket on a clean exit; after a crash it is left behind.
    fs.rmSync(this.socketPath, { force: true });
    this.ledger.removed({ kind: 'file', path: this.socketPath });
    this.removeRuntimeDir();
  }

  // EAL creates /var/run/dpdk (shared by every DPDK process, so removed only when empty) and a
  // directory per file prefix, which outlives the process.
  private runtimeDirs: LedgerObject[] = [];

  private recordRuntimeDir(): void {
    if (!fs.existsSync(DPDK_RUN)) {
      const parent: LedgerObject = { kind: 'tmpdir', path: DPDK_RUN, onlyIfEmpty: true };
      this.ledger.add(parent);
      this.runtimeDirs.push(parent);
    }
    const own: LedgerObject = { kind: 'tmpdir', path: path.join(DPDK_RUN, this.filePrefix) };
    this.ledger.add(own);
    this.runtimeDirs.unshift(own);
  }

  private removeRuntimeDir(): void {
    for (const d of this.runtimeDirs) {
      if (d.kind !== 'tmpdir') continue;
      if (d.onlyIfEmpty) {
        try {
          fs.rmdirSync(d.path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') continue; // another DPDK process uses it: leave it to the ledger
        }
      } else {
        fs.rmSync(d.path, { recursive: true, force: true });
      }
      this.ledger.removed(d);
    }
    this.runtimeDirs = [];
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

function isSocket(p: string): boolean {
  try {
    return fs.statSync(p).isSocket();
  } catch {
    return false;
  }
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    /* already gone */
  }
}

function describeExit(e: ExitInfo | undefined): string {
  if (!e) return 'still running';
  return e.signal ? `signal ${e.signal}` : `exit ${e.code}`;
}
