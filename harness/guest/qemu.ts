// Launch a guest: QEMU as its own process-group leader, recorded in the ledger right after spawn
// (its sockets and temp dir before they are created), QMP and the agent on unix sockets that QEMU
// connects to, boot-to-ready measured from spawn to the agent's READY. Shutdown is QMP `quit`,
// then SIGTERM and SIGKILL to the group, each bounded.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { TimeoutError, UsageError } from '../core/errors.ts';
import { processStartTime, type Ledger, type LedgerObject } from '../core/ledger.ts';
import { shortId } from '../core/names.ts';
import { AgentClient, AgentError, type ReadyInfo } from './agent.ts';
import { buildQemuArgs, wrapNetns, DEFAULT_TUNING, type BootTuning, type QemuPaths } from './cmdline.ts';
import { QmpClient } from './qmp.ts';
import type { Guest, GuestSpec } from './types.ts';

export interface LaunchOptions {
  /** Spawn to READY; a TCG boot takes a few seconds, a loaded CI machine several times that. */
  bootTimeoutMs?: number;
  tuning?: BootTuning;
  log?: (msg: string) => void;
}

export interface RunningGuest extends Guest {
  agent: AgentClient;
  qmp: QmpClient;
  qemuVersion: string;
  consoleLog: string;
  qemuLog: string;
  ready: ReadyInfo;
  /**
   * CPU seconds QEMU used from spawn to READY (all its threads). Unlike wall time it hardly
   * moves when other work shares the host, so it is the figure to compare boot changes by.
   */
  bootCpuS: number;
  /** Resolves when QEMU has exited (code or signal). */
  exited: Promise<string>;
  /** The last lines of the console and of QEMU's own log, for error messages. */
  diagnostics(lines?: number): string;
}

function tail(file: string, lines: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8').split('\n').filter((l) => l.trim()).slice(-lines).join('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** Run time of every thread of `pid` (schedstat, nanoseconds), in seconds. */
export function processCpuSeconds(pid: number): number {
  let ns = 0;
  let tids: string[] = [];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  for (const tid of tids) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* thread exited meanwhile */
    }
  }
  return ns / 1e9;
}

function validate(spec: GuestSpec): void {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(spec.name)) {
    throw new UsageError(`guest name "${spec.name}" is not usable as a QEMU -name`, 'use 1-64 of A-Z a-z 0-9 _ . -');
  }
  for (const f of [spec.image.kernel, spec.image.initrd]) {
    if (!fs.existsSync(f)) throw new UsageError(`guest image file ${f} does not exist`, 'run: vnetbench image build');
  }
  if (!Number.isInteger(spec.memMiB) || spec.memMiB < 128) throw new UsageError(`guest memory ${spec.memMiB} MiB is below 128 MiB`);
  if (!Number.isInteger(spec.smp) || spec.smp < 1) throw new UsageError(`guest smp ${spec.smp} must be a positive integer`);
}

/** A one-connection unix-socket server; resolves with the socket QEMU opens. */
function acceptOne(sockPath: string): { server: net.Server; conn: Promise<net.Socket> } {
  const server = net.createServer();
  const conn = new Promise<net.Socket>((resolve, reject) => {
    server.once('connection', (s) => {
      server.close();
      resolve(s);
    });
    server.once('error', reject);
  });
  server.listen(sockPath);
  return { server, conn };
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string, detail: () => string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(what, ms, detail())), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The sockets QEMU connects to, in a private dir recorded in the ledger before it exists. */
function controlSockets(ledger: Ledger, name: string, workDir: string) {
  // A unix socket path must fit in 108 bytes, so not under the (possibly deep) work dir.
  const dir: LedgerObject = { kind: 'tmpdir', path: path.join(os.tmpdir(), `vnb-${shortId()}-${name}`.slice(0, 60)) };
  ledger.add(dir);
  fs.mkdirSync(dir.path, { mode: 0o700 });
  const paths: QemuPaths = {
    qmpSock: path.join(dir.path, 'qmp.sock'),
    agentSock: path.join(dir.path, 'agent.sock'),
    consoleLog: path.join(workDir, `${name}.console.log`),
  };
  const files: LedgerObject[] = [paths.qmpSock, paths.agentSock].map((p) => ({ kind: 'file', path: p }));
  for (const f of files) ledger.add(f);
  const qmp = acceptOne(paths.qmpSock);
  const agent = acceptOne(paths.agentSock);
  let closed = false;
  /** Stop listening and unlink the paths (once QEMU is connected they are not needed). */
  const close = (): void => {
    if (closed) return;
    closed = true;
    qmp.server.close();
    agent.server.close();
    for (const f of files) {
      if (f.kind === 'file') fs.rmSync(f.path, { force: true });
      ledger.removed(f);
    }
  };
  const remove = (): void => {
    close();
    fs.rmSync(dir.path, { recursive: true, force: true });
    ledger.removed(dir);
  };
  return { paths, connected: Promise.all([qmp.conn, agent.conn]), close, remove };
}

/** QEMU as its own process-group leader, stdout/stderr to its log, passFds[i] as fd 3 + i. */
function spawnQemu(commandLine: string[], passFds: number[], logFile: string): ChildProcess {
  const logFd = fs.openSync(logFile, 'w');
  try {
    const child = spawn(commandLine[0], commandLine.slice(1), {
      detached: true, // its own process group: teardown signals the group
      stdio: ['ignore', logFd, logFd, ...passFds],
    });
    child.unref();
    return child;
  } finally {
    fs.closeSync(logFd);
  }
}

