// Boot the probe boot sector in QEMU and wait for its marker on the serial port (QEMU's stdout).
// The QEMU process is recorded in the ledger as soon as it exists and is killed (its whole process
// group) when the marker arrives, when the deadline passes, or on teardown.
import { spawn } from 'node:child_process';
import { processStartTime, type Ledger, type LedgerObject } from '../core/ledger.ts';
import { BOOT_MARKER } from './bootsector.ts';
import { isTearingDown } from '../core/lifecycle.ts';
import type { BootAttempt } from './parsers/boot.ts';

export { describeAttempt, stderrGist, type BootAttempt } from './parsers/boot.ts';

export interface BootOptions {
  qemu: string;
  accel: 'kvm' | 'tcg';
  image: string;
  deadlineMs: number;
  /** Extra QEMU arguments, e.g. ['-cpu', 'host']. */
  extra?: string[];
  ledger?: Ledger;
}

export function bootArgs(o: BootOptions): string[] {
  return [
    '-accel', o.accel, '-machine', 'pc', '-m', '16', '-nodefaults', '-no-user-config', '-display', 'none',
    '-monitor', 'none', '-serial', 'stdio', '-no-reboot',
    '-drive', `file=${o.image},format=raw,if=floppy,readonly=on`, '-boot', 'a',
    ...(o.extra ?? []),
  ];
}

export function bootProbe(o: BootOptions): Promise<BootAttempt> {
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  if (isTearingDown()) return Promise.resolve({ kind: 'spawn-failed', ms: 0, error: 'not started: tearing down' });
  return new Promise((resolve) => {
    // Its own process group when a ledger can kill it; otherwise it shares ours so a terminal
    // Ctrl-C reaches it too.
    const child = spawn(o.qemu, bootArgs(o), { stdio: ['ignore', 'pipe', 'pipe'], detached: Boolean(o.ledger) });
    let recorded: LedgerObject | undefined;
    if (child.pid && o.ledger) {
      const startTime = processStartTime(child.pid);
      if (startTime) {
        recorded = { kind: 'process', pid: child.pid, startTime, comm: 'qemu-system-x86' };
        try {
          o.ledger.add(recorded);
        } catch {
          // Teardown began between the check above and now: this QEMU is ours alone to stop.
          recorded = undefined;
          child.kill('SIGKILL');
        }
      }
    }
    let serial = '';
    let stderr = '';
    let verdict: BootAttempt | undefined;
    const finish = (v: BootAttempt) => {
      if (verdict) return;
      verdict = v;
      clearTimeout(timer);
      try {
        if (o.ledger) process.kill(-child.pid!, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => finish({ kind: 'timeout', ms: elapsed(), stderr }), o.deadlineMs);
    child.stdout.on('data', (d: Buffer) => {
      serial += d.toString('latin1');
      if (serial.includes(BOOT_MARKER)) finish({ kind: 'marker', ms: elapsed(), stderr });
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      verdict ??= { kind: 'spawn-failed', ms: elapsed(), error: e.message };
      resolve(verdict);
    });
    child.on('close', (code, signal) => {
      finish({ kind: 'exited', ms: elapsed(), code, signal, stderr });
      if (recorded) o.ledger!.removed(recorded);
      resolve({ ...verdict!, stderr } as BootAttempt);
    });
  });
}
