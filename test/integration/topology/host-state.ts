// What a run left on the host, looked at from outside: namespaces, links in this namespace,
// processes whose command line carries the run's marker, and vnb-<id>-* paths (device nodes,
// DPDK runtime dirs, temp dirs), plus tap nodes a test knows about.
import fs from 'node:fs';
import { listLinks, listMarkedProcesses, listNamespaces, listOurPaths } from '../../../harness/core/orphans.ts';

export async function leftovers(id: string, extraPaths: string[] = []): Promise<string[]> {
  const out: string[] = [];
  for (const ns of await listNamespaces()) if (ns.includes(`vnb-${id}-`)) out.push(`netns ${ns}`);
  for (const l of await listLinks()) if (l.startsWith(`vnb${id}`)) out.push(`link ${l}`);
  for (const p of listMarkedProcesses()) if (p.ids.includes(id)) out.push(`process ${p.pid} ${p.comm}`);
  for (const p of listOurPaths()) if (p.includes(`vnb-${id}-`)) out.push(`path ${p}`);
  for (const p of extraPaths) if (fs.existsSync(p)) out.push(`path ${p}`);
  return out;
}

/** Namespace deletion finishes in a kernel worker: give the devices a moment to go. */
export async function settle(id: string, extraPaths: string[] = [], ms = 5000): Promise<string[]> {
  let left = await leftovers(id, extraPaths);
  for (let t = 0; left.length && t < ms; t += 100) {
    await new Promise((r) => setTimeout(r, 100));
    left = await leftovers(id, extraPaths);
  }
  return left;
}

export function tapNodes(): string[] {
  return fs.readdirSync('/dev').filter((n) => /^tap\d+$/.test(n) || /^vnb-/.test(n)).map((n) => `/dev/${n}`);
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** ping via busybox (installed with the guest image tools; iputils-ping is not). */
export function pingArgv(ip: string, count = 3): string[] {
  return ['busybox', 'ping', '-c', String(count), '-A', '-W', '5', ip];
}
