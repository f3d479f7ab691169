// Guest memory for the benchmark: a memfd mapping (what vhost-user shares with a backend) when the
// sys layer can make one, else a SharedArrayBuffer. Either way a Worker can see the same bytes.

import { DEFAULT_GPA_BASE, GuestMemory, sharedMemory } from '../memory.ts';
import type { WorkerMemory } from './shared.ts';

export type MemoryKind = 'sab' | 'memfd';

export interface BenchMemory {
  kind: MemoryKind;
  mem: GuestMemory;
  forWorker: WorkerMemory;
  close(): void;
}

export async function benchMemory(kind: MemoryKind, size: number): Promise<BenchMemory> {
  if (kind === 'sab') {
    const mem = sharedMemory(size);
    return { kind, mem, forWorker: { kind: 'sab', sab: mem.regions[0].bytes.buffer as SharedArrayBuffer }, close() {} };
  }
  const { createMemfd } = await import('../../sys/memfd.ts');
  const m = createMemfd('vnb-bench-ring', size);
  const mem = new GuestMemory([{ gpa: DEFAULT_GPA_BASE, size, uva: m.addr, mmapOffset: 0, fd: m.fd, bytes: m.bytes }]);
  return { kind, mem, forWorker: { kind: 'memfd', fd: m.fd, size }, close: () => m.close() };
}

/** Whether memfd memory works here; the reason when it does not. */
export async function memfdProbe(): Promise<string | null> {
  try {
    (await benchMemory('memfd', 4096)).close();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
