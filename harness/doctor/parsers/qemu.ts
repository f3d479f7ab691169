// `qemu-system-x86_64 -netdev help`: a heading, then one backend type per line.
export function parseNetdevHelp(text: string): string[] | undefined {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^Available netdev backend types:/.test(l));
  if (start < 0) return undefined;
  return lines
    .slice(start + 1)
    .map((l) => l.trim())
    .filter((l) => /^[a-z][a-z0-9-]*$/.test(l));
}
