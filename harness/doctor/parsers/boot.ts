// What a probe boot (harness/doctor/boot.ts) observed, and how it reads as evidence. Pure: the
// verdicts are tested on recorded observations (fixtures/doctor/captured/kvm-*.json).
export type BootAttempt =
  | { kind: 'marker'; ms: number; stderr: string }
  | { kind: 'exited'; ms: number; code: number | null; signal: string | null; stderr: string }
  | { kind: 'timeout'; ms: number; stderr: string }
  | { kind: 'spawn-failed'; ms: number; error: string };

/** The last meaningful stderr line (QEMU's error), for evidence. */
export function stderrGist(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^qemu: module .* not found/.test(l) && !/terminating on signal/.test(l));
  const error = lines.find((l) => /error|failed|abort|assert/i.test(l));
  return (error ?? lines.at(-1) ?? '').replace(/^qemu-system-x86_64: /, '');
}

export function describeAttempt(a: BootAttempt): string {
  switch (a.kind) {
    case 'marker':
      return `marker on serial after ${a.ms} ms`;
    case 'timeout':
      return `no marker on serial within ${(a.ms / 1000).toFixed(1)} s${stderrGist(a.stderr) ? ` (stderr: ${stderrGist(a.stderr)})` : ''}`;
    case 'exited':
      return `QEMU exited (${a.signal ? `signal ${a.signal}` : `code ${a.code}`}) after ${a.ms} ms before the marker${stderrGist(a.stderr) ? `: ${stderrGist(a.stderr)}` : ''}`;
    case 'spawn-failed':
      return `could not start QEMU: ${a.error}`;
  }
}
