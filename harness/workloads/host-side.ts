// A side that runs on this host, usually inside a namespace: `wrap` turns argv into the namespaced
// command (topology.inPeerNs, or ['ip','netns','exec',ns,...]). `ip netns exec` execs the tool in
// place, so the pid we spawn is the tool's own pid: what the sampler and the ledger need.
// Every process is recorded in the ledger right after spawn (its pid does not exist earlier) and
// marked removed once it has exited.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { TimeoutError } from '../core/errors.ts';
import { processStartTime, type Ledger, type LedgerObject } from '../core/ledger.ts';
import { exec } from '../core/exec.ts';
import type { Outcome, RunningServer, SideRunner, StartedCommand } from './sides.ts';
import type { Side } from './types.ts';

const MAX_OUTPUT = 4 * 1024 * 1024;
const STOP_WAIT_MS = 3000;

function collect(stream: NodeJS.ReadableStream | null, into: { text: string }): void {
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    if (into.text.length < MAX_OUTPUT) into.text += chunk;
  });
}

function launch(argv: string[], tool: string, ledger: Ledger): { child: ChildProcess; obj: LedgerObject; exited: Promise<Outcome>; out: { text: string }; err: { text: string } } {
  // detached: its own process group, so teardown (kill -pgid) reaches anything it starts.
  const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${argv[0]}`);
  const obj: LedgerObject = {
    kind: 'process',
    pid: child.pid,
    startTime: processStartTime(child.pid) ?? '',
    comm: path.basename(tool).slice(0, 15),
  };
  try {
    ledger.add(obj);
  } catch (e) {
    // Teardown has begun: nothing may outlive it, so this process goes at once.
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    throw e;
  }
  const out = { text: '' };
  const err = { text: '' };
  collect(child.stdout, out);
  collect(child.stderr, err);
  const exited = new Promise<Outcome>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      try {
        ledger.removed(obj);
      } catch {
        // The ledger was torn down (and closed) first: teardown already recorded the removal.
      }
      resolve({ code, signal, stdout: out.text, stderr: err.text });
    });
  });
  return { child, obj, exited, out, err };
}

async function stopGroup(pid: number, exited: Promise<unknown>): Promise<void> {
  let done = false;
  void exited.then(() => (done = true), () => (done = true));
  for (const [sig, ms] of [['SIGTERM', STOP_WAIT_MS], ['SIGKILL', STOP_WAIT_MS]] as const) {
    try {
      process.kill(-pid, sig);
    } catch {
      /* group gone */
    }
    for (let t = 0; t < ms && !done; t += 20) await new Promise((r) => setTimeout(r, 20));
    if (done) return;
  }
  throw new Error(`process ${pid} did not exit after SIGKILL`);
}

export function hostSide(side: Side, wrap: (argv: string[]) => string[], ledger: Ledger): SideRunner {
  return {
    side,
    async start(argv, { timeoutMs }): Promise<StartedCommand> {
      const full = wrap(argv);
      const p = launch(full, argv[0], ledger);
      const pid = p.child.pid!;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          void stopGroup(pid, p.exited).catch(() => {});
          reject(new TimeoutError(`${argv[0]} on the ${side} side`, timeoutMs, `${p.out.text}${p.err.text}`.slice(-400)));
        }, timeoutMs);
      });
      const done = Promise.race([p.exited, timeout]).finally(() => clearTimeout(timer));
      return { hostPid: pid, done };
    },
    async spawnServer(argv): Promise<RunningServer> {
      const p = launch(wrap(argv), argv[0], ledger);
      const pid = p.child.pid!;
      return {
        hostPid: pid,
        output: () => `${p.out.text}${p.err.text}`,
        stop: () => stopGroup(pid, p.exited),
      };
    },
    async readFile(file) {
      return (await exec(wrap(['cat', file]))).stdout;
    },
  };
}

/** `ip netns exec NS argv...` */
export function inNetns(ns: string): (argv: string[]) => string[] {
  return (argv) => ['ip', 'netns', 'exec', ns, ...argv];
}
