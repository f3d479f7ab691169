// Which Debian packages are installed, through the real dpkg-query. A package counts as installed
// only in state "ii" (wanted install, status installed); "rc" (removed, config left) and half
// installed states count as missing.
import type { CommandRunner } from './runner.ts';

export interface PackageState {
  name: string;
  installed: boolean;
  /** The installed version, or the dpkg status flags / "not known to dpkg" for a missing one. */
  detail: string;
}

const FORMAT = '${Package}\\t${Version}\\t${db:Status-Abbrev}\\n';

/** Parse `dpkg-query -W -f=<FORMAT>` output (one line per package dpkg knows). */
export function parseDpkgQuery(stdout: string): Map<string, { version: string; status: string }> {
  const out = new Map<string, { version: string; status: string }>();
  for (const line of stdout.split('\n')) {
    const [name, version, status] = line.split('\t');
    if (name && status !== undefined) out.set(name, { version, status: status.trim() });
  }
  return out;
}

export async function packageStates(names: readonly string[], run: CommandRunner): Promise<PackageState[]> {
  if (names.length === 0) return [];
  // Exit 1 when some name is unknown; the known ones are still printed.
  const r = await run(['dpkg-query', '-W', `-f=${FORMAT}`, ...names], { nothrow: true });
  // exec runs the program through `exec` in a shell: 127 means the program is not there.
  if (r.code === 127) return names.map((name) => ({ name, installed: false, detail: 'unknown: dpkg-query not found (not a Debian system?)' }));
  const known = parseDpkgQuery(r.stdout);
  return names.map((name) => {
    const k = known.get(name);
    if (!k) return { name, installed: false, detail: 'not installed (unknown to dpkg)' };
    if (k.status === 'ii') return { name, installed: true, detail: k.version };
    return { name, installed: false, detail: `not installed (dpkg status "${k.status}")` };
  });
}
