// Starting the aio-tap device as its own process for `vnetbench run`: `node --import tsx
// harness/cli/main.ts backend aio-tap ...` (node itself, not the tsx wrapper, so the recorded pid
// is the process whose threads do the work), in the guest-side namespace, as a process-group
// leader recorded in the ledger right after spawn. Ready when its socket exists and it logged
// "listening"; stopped with SIGTERM (it removes its socket and prints its counters).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TimeoutError } from '../core/errors.ts';
import { processAlive, processStartTime, type Recorder } from '../core/ledger.ts';
import { PROJECT_ROOT } from '../core/paths.ts';
import { aioArgv, type AioOptions } from './options.ts';

export interface AioLaunch {
  socket: string;
  device: AioOptions['device'];
  engine: AioOptions['engine'];
  batch: number;
  queues: number;
  logFile: string;
  /** Print counters every N seconds into the log (0: only at exit). */
  statsInterval?: number;
  /** Log every vhost-user request. */
  verbose?: boolean;
}

export interface AioProcess {
  pid: number;
  argv: string[];
  alive(): boolean;
  /** How it ended ("exit 1", "signal SIGSEGV"), once it has. */
  exitInfo(): string | undefined;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(file: string, lines = 8): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n  ');
  } catch {
    return '(no log)';
  }
}

/**
 * The command line (pure; unit tests pin it). VNETBENCH_AIO_NODE_ARGS adds node options for
 * profiling the device (`--cpu-prof --cpu-prof-dir=DIR`, as `npm run bench:aio -- --cpu-prof` does).
 */
export function aioCommand(o: AioLaunch, nodeArgs = process.env.VNETBENCH_AIO_NODE_ARGS): string[] {
  const extra = nodeArgs ? nodeArgs.split(' ').filter(Boolean) : [];
  return [process.execPath, ...extra, '--import', 'tsx', path.join(PROJECT_ROOT, 'harness', 'cli', 'main.ts'), ...aioArgv(o)];
}

/** `inNs` wraps the command to run in the tap's namespace (HostTopology.inGuestNs, `ip netns exec`). */
export async function startAioProcess(rec: Recorder, inNs: (argv: string[]) => string[], o: AioLaunch, timeoutMs = 30_000): Promise<AioProcess> {
  const argv = inNs(aioCommand(o));
  const log = fs.openSync(o.logFile, 'a');
  let child;
  try {
    child = spawn(argv[0]!, argv.slice(1), { detached: true, cwd: PROJECT_ROOT, stdio: ['ignore', log, log] });
  } finally {
    fs.closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) {
    const err = await new Promise<Error>((r) => child.once('error', r));
    throw new Error(`cannot start the aio-tap backend: ${err.message}`);
  }
  // `ip netns exec` execs the command: same pid and start time.
  const startTime = processStartTime(pid) ?? '';
  rec.add({ kind: 'process', pid, startTime, comm: path.basename(process.execPath) });
  child.unref();
  let exited: string | undefined;
  child.once('exit', (code, sig) => (exited = sig ? `signal ${sig}` : `exit ${code}`));
  const t0 = Date.now();
  for (;;) {
    if (exited) throw new Error(`the aio-tap backend stopped (${exited}) before it listened:\n  ${tail(o.logFile)}`);
    if (fs.existsSync(o.socket) && /listening on/.test(tail(o.logFile, 50))) break;
    if (Date.now() - t0 > timeoutMs) throw new TimeoutError(`the aio-tap backend to listen on ${o.socket}`, timeoutMs, tail(o.logFile));
    await sleep(50);
  }
  return {
    pid,
    argv,
    alive: () => processAlive(pid, startTime),
    exitInfo: () => exited,
    async stop() {
      if (!processAlive(pid, startTime)) return;
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        return;
      }
      for (let t = 0; t < 5000 && processAlive(pid, startTime); t += 50) await sleep(50);
      // Still running: the ledger record kills the group when the scope is released.
    },
  };
}
