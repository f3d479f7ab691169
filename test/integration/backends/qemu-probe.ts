// A real QEMU 7.2 started with a backend's -netdev/-device arguments and fds, stopped before
// the guest runs (-S): QEMU parses the options, opens the tap / connects to the vhost-user
// socket, creates the device, and answers QMP. Tests use it to prove the arguments work; the
// guest layer (harness/guest) boots real guests.
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import type { Ledger } from '../../../harness/core/ledger.ts';
import { processStartTime } from '../../../harness/core/ledger.ts';
import type { QemuNet } from '../../../harness/backends/types.ts';
import type { HostTopology } from '../../../harness/topology/types.ts';

export interface QemuProbe {
  pid: number;
  child: ChildProcess;
  /** One QMP command; resolves with its "return" (throws on "error"). */
  qmp(cmd: string, args?: object): Promise<unknown>;
  hmp(line: string): Promise<string>;
  quit(): Promise<void>;
}

export function qemuArgv(id: string, net: QemuNet): string[] {
  const childFds = net.passFds.map((_, i) => 3 + i);
  const mem = net.sharedMemory
    ? ['-object', 'memory-backend-memfd,id=mem0,size=64M,share=on', '-machine', 'memory-backend=mem0']
    : [];
  return [
    'qemu-system-x86_64', '-name', `vnb-${id}-guest,debug-threads=on`, '-nodefaults', '-display', 'none',
    '-S', '-accel', 'tcg', '-m', '64', ...mem, ...net.args(childFds), '-qmp', 'stdio',
  ];
}

export async function startQemu(topo: HostTopology, net: QemuNet, ledger?: Ledger): Promise<QemuProbe> {
  const argv = topo.inGuestNs(qemuArgv(topo.id, net));
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe', ...net.passFds], detached: true });
  const pid = child.pid!;
  ledger?.add({ kind: 'process', pid, startTime: processStartTime(pid) ?? '', comm: 'qemu-system-x86' });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const lines = readline.createInterface({ input: child.stdout! });
  const waiting: ((m: Record<string, unknown>) => void)[] = [];
  let exited = false;
  const onExit = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  lines.on('line', (l) => {
    const m = JSON.parse(l) as Record<string, unknown>;
    if ('event' in m) return;
    waiting.shift()?.(m);
  });
  const next = () =>
    Promise.race([
      new Promise<Record<string, unknown>>((r) => waiting.push(r)),
      onExit.then(() => {
        throw new Error(`QEMU exited: ${stderr.trim()}`);
      }),
    ]);
  const greeting = await next();
  if (!('QMP' in greeting)) throw new Error(`no QMP greeting: ${JSON.stringify(greeting)}`);
  const qmp = async (execute: string, args?: object) => {
    const reply = next();
    child.stdin!.write(JSON.stringify({ execute, ...(args ? { arguments: args } : {}) }) + '\n');
    const m = await reply;
    if ('error' in m) throw new Error(`QMP ${execute}: ${JSON.stringify(m.error)}`);
    return m.return;
  };
  await qmp('qmp_capabilities');
  return {
    pid,
    child,
    qmp,
    hmp: async (line) => String(await qmp('human-monitor-command', { 'command-line': line })),
    async quit() {
      if (exited) return;
      await qmp('quit').catch(() => {});
      await onExit;
    },
  };
}
