// DPDK testpmd as a vhost-user <-> AF_PACKET switch: the one launcher, used by the vhost-user
// backend (harness/backends/vhost-user.ts) and the conformance DUT (testpmd.ts). Port 0 is
// net_vhost0 (the vhost-user server socket), port 1 net_af_packet0 on a wire interface, and io
// forwarding moves packets between them. No hugepages (--no-huge) and no PCI device are needed.
//
// Everything is recorded in the ledger before it exists (the process right after spawn, with its
// start time); stop() removes it all, and the ledger covers crashes and signals.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TimeoutError } from '../core/errors.ts';
import { processAlive, processStartTime, type Ledger, type LedgerObject } from '../core/ledger.ts';

export const TESTPMD = 'dpdk-testpmd';
/** EAL's runtime directory for root (lib/eal/unix eal_get_runtime_dir; /var/run is /run). */
export const DPDK_RUNTIME_ROOT = '/run/dpdk';

/** A Ledger or a LedgerScope: records before creating, removes (and marks removed) on stop. */
export type TestpmdLedger = Pick<Ledger, 'add' | 'removeNow'>;

export interface TestpmdSpec {
  /** The vhost-user socket net_vhost0 listens on. */
  socket: string;
  /** The interface of the af_packet port. */
  wire: string;
  /** Namespace testpmd runs in; undefined: this one. */
  netns?: string;
  /** Queue pairs of both ports. */
  queues: number;
  /** --file-prefix: names EAL's runtime directory (vnb-... so orphans.ts can recognise it). */
  filePrefix: string;
  /** testpmd's stdout and stderr; appended to, one header line per start. */
  logFile: string;
  /** EAL lcores: the first is the main lcore, the rest forward. Default "0,1". */
  lcores?: string;
  /** EAL memory without hugepages, MiB. Default 1024. */
  memMiB?: number;
  /** --total-num-mbufs; default testpmd's own. */
  mbufs?: number;
  /**
   * How testpmd is kept running and asked to stop. 'stdin': it waits on a pipe we hold ("Press
   * enter to exit"), so it also exits on its own if the harness dies, and stop() sends the
   * newline. 'signal': --stats-period keeps it running with no terminal; stop() sends SIGTERM.
   */
  control: 'stdin' | 'signal';
  /** More testpmd application arguments (after `--`). */
  extraArgs?: string[];
  /** Deadline for the socket to listen. Default 30 s. */
  startTimeoutMs?: number;
  /** Number of this start, for the log header (restarts append to the same log). Default 1. */
  attempt?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

/** testpmd's argv, without the namespace wrapper (pure; unit tests pin it). */
export function testpmdArgv(s: TestpmdSpec): string[] {
  const q = s.queues;
  return [
    TESTPMD,
    // --in-memory would avoid the runtime dir but is refused with --no-huge (legacy-mem).
    '--no-huge', '-m', String(s.memMiB ?? 1024), '--no-pci', '--no-telemetry',
    '--file-prefix', s.filePrefix,
    '-l', s.lcores ?? '0,1',
    '--vdev', `net_vhost0,iface=${s.socket},queues=${q}`,
    '--vdev', `net_af_packet0,iface=${s.wire},qpairs=${q}`,
    '--',
    '--forward-mode=io', '--auto-start', `--rxq=${q}`, `--txq=${q}`,
    ...(s.mbufs !== undefined ? [`--total-num-mbufs=${s.mbufs}`] : []),
    ...(s.control === 'signal' ? ['--stats-period', '10'] : []),
    ...(s.extraArgs ?? []),
  ];
}

/** The command line as spawned: inside the namespace when there is one. */
export function testpmdCommand(s: TestpmdSpec): string[] {
  const argv = testpmdArgv(s);
  return s.netns ? ['ip', 'netns', 'exec', s.netns, ...argv] : argv;
}

/** testpmd prints this (and flushes) once its ports are started: the socket is up by then. */
const READY = /Checking link statuses|Press enter to exit/;

export function describeExit(e: ExitInfo | undefined): string {
  if (!e) return 'still running';
  return e.signal ? `signal ${e.signal}` : `exit ${e.code}`;
}

export class TestpmdProcess {
  private exit: ExitInfo | undefined;
  /** Milliseconds from spawn to a listening socket. */
  startMs = 0;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    private readonly startTime: string,
    private readonly spec: TestpmdSpec,
    readonly commandLine: string[],
    /** What stop() removes: the process first, then the socket and EAL's runtime dirs. */
    private readonly records: LedgerObject[],
    private readonly ledger: TestpmdLedger,
    readonly exited: Promise<ExitInfo>,
  ) {
    void exited.then((e) => (this.exit = e));
  }

