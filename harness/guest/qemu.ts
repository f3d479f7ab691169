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
import { AgentClient, type ReadyInfo } from './agent.ts';
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

export async function launchGuest(spec: GuestSpec, ledger: Ledger, opts: LaunchOptions = {}): Promise<RunningGuest> {
  validate(spec);
  const log = opts.log ?? (() => {});
  const bootTimeoutMs = opts.bootTimeoutMs ?? 120_000;
  fs.mkdirSync(spec.workDir, { recursive: true });

  // Sockets live in a short private dir: a unix socket path must fit in 108 bytes.
  const sockDir: LedgerObject = { kind: 'tmpdir', path: path.join(os.tmpdir(), `vnb-${shortId()}-${spec.name}`.slice(0, 60)) };
  ledger.add(sockDir);
  fs.mkdirSync(sockDir.path, { mode: 0o700 });
  const paths: QemuPaths = {
    qmpSock: path.join(sockDir.path, 'qmp.sock'),
    agentSock: path.join(sockDir.path, 'agent.sock'),
    consoleLog: path.join(spec.workDir, `${spec.name}.console.log`),
  };
  const qemuLog = path.join(spec.workDir, `${spec.name}.qemu.log`);
  const sockets: LedgerObject[] = [paths.qmpSock, paths.agentSock].map((p) => ({ kind: 'file', path: p }));
  for (const s of sockets) ledger.add(s);
  const qmpServer = acceptOne(paths.qmpSock);
  const agentServer = acceptOne(paths.agentSock);
  let serversClosed = false;
  const closeServers = (): void => {
    if (serversClosed) return;
    serversClosed = true;
    qmpServer.server.close();
    agentServer.server.close();
    for (const s of sockets) {
      if (s.kind === 'file') fs.rmSync(s.path, { force: true });
      ledger.removed(s);
    }
  };

  const commandLine = wrapNetns(spec.netns, [spec.qemuBinary, ...buildQemuArgs(spec, paths, opts.tuning ?? DEFAULT_TUNING)]);
  fs.writeFileSync(paths.consoleLog, '');
  const logFd = fs.openSync(qemuLog, 'w');
  const started = process.hrtime.bigint();
  let child: ChildProcess;
  try {
    child = spawn(commandLine[0], commandLine.slice(1), {
      detached: true, // its own process group: teardown signals the group
      stdio: ['ignore', logFd, logFd, ...spec.passFds],
    });
  } finally {
    fs.closeSync(logFd);
  }
  const pid = child.pid;
  if (pid === undefined) {
    closeServers();
    fs.rmSync(sockDir.path, { recursive: true, force: true });
    ledger.removed(sockDir);
    throw new Error(`could not start ${commandLine[0]}: ${tail(qemuLog, 5) || 'spawn failed'}`);
  }
  const startTime = processStartTime(pid);
  const procObj: LedgerObject | undefined = startTime ? { kind: 'process', pid, startTime, comm: path.basename(spec.qemuBinary) } : undefined;
  if (procObj) ledger.add(procObj);
  child.unref();
  log(`qemu pid ${pid}: ${commandLine.join(' ')}`);

  const diagnostics = (lines = 15): string => {
    const c = tail(paths.consoleLog, lines);
    const q = tail(qemuLog, 5);
    return [q && `QEMU log (${qemuLog}):\n${q}`, c && `console (${paths.consoleLog}), last lines:\n${c}`].filter(Boolean).join('\n') || '(console empty)';
  };
  let exitReason: string | undefined;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      exitReason = signal ? `killed by ${signal}` : `exited with code ${code}`;
      resolve(exitReason);
    });
  });
  const explain = (reason: string, when = ''): string => `QEMU (pid ${pid}) ${reason}${when}\n${diagnostics()}`;
  const death = exited.then((why) => {
    throw new Error(explain(why, ' during boot'));
  });
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
    if (!(await waitExit(child, 0))) {
      for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
        try {
          process.kill(-pid, sig);
        } catch {
          /* gone */
        }
        if (await waitExit(child, 3000)) break;
      }
    }
    agent?.close();
    qmp?.close();
    if (procObj && (await waitExit(child, 0))) ledger.removed(procObj);
    closeServers();
    fs.rmSync(sockDir.path, { recursive: true, force: true });
    ledger.removed(sockDir);
  };

  try {
    const connectMs = Math.min(bootTimeoutMs, 30_000);
    const [qmpSock, agentSock] = await Promise.race([
      withTimeout(Promise.all([qmpServer.conn, agentServer.conn]), connectMs, 'QEMU to connect its QMP and agent sockets', diagnostics),
      death,
    ]);
    closeServers(); // connected: the paths are no longer needed
    qmp = new QmpClient(qmpSock);
    agent = new AgentClient(agentSock, { context: () => diagnostics(), explainClose: async () => {
        const r = await exitReasonSoon();
        return r && explain(r);
      },
    });
    const a = agent;
    exited.then((why) => a.fail(new Error(explain(why))));
    const { version } = await Promise.race([qmp.handshake(10_000), death]);
    const ready = await Promise.race([agent.waitReady(bootTimeoutMs), death]);
    const bootToReadyS = Number(process.hrtime.bigint() - started) / 1e9;
    log(`guest ${spec.name} ready in ${bootToReadyS.toFixed(2)} s (guest uptime ${ready.uptimeS.toFixed(2)} s), ${ready.nic} ${ready.cidr}`);
    const q = qmp;
    const shutdown = async (): Promise<void> => {
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
      agent,
      qmp,
      qemuVersion: version,
      bootToReadyS,
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