/** SIGTERM, then SIGKILL, to the process group; each bounded. */
async function stopGroup(child: ChildProcess, pid: number): Promise<void> {
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    if (await waitExit(child, 0)) return;
    try {
      process.kill(-pid, sig);
    } catch {
      /* gone */
    }
    if (await waitExit(child, 3000)) return;
  }
}

export async function launchGuest(spec: GuestSpec, ledger: Ledger, opts: LaunchOptions = {}): Promise<RunningGuest> {
  validate(spec);
  const log = opts.log ?? (() => {});
  const bootTimeoutMs = opts.bootTimeoutMs ?? 120_000;
  fs.mkdirSync(spec.workDir, { recursive: true });
  const sockets = controlSockets(ledger, spec.name, spec.workDir);
  const { paths } = sockets;
  const qemuLog = path.join(spec.workDir, `${spec.name}.qemu.log`);
  const commandLine = wrapNetns(spec.netns, [spec.qemuBinary, ...buildQemuArgs(spec, paths, opts.tuning ?? DEFAULT_TUNING)]);
  fs.writeFileSync(paths.consoleLog, '');

  const started = process.hrtime.bigint();
  const child = spawnQemu(commandLine, spec.passFds, qemuLog);
  const pid = child.pid;
  if (pid === undefined) {
    sockets.remove();
    throw new Error(`could not start ${commandLine[0]}: ${tail(qemuLog, 5) || 'spawn failed'}`);
  }
  // Recorded at once; a QEMU that already died has no start time and nothing to kill.
  const startTime = processStartTime(pid);
  const procObj: LedgerObject | undefined = startTime ? { kind: 'process', pid, startTime, comm: path.basename(spec.qemuBinary) } : undefined;
  if (procObj) ledger.add(procObj);
  log(`qemu pid ${pid}: ${commandLine.join(' ')}`);

  const diagnostics = (lines = 15): string => {
    const c = tail(paths.consoleLog, lines);
    const q = tail(qemuLog, 5);
    return [q && `QEMU log (${qemuLog}):\n${q}`, c && `console (${paths.consoleLog}), last lines:\n${c}`].filter(Boolean).join('\n') || '(console empty)';
  };
  let exitReason: string | undefined;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve((exitReason = signal ? `killed by ${signal}` : `exited with code ${code}`)));
  });
  const explain = (reason: string, when = ''): string => `QEMU (pid ${pid}) ${reason}${when}\n${diagnostics()}`;
  const death = exited.then((why) => Promise.reject(new Error(explain(why, ' during boot'))));
  death.catch(() => undefined);
  /** How QEMU exited, if it does within a moment (its sockets reset before its status arrives). */
  const exitReasonSoon = async (): Promise<string | undefined> =>
    exitReason ?? Promise.race([exited, new Promise<undefined>((r) => setTimeout(r, 2000))]);

  let agent: AgentClient | undefined;
  let qmp: QmpClient | undefined;
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await stopGroup(child, pid);
    agent?.close();
    qmp?.close();
    if (procObj && (await waitExit(child, 0))) ledger.removed(procObj);
    sockets.remove();
  };

  try {
    const connectMs = Math.min(bootTimeoutMs, 30_000);
    const [qmpSock, agentSock] = await Promise.race([
      withTimeout(sockets.connected, connectMs, 'QEMU to connect its QMP and agent sockets', diagnostics),
      death,
    ]);
    sockets.close();
    const q = (qmp = new QmpClient(qmpSock));
    const a = (agent = new AgentClient(agentSock, {
      context: () => diagnostics(),
      explainClose: async () => {
        const r = await exitReasonSoon();
        return r && explain(r);
      },
    }));
    void exited.then((why) => a.fail(new AgentError(explain(why))));
    const { version } = await Promise.race([q.handshake(10_000), death]);
    const ready = await Promise.race([a.waitReady(bootTimeoutMs), death]);
    const bootToReadyS = Number(process.hrtime.bigint() - started) / 1e9;
    const bootCpuS = processCpuSeconds(pid);
    log(`guest ${spec.name} ready in ${bootToReadyS.toFixed(2)} s (guest uptime ${ready.uptimeS.toFixed(2)} s), ${ready.nic} ${ready.cidr}`);
    const shutdown = async (): Promise<void> => {
      a.fail(new AgentError(`guest ${spec.name} was shut down`));
      if (exitReason === undefined) {
        // `quit` may close the connection before its reply arrives; either way wait for the exit.
        await q.execute('quit', undefined, 3000).catch(() => undefined);
        await waitExit(child, 5000);
      }
      await cleanup();
    };
    return {
      pid,
      commandLine,
      agent: a,
      qmp: q,
      qemuVersion: version,
      bootToReadyS,
      bootCpuS,
      nic: ready.nic,
      ready,
      consoleLog: paths.consoleLog,
      qemuLog,
      exited,
      diagnostics,
      shutdown,
    };
  } catch (err) {
    // A dying QEMU resets its sockets before its exit status arrives: prefer the exit reason.
    const reason = await exitReasonSoon();
    await cleanup();
    if (reason && !(err instanceof Error && err.message.includes(`QEMU (pid ${pid})`))) {
      throw new Error(explain(reason, ' during boot'), { cause: err });
    }
    throw err;
  }
}
