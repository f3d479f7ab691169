// Linux native AIO: io_setup(2) must create a context (io_destroy(2) frees it at once). The
// system-wide limit fs.aio-max-nr and current use fs.aio-nr are reported with it.
import fs from 'node:fs';
import { ioSetupAndDestroy } from '../sys.ts';
import type { Evidence } from '../capabilities.ts';

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '?';
  }
}

export function probeLinuxAio(): Evidence {
  const limits = `fs.aio-nr ${read('/proc/sys/fs/aio-nr')} of fs.aio-max-nr ${read('/proc/sys/fs/aio-max-nr')}`;
  const r = ioSetupAndDestroy(8);
  if (!r.ok) return { ok: false, evidence: `io_setup(8) failed: ${r.errno} (${r.text}); ${limits}` };
  return { ok: true, evidence: `io_setup(8) created an AIO context, io_destroy freed it; ${limits}` };
}
