// Find objects with our name prefix that no ledger records (for instance after someone deleted
// /run/vnetbench) and remove them. Only names matching OUR_NETNS / OUR_LINK are touched.
import { exec } from './exec.ts';
import { OUR_LINK, OUR_NETNS } from './names.ts';

export async function sweepOrphans(dryRun: boolean, log: (m: string) => void): Promise<number> {
  let n = 0;
  const ns = await exec(['ip', '-j', 'netns', 'list'], { nothrow: true });
  const namespaces = ns.code === 0 && ns.stdout.trim() ? (JSON.parse(ns.stdout) as { name: string }[]) : [];
  for (const { name } of namespaces.filter((x) => OUR_NETNS.test(x.name))) {
    log(`${dryRun ? 'would remove' : 'removing'} orphan namespace ${name}`);
    if (!dryRun) await exec(['ip', 'netns', 'del', name], { nothrow: true });
    n++;
  }
  const links = await exec(['ip', '-j', 'link', 'show'], { nothrow: true });
  const all = links.code === 0 && links.stdout.trim() ? (JSON.parse(links.stdout) as { ifname: string }[]) : [];
  for (const { ifname } of all.filter((l) => OUR_LINK.test(l.ifname))) {
    log(`${dryRun ? 'would remove' : 'removing'} orphan link ${ifname}`);
    if (!dryRun) await exec(['ip', 'link', 'del', ifname], { nothrow: true });
    n++;
  }
  return n;
}
