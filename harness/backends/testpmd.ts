// DPDK testpmd as the vhost-user switch: port 0 is net_vhost0 (the vhost-user server socket
// QEMU connects to), port 1 is net_af_packet0 on the wire, and io forwarding moves packets
// between them. Runs in the guest-side namespace without hugepages (--no-huge), as measured in
// platform.md. Its stdin is a pipe we hold: testpmd (no --stats-period) exits at EOF, so it
// also goes away on its own if the harness dies; close() asks it to quit with a newline.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { LedgerScope } from '../core/ledger.ts';
import { processAlive, processStartTime } from '../core/ledger.ts';
import { TimeoutError } from '../core/errors.ts';
import type { HostTopology } from '../topology/types.ts';

export const DPDK_RUNTIME_ROOT = '/run/dpdk';

export interface TestpmdOptions {
  socket: string;
  queues: number;
  logFile: string;
  /** --file-prefix: also the run marker orphans.ts recognises (vnb-<id>-testpmd). */
  filePrefix: string;
  /** EAL lcores: the first is the main lcore, the rest forward. */
  lcores?: string;
  memMiB?: number;
  mbufs?: number;
}

export function testpmdPrefix(id: string): string {
  return `vnb-${id}-testpmd`;
}

/** testpmd's argv (pure; unit tests pin it). */
export function testpmdArgv(wire: string, o: TestpmdOptions): string[] {
  const q = o.queues;
  return [
    'dpdk-testpmd',
    '--no-huge',
    '-m', String(o.memMiB ?? 1024),
    '--no-pci',
    '--file-prefix', o.filePrefix,
    '-l', o.lcores ?? '0,1',
    '--vdev', `net_vhost0,iface=${o.socket},queues=${q}`,
    '--vdev', `net_af_packet0,iface=${wire},qpairs=${q}`,
    '--',
    '--forward-mode=io',
    '--auto-start',
    `--rxq=${q}`,
    `--txq=${q}`,
    `--total-num-mbufs=${o.mbufs ?? 32768}`,
  ];
}

export interface Testpmd {
  pid: number;
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

async function waitReady(child: ChildProcess, o: TestpmdOptions, timeoutMs: number): Promise<void> {
  const started = Date.now();
  let exited: string | undefined;
  child.once('exit', (code, sig) => (exited = sig ? `signal ${sig}` : `exit ${code}`));
  while (Date.now() - started < timeoutMs) {
    if (exited) throw new Error(`dpdk-testpmd stopped (${exited}) before it was ready:\n  ${tail(o.logFile)}`);
    // The socket exists once net_vhost0 listens; ports are configured right after.
    const log = fs.existsSync(o.logFile) ? fs.readFileSync(o.logFile, 'utf8') : '';
    if (fs.existsSync(o.socket) && /Checking link statuses|Press enter to exit/.test(log)) return;
    await sleep(50);
  }
  throw new TimeoutError('dpdk-testpmd to listen on its vhost-user socket', timeoutMs, tail(o.logFile));
}

export async function startTestpmd(scope: LedgerScope, topo: HostTopology, o: TestpmdOptions): Promise<Testpmd> {
  const runtimeDir = path.join(DPDK_RUNTIME_ROOT, o.filePrefix);
  // Recorded before they exist: the socket, DPDK's runtime dir (and its parent when we make it).
  if (!fs.existsSync(DPDK_RUNTIME_ROOT)) scope.add({ kind: 'tmpdir', path: DPDK_RUNTIME_ROOT, onlyIfEmpty: true });
  scope.add({ kind: 'tmpdir', path: runtimeDir });
  scope.add({ kind: 'file', path: o.socket });
  const argv = topo.inGuestNs(testpmdArgv(topo.wire, o));
  const log = fs.openSync(o.logFile, 'a');
  let child: ChildProcess;
  try {
    // detached: its own process group, so teardown can signal the group.
    child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['pipe', log, log] });
  } finally {
    fs.closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) {
    const err = await new Promise<Error>((r) => child.once('error', r));
    throw new Error(`cannot start dpdk-testpmd: ${err.message}`);
  }
  child.stdin!.on('error', () => {}); // EPIPE after it exited is not our problem
  // `ip netns exec` execs testpmd: same pid and start time, so this record stays right.
  const startTime = processStartTime(pid) ?? '';
  scope.add({ kind: 'process', pid, startTime, comm: 'dpdk-testpmd' });
  // Neither the child nor our end of its stdin keeps the harness alive.
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  await waitReady(child, o, 30_000);
  return {
    pid,
    async stop() {
      if (!processAlive(pid, startTime)) return;
      child.stdin!.end('\n'); // "Press enter to exit": a clean shutdown closes the ports
      for (let t = 0; t < 5000 && processAlive(pid, startTime); t += 50) await sleep(50);
      // Still running: the ledger record kills the group when the scope is released.
    },
  };
}
