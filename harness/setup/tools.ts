// Where the programs vnetbench runs live. netperf/netserver come from the project cache (Debian
// non-free, unpacked by `vnetbench setup`, never installed system-wide); everything else from PATH
// plus the sbin directories a non-root PATH may lack (ethtool is in /usr/sbin).
import fs from 'node:fs';
import path from 'node:path';
import { CapabilityError } from '../core/errors.ts';
import { debsDir } from './debfetch.ts';

/** Tools unpacked into <cache>/debs/root/<pkg>_<version>_<arch>/ by setup, with their path inside. */
export const CACHED_TOOLS: Readonly<Record<string, { pkg: string; rel: string }>> = {
  netperf: { pkg: 'netperf', rel: 'usr/bin/netperf' },
  netserver: { pkg: 'netperf', rel: 'usr/bin/netserver' },
};

/** Which Debian package (and setup option) provides a tool, for hints. */
const PROVIDERS: Readonly<Record<string, string>> = {
  netperf: '`vnetbench setup` (fetches netperf from Debian non-free into the project cache)',
  netserver: '`vnetbench setup` (fetches netperf from Debian non-free into the project cache)',
  'qemu-system-x86_64': '`vnetbench setup` or apt-get install qemu-system-x86',
  'dpdk-testpmd': '`vnetbench setup --with dpdk` or apt-get install dpdk-dev',
  chromium: '`vnetbench setup --with chromium` or apt-get install chromium',
  ip: 'apt-get install iproute2',
  busybox: '`vnetbench setup` or apt-get install busybox-static',
};

const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const UNPACKED_MARK = '.vnetbench-unpacked';

function executable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The unpacked root of a cached package, newest version first; undefined when not fetched. */
export function cachedPackageRoot(pkg: string): string | undefined {
  const dir = path.join(debsDir(), 'root');
  if (!fs.existsSync(dir)) return undefined;
  const roots = fs
    .readdirSync(dir)
    .filter((d) => d.startsWith(`${pkg}_`) && fs.existsSync(path.join(dir, d, UNPACKED_MARK)))
    .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  return roots.length ? path.join(dir, roots[0]) : undefined;
}

function searchPath(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SYSTEM_DIRS];
  for (const d of new Set(dirs)) {
    const p = path.join(d, name);
    if (executable(p)) return p;
  }
  return undefined;
}

/** Absolute path of a tool, or undefined when it is not there. */
export function findTool(name: string): string | undefined {
  const cached = CACHED_TOOLS[name];
  if (cached) {
    const root = cachedPackageRoot(cached.pkg);
    const p = root && path.join(root, cached.rel);
    return p && executable(p) ? p : undefined;
  }
  return searchPath(name);
}

/** Absolute path of a tool; a CapabilityError saying how to get it when it is missing. */
export function toolPath(name: string): string {
  const p = findTool(name);
  if (p) return p;
  const where = CACHED_TOOLS[name]
    ? `not in the project cache (${path.join(debsDir(), 'root')})`
    : 'not found on PATH or in the sbin directories';
  throw new CapabilityError(`${name} is ${where}`, `install it with ${PROVIDERS[name] ?? `apt-get install ${name}`}`);
}

/** Where a missing tool comes from (for doctor's and setup's hints). */
export function providerHint(name: string): string {
  return PROVIDERS[name] ?? `apt-get install ${name}`;
}
