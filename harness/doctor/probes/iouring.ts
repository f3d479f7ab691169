// io_uring: the raw io_uring_setup(2) syscall must return a ring (kernel support and the
// kernel.io_uring_disabled sysctl both allow it); liburing.so.2 is reported beside it.
import fs from 'node:fs';
import koffi from 'koffi';
import { ioUringSetup } from '../sys.ts';
import type { Evidence } from '../capabilities.ts';

function sysctl(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function liburing(): string {
  try {
    koffi.load('liburing.so.2');
    return 'liburing.so.2 loads';
  } catch {
    return 'liburing.so.2 not loadable (apt-get install liburing2)';
  }
}

export function probeIoUring(): Evidence {
  const disabled = sysctl('/proc/sys/kernel/io_uring_disabled');
  const knob = disabled === undefined ? '' : `, kernel.io_uring_disabled=${disabled}`;
  const r = ioUringSetup(8);
  if (!r.ok) return { ok: false, evidence: `io_uring_setup(8) failed: ${r.errno} (${r.text})${knob}; ${liburing()}` };
  return {
    ok: true,
    evidence: `io_uring_setup(8) gave a ring with ${r.value.sqEntries} SQ entries, features 0x${r.value.features.toString(16)}${knob}; ${liburing()}`,
  };
}
