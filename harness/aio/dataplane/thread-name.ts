// Names the calling thread (pthread_setname_np, 15 characters), so per-thread CPU in
// /proc/<pid>/task/*/comm shows which queue pair burned it.
import koffi from 'koffi';

let setName: ((t: number | bigint, name: string) => number) | undefined;
let self: (() => number | bigint) | undefined;

export function nameThisThread(name: string): void {
  try {
    const lib = koffi.load('libc.so.6');
    self ??= lib.func('unsigned long pthread_self(void)') as () => number | bigint;
    setName ??= lib.func('int pthread_setname_np(unsigned long thread, const char *name)') as (t: number | bigint, n: string) => number;
    setName(self(), name.slice(0, 15));
  } catch {
    // A name is a convenience for profiling, never a reason to fail.
  }
}