  /** Spawn testpmd and wait until its vhost-user socket listens. */
  static async start(ledger: TestpmdLedger, spec: TestpmdSpec): Promise<TestpmdProcess> {
    if (spec.socket.includes(',')) throw new Error(`socket path ${spec.socket} contains a comma (breaks --vdev parsing)`);
    const files = recordFiles(ledger, spec);
    const argv = testpmdCommand(spec);
    const t0 = performance.now();
    const log = fs.openSync(spec.logFile, 'a');
    const logStart = fs.fstatSync(log).size;
    let child: ChildProcess;
    try {
      fs.writeSync(log, `\n=== start ${spec.attempt ?? 1} at ${new Date().toISOString()}: ${argv.join(' ')}\n`);
      // detached: its own process group, so stop() and the ledger signal testpmd and nothing else.
      child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: [spec.control === 'stdin' ? 'pipe' : 'ignore', log, log] });
    } finally {
      fs.closeSync(log);
    }
    const exited = new Promise<ExitInfo>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    // It never ran: nothing of its own to stop, and what it would have made is gone with it.
    const neverRan = async (why: string) => {
      await ledger.removeNow(files);
      return new Error(why);
    };
    const pid = child.pid;
    if (pid === undefined) {
      const err = await new Promise<Error>((r) => child.once('error', r));
      throw await neverRan(`cannot start ${TESTPMD}: ${err.message}`);
    }
    // `ip netns exec` execs testpmd: same pid and start time, so this record stays right.
    const startTime = processStartTime(pid);
    if (startTime === undefined) {
      throw await neverRan(`${TESTPMD} exited at once (${describeExit(await exited)}):\n${logTail(spec.logFile, 15)}`);
    }
    const proc: LedgerObject = { kind: 'process', pid, startTime, comm: TESTPMD };
    ledger.add(proc);
    if (spec.control === 'stdin') {
      child.stdin!.on('error', () => {}); // EPIPE after it exited is not our problem
      // Neither the child nor our end of its stdin keeps the harness alive: testpmd goes with it.
      child.unref();
      (child.stdin as unknown as { unref?: () => void }).unref?.();
    }
    const t = new TestpmdProcess(child, pid, startTime, spec, argv, [proc, ...files], ledger, exited);
    try {
      await t.waitReady(logStart);
    } catch (e) {
      await t.stop();
      throw e;
    }
    t.startMs = Math.round(performance.now() - t0);
    return t;
  }

  private async waitReady(logStart: number): Promise<void> {
    const timeoutMs = this.spec.startTimeoutMs ?? 30_000;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.exit) throw new Error(`${TESTPMD} exited during start-up (${describeExit(this.exit)}):\n${this.logTail(15)}`);
      if (isSocket(this.spec.socket) && READY.test(readFrom(this.spec.logFile, logStart))) return;
      if (performance.now() > deadline) {
        throw new TimeoutError(`${TESTPMD} to listen on ${this.spec.socket}`, timeoutMs, this.logTail(5));
      }
      await sleep(20);
    }
  }

  /** Running: same pid and start time as when it started, not exited, not a zombie. */
  alive(): boolean {
    return this.exit === undefined && processAlive(this.pid, this.startTime);
  }

  /** How testpmd ended, when it has. */
  exitInfo(): ExitInfo | undefined {
    return this.exit;
  }

  logTail(lines: number): string {
    return logTail(this.spec.logFile, lines);
  }

  /**
   * Stop testpmd (the newline it waits for, or SIGTERM; SIGKILL if it lingers) and remove its
   * socket and EAL runtime dirs. Returns what could not be removed: that stays in the ledger.
   */
  async stop(): Promise<string[]> {
    if (this.spec.control === 'stdin' && this.alive()) {
      this.child.stdin!.end('\n'); // a clean shutdown closes the ports
      for (let t = 0; t < 5000 && this.alive(); t += 50) await sleep(50);
    }
    const left = await this.ledger.removeNow(this.records);
    // The exit status arrives right after the kill; the timer keeps the loop alive until then.
    const timer = new AbortController();
    await Promise.race([this.exited, sleep(1000, undefined, { signal: timer.signal }).catch(() => {})]);
    timer.abort();
    return left;
  }
}

/**
 * The socket and EAL's runtime dirs, recorded before testpmd makes them: its own dir, and the
 * shared /run/dpdk when we are the ones creating it (removed only when empty).
 */
function recordFiles(ledger: TestpmdLedger, spec: TestpmdSpec): LedgerObject[] {
  const objs: LedgerObject[] = [
    { kind: 'file', path: spec.socket },
    { kind: 'tmpdir', path: path.join(DPDK_RUNTIME_ROOT, spec.filePrefix) },
  ];
  if (!fs.existsSync(DPDK_RUNTIME_ROOT)) objs.push({ kind: 'tmpdir', path: DPDK_RUNTIME_ROOT, onlyIfEmpty: true });
  for (const o of [...objs].reverse()) ledger.add(o);
  return objs;
}

function isSocket(p: string): boolean {
  try {
    return fs.statSync(p).isSocket();
  } catch {
    return false;
  }
}

function readFrom(file: string, offset: number): string {
  try {
    return fs.readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

export function logTail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
